//! Looking for markers everywhere a build leaves something: bytes as they
//! are, and inside what they pack (gzip and zstd streams, tar archives, a
//! tar's files that are themselves compressed), the way an exported
//! cache's layers, a `docker save` archive or a `.crate` hold files.
//!
//! Every marker starts with one prefix, so one pass finds them all; the
//! input streams through (layers of a toolchain are gigabytes unpacked).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// Bytes kept from one read to the next, so that a marker across two reads
/// is found: the prefix and what follows it.
const TAIL: usize = 64;
/// A tar entry up to this size is read whole (to look inside it).
const WHOLE_ENTRY: u64 = 512 << 20;

/// The markers found and where.
pub struct Scanner {
    prefix: Vec<u8>,
    /// marker -> places it was found in (one entry per occurrence).
    pub found: BTreeMap<String, Vec<String>>,
    /// How many places were looked at.
    pub places: usize,
    /// The content digests looked at: a blob with the same digest
    /// elsewhere holds the same bytes.
    digests: std::collections::BTreeSet<String>,
}

impl Scanner {
    /// Looks for the markers that start with `prefix`.
    pub fn new(prefix: &str) -> Scanner {
        Scanner {
            prefix: prefix.as_bytes().to_vec(),
            found: BTreeMap::new(),
            places: 0,
            digests: Default::default(),
        }
    }

    /// Whether a blob of this digest (`sha256:<hex>`) is new to the
    /// scanner; it is not, afterwards.
    pub fn first_time(&mut self, digest: &str) -> bool {
        self.digests.insert(digest.to_string())
    }

    /// How often `marker` was found.
    pub fn count(&self, marker: &str) -> usize {
        self.found.get(marker).map_or(0, Vec::len)
    }

    pub fn bytes(&mut self, place: &str, bytes: &[u8]) {
        self.places += 1;
        self.stream(place, bytes, 0);
    }

    pub fn file(&mut self, place: &str, path: &Path) {
        self.places += 1;
        let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        self.stream(place, std::io::BufReader::new(f), 0);
    }

    /// Every file below `dir`; one named by a digest that was scanned
    /// already (an OCI layout's blobs/sha256/<hex>) is not read again.
    pub fn dir(&mut self, dir: &Path, skip: &dyn Fn(&Path) -> bool) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if skip(&p) {
                continue;
            }
            if p.is_dir() {
                self.dir(&p, skip);
            } else if p.is_file() {
                let algo = p.parent().and_then(Path::file_name);
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                if algo.is_some_and(|a| a == "sha256")
                    && !self.first_time(&format!("sha256:{name}"))
                {
                    continue;
                }
                self.file(&p.display().to_string(), &p);
            }
        }
    }

    /// What a command prints on stdout (`docker save`, `curl`).
    pub fn command(&mut self, place: &str, cmd: &mut Command) {
        self.places += 1;
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{place}: {e}"));
        let out = child.stdout.take().unwrap();
        self.stream(place, out, 0);
        assert!(child.wait().unwrap().success(), "{place} failed");
    }

    fn stream(&mut self, place: &str, mut r: impl Read + Send, depth: u32) {
        let mut head = vec![0u8; 512];
        let n = read_full(&mut r, &mut head);
        head.truncate(n);
        let tool = if head.starts_with(&[0x1f, 0x8b]) {
            Some("gzip")
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some("zstd")
        } else {
            None
        };
        let rest = std::io::Cursor::new(head.clone()).chain(r);
        match tool {
            Some(t) if depth < 4 => self.unpack(place, t, rest, depth),
            _ if head.len() == 512 && &head[257..262] == b"ustar" && depth < 4 => {
                self.tar(place, rest, depth)
            }
            _ => self.raw(place, rest),
        }
    }

    /// A compressed stream, unpacked by the system's gzip or zstd.
    fn unpack(&mut self, place: &str, tool: &str, mut input: impl Read + Send, depth: u32) {
        let mut child = Command::new(tool)
            .arg("-dc")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {tool} (it unpacks layers): {e}"));
        let mut stdin = child.stdin.take().unwrap();
        let out = child.stdout.take().unwrap();
        std::thread::scope(|s| {
            s.spawn(move || {
                let _ = std::io::copy(&mut input, &mut stdin);
            });
            self.stream(&format!("{place} (unpacked)"), out, depth + 1);
        });
        let _ = child.wait();
    }

    /// A tar archive: each entry's bytes, and what a compressed one packs.
    fn tar(&mut self, place: &str, mut r: impl Read + Send, depth: u32) {
        let mut h = [0u8; 512];
        while read_full(&mut r, &mut h) == 512 && h.iter().any(|b| *b != 0) {
            let name = String::from_utf8_lossy(&h[..100])
                .trim_end_matches('\0')
                .to_string();
            let size_text = String::from_utf8_lossy(&h[124..136]);
            let size = u64::from_str_radix(size_text.trim_matches(['\0', ' ']), 8).unwrap_or(0);
            let padded = size.div_ceil(512) * 512;
            let inner = format!("{place}:{name}");
            let mut entry = (&mut r).take(size);
            // An OCI layout's blob (`docker save`): the same digest seen
            // in a registry or a cache directory holds the same bytes.
            let digest = name
                .strip_prefix("blobs/sha256/")
                .map(|hex| format!("sha256:{hex}"));
            if digest.is_some_and(|d| !self.first_time(&d)) {
                std::io::copy(&mut entry, &mut std::io::sink()).unwrap();
            } else if size <= WHOLE_ENTRY {
                let mut data = Vec::with_capacity(size as usize);
                entry.read_to_end(&mut data).unwrap();
                self.raw(&inner, &data[..]);
                if data.starts_with(&[0x1f, 0x8b]) || data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
                    self.stream(&inner, &data[..], depth + 1);
                }
            } else {
                self.raw(&inner, entry);
            }
            std::io::copy(&mut (&mut r).take(padded - size), &mut std::io::sink()).unwrap();
        }
    }

    /// The bytes as they are, read in pieces.
    fn raw(&mut self, place: &str, mut r: impl Read) {
        let finder = memchr::memmem::Finder::new(&self.prefix);
        let mut buf: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; 8 << 20];
        let mut carried: usize = 0;
        loop {
            let n = r.read(&mut chunk).unwrap_or(0);
            let end = n == 0;
            buf.extend_from_slice(&chunk[..n]);
            // Matches before the last TAIL bytes of what was carried were
            // taken last time; those in the last TAIL wait for more bytes.
            let from = carried.saturating_sub(TAIL);
            let upto = if end {
                buf.len()
            } else {
                buf.len().saturating_sub(TAIL)
            };
            for pos in finder.find_iter(&buf).filter(|p| *p >= from && *p < upto) {
                let id: String = buf[pos..]
                    .iter()
                    .take(TAIL)
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
                    .map(|b| *b as char)
                    .collect();
                self.found.entry(id).or_default().push(place.to_string());
            }
            if end {
                return;
            }
            let keep = buf.len().min(2 * TAIL);
            buf.drain(..buf.len() - keep);
            carried = keep;
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

/// `curl` a registry URL: the body, or None when it answers with an error.
fn get(url: &str, accept: &str) -> Option<Vec<u8>> {
    let o = Command::new("curl")
        .args(["-fsSL", "-H", &format!("Accept: {accept}"), url])
        .output()
        .expect("curl runs");
    o.status.success().then_some(o.stdout)
}

const MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// Every manifest and blob of a registry's repository, under its tags,
/// scanned; returns how many blobs were new to the scanner.
pub fn registry_repository(s: &mut Scanner, registry: &str, repo: &str) -> usize {
    let base = format!("http://{registry}/v2/{repo}");
    let tags = get(&format!("{base}/tags/list"), "application/json")
        .unwrap_or_else(|| panic!("the registry lists the tags of {repo}"));
    let tags: serde_json::Value = serde_json::from_slice(&tags).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let mut blobs = 0;
    let mut queue: Vec<String> = tags["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    while let Some(reference) = queue.pop() {
        if !seen.insert(reference.clone()) {
            continue;
        }
        let Some(m) = get(&format!("{base}/manifests/{reference}"), MANIFESTS) else {
            continue;
        };
        s.bytes(&format!("{repo}:{reference} manifest"), &m);
        let doc: serde_json::Value = serde_json::from_slice(&m).unwrap_or_default();
        for sub in doc["manifests"].as_array().into_iter().flatten() {
            queue.extend(sub["digest"].as_str().map(String::from));
        }
        let layers = doc["layers"].as_array().into_iter().flatten();
        for b in layers.chain(std::iter::once(&doc["config"])) {
            let Some(d) = b["digest"].as_str() else {
                continue;
            };
            if seen.insert(d.to_string()) && s.first_time(d) {
                blobs += 1;
                s.command(
                    &format!("{repo}@{d}"),
                    Command::new("curl").args(["-fsSL", &format!("{base}/blobs/{d}")]),
                );
            }
        }
    }
    blobs
}

/// Bytes of a gzip stream made by the system's gzip (real deflate, which
/// hides what it packs).
pub fn gzip_compressed(data: &[u8]) -> Vec<u8> {
    let mut c = Command::new("gzip")
        .args(["-9c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(data).unwrap();
    c.wait_with_output().unwrap().stdout
}
