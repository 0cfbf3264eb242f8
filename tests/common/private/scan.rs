//! Looking for a marker string everywhere a build leaves something: bytes
//! as they are, and inside what they pack (gzip and zstd streams, tar
//! archives, a tar's files that are themselves compressed), the way an
//! exported cache's layers, a `docker save` archive or a `.crate` hold
//! files.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// How often `needle` occurs in `bytes` and, unpacked, in what they hold.
pub fn count(bytes: &[u8], needle: &str) -> usize {
    count_at(bytes, needle.as_bytes(), 0)
}

fn count_at(bytes: &[u8], needle: &[u8], depth: u32) -> usize {
    let mut n = occurrences(bytes, needle);
    if depth > 4 {
        return n;
    }
    if let Some(inner) = decompress(bytes) {
        n += count_at(&inner, needle, depth + 1);
    } else if is_tar(bytes) {
        for (_, data) in tar_entries(bytes) {
            // The raw count above saw the entries' bytes already; only
            // what they pack is new.
            if let Some(inner) = decompress(data) {
                n += count_at(&inner, needle, depth + 1);
            }
        }
    }
    n
}

/// How often `needle` occurs in `bytes` as they are.
pub fn count_raw(bytes: &[u8], needle: &str) -> usize {
    occurrences(bytes, needle.as_bytes())
}

fn occurrences(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || hay.len() < needle.len() {
        return 0;
    }
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// A gzip or zstd stream's content, by the system's gzip and zstd.
fn decompress(bytes: &[u8]) -> Option<Vec<u8>> {
    let tool = if bytes.starts_with(&[0x1f, 0x8b]) {
        "gzip"
    } else if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        "zstd"
    } else {
        return None;
    };
    let mut child = Command::new(tool)
        .args(["-dc"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {tool} (install it: it unpacks layers): {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Some(out.stdout)
}

fn is_tar(bytes: &[u8]) -> bool {
    bytes.len() >= 512 && &bytes[257..262] == b"ustar"
}

/// A tar archive's regular files: (name, data).
pub fn tar_entries(bytes: &[u8]) -> Vec<(String, &[u8])> {
    let mut out = vec![];
    let mut at = 0;
    while at + 512 <= bytes.len() {
        let h = &bytes[at..at + 512];
        if h.iter().all(|b| *b == 0) {
            break;
        }
        let name = String::from_utf8_lossy(&h[..100])
            .trim_end_matches('\0')
            .to_string();
        let size_text = String::from_utf8_lossy(&h[124..136]);
        let size =
            usize::from_str_radix(size_text.trim_matches(|c: char| c == '\0' || c == ' '), 8)
                .unwrap_or(0);
        let start = at + 512;
        let end = (start + size).min(bytes.len());
        if matches!(h[156], b'0' | b'\0') {
            out.push((name, &bytes[start..end]));
        }
        at = start + size.div_ceil(512) * 512;
    }
    out
}

/// Every file below `dir`, recursively: (path, bytes).
pub fn files_below(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![];
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_below(&p));
        } else if let Ok(b) = std::fs::read(&p) {
            out.push((p.display().to_string(), b));
        }
    }
    out
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

/// Every manifest and blob a repository of a registry holds under its
/// tags: (what, bytes).
pub fn registry_repository(registry: &str, repo: &str) -> Vec<(String, Vec<u8>)> {
    let base = format!("http://{registry}/v2/{repo}");
    let tags = get(&format!("{base}/tags/list"), "application/json")
        .unwrap_or_else(|| panic!("the registry lists the tags of {repo}"));
    let tags: serde_json::Value = serde_json::from_slice(&tags).unwrap();
    let mut out = vec![];
    let mut seen = std::collections::BTreeSet::new();
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
        let doc: serde_json::Value = serde_json::from_slice(&m).unwrap_or_default();
        for sub in doc["manifests"].as_array().into_iter().flatten() {
            queue.extend(sub["digest"].as_str().map(String::from));
        }
        let blobs = doc["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(std::iter::once(&doc["config"]));
        for b in blobs {
            if let Some(d) = b["digest"].as_str() {
                if seen.insert(d.to_string()) {
                    let blob = get(&format!("{base}/blobs/{d}"), "*/*").unwrap_or_default();
                    out.push((format!("{repo}@{d}"), blob));
                }
            }
        }
        out.push((format!("{repo}:{reference} manifest"), m));
    }
    out
}

/// `docker save` of an image: the archive's bytes.
pub fn docker_save(image: &str) -> Vec<u8> {
    let o = Command::new("docker")
        .args(["save", image])
        .output()
        .expect("docker runs");
    assert!(
        o.status.success(),
        "docker save {image}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}
