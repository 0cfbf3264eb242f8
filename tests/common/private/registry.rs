//! A private sparse registry: `config.json` saying `auth-required`, index
//! files where cargo looks for them, `.crate` downloads, and a token wanted
//! on every request, as cargo's registry authentication expects
//! (`Authorization: <token>`, 401 otherwise).

use super::http::{self, Listener, Request, Response};
use super::{TestCrate, hex};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::BufReader;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What a request carried in `Authorization`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenCheck {
    /// No `Authorization` header.
    Missing,
    /// Exactly the registry's token.
    Matched,
    /// Something else.
    Wrong,
}

/// One request the registry answered.
#[derive(Clone, Debug)]
pub struct RegistryRequest {
    pub method: String,
    /// The path, e.g. `/index/config.json`, `/index/co/rp/corp-lib`,
    /// `/dl/corp-lib/0.1.0/download`.
    pub path: String,
    /// The `Host` header.
    pub host: Option<String>,
    pub token: TokenCheck,
    pub status: u16,
    /// Which connection it came on (1 for the first the registry
    /// accepted), to tell kept-alive connections from new ones.
    pub connection: usize,
}

struct State {
    token: String,
    /// Path → body, for every file the registry serves.
    files: BTreeMap<String, Vec<u8>>,
    log: Mutex<Vec<RegistryRequest>>,
    connections: AtomicUsize,
}

/// The registry; it stops when dropped.
pub struct PrivateRegistry {
    listener: Listener,
    state: Arc<State>,
    base: String,
}

impl PrivateRegistry {
    /// A registry at `http://127.0.0.1:<port>` serving `crates`, wanting
    /// `token`.
    pub fn start(token: &str, crates: &[TestCrate]) -> PrivateRegistry {
        PrivateRegistry::start_as(token, crates, None)
    }

    /// The same, telling cargo (in `config.json` and in the crates'
    /// manifests) that it lives at `base` (`http://corp-registry.invalid`),
    /// a name only a proxy knows.
    pub fn start_as(token: &str, crates: &[TestCrate], base: Option<&str>) -> PrivateRegistry {
        // The address is known once listening; the files depend on it, so
        // the server answers from a state filled in right after.
        let cell: Arc<Mutex<Option<Arc<State>>>> = Arc::new(Mutex::new(None));
        let listener = {
            let cell = cell.clone();
            Listener::start(move |s, _| {
                let state = cell.lock().unwrap().clone().expect("registry state");
                serve(s, &state)
            })
        };
        let base = base
            .map(|b| b.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("http://{}", listener.addr()));
        let index_url = format!("sparse+{base}/index/");
        let mut files = BTreeMap::new();
        files.insert(
            "/index/config.json".to_string(),
            serde_json::to_vec(&serde_json::json!({
                "dl": format!("{base}/dl"),
                "api": base,
                "auth-required": true,
            }))
            .unwrap(),
        );
        let mut index: BTreeMap<String, String> = BTreeMap::new();
        for c in crates {
            let archive = crate_archive(c, &index_url);
            let line = index_line(c, &archive);
            index
                .entry(format!("/index/{}", index_path(&c.name)))
                .or_default()
                .push_str(&format!("{line}\n"));
            files.insert(format!("/dl/{}/{}/download", c.name, c.version), archive);
        }
        for (path, lines) in index {
            files.insert(path, lines.into_bytes());
        }
        let state = Arc::new(State {
            token: token.into(),
            files,
            log: Mutex::new(vec![]),
            connections: AtomicUsize::new(0),
        });
        *cell.lock().unwrap() = Some(state.clone());
        PrivateRegistry {
            listener,
            state,
            base,
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    /// Its index URL for cargo: `sparse+http://127.0.0.1:<port>/index/`.
    pub fn index_url(&self) -> String {
        format!("sparse+{}/index/", self.base)
    }

    pub fn token(&self) -> &str {
        &self.state.token
    }

    /// The `[registries.<name>]` table naming it in a cargo config, with
    /// the token read from cargo's configuration or its variable
    /// (`credential-provider = "cargo:token"`): cargo wants a credential
    /// provider set explicitly for a registry that requires
    /// authentication, globally or for the registry.
    pub fn cargo_config(&self, name: &str) -> String {
        format!(
            "{}credential-provider = \"cargo:token\"\n",
            self.cargo_config_index_only(name)
        )
    }

    /// The same with the index only, no credential provider.
    pub fn cargo_config_index_only(&self, name: &str) -> String {
        format!("[registries.{name}]\nindex = \"{}\"\n", self.index_url())
    }

    /// The variable cargo reads the token of registry `name` from, e.g.
    /// `CARGO_REGISTRIES_CORP_TOKEN`.
    pub fn token_variable(name: &str) -> String {
        format!(
            "CARGO_REGISTRIES_{}_TOKEN",
            name.to_uppercase().replace('-', "_")
        )
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<RegistryRequest> {
        self.state.log.lock().unwrap().clone()
    }

    /// The files it serves (path → body), for assertions.
    pub fn files(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.state.files
    }
}

fn serve(s: TcpStream, state: &State) {
    let connection = state.connections.fetch_add(1, Ordering::SeqCst) + 1;
    let Ok(mut w) = s.try_clone() else { return };
    let mut r = BufReader::new(s);
    while let Ok(Some(req)) = http::read_request(&mut r) {
        let (resp, entry) = answer(&req, state, connection);
        state.log.lock().unwrap().push(entry);
        let close = req.closes();
        if resp.write_to(&mut w, close).is_err() || close {
            break;
        }
    }
}

fn answer(req: &Request, state: &State, connection: usize) -> (Response, RegistryRequest) {
    // Absolute form too, should a client send it.
    let path = match req.target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => req.target.as_str(),
    };
    let path = path.split('?').next().unwrap_or(path).to_string();
    let token = match req.header("authorization") {
        None => TokenCheck::Missing,
        Some(t) if t == state.token => TokenCheck::Matched,
        Some(_) => TokenCheck::Wrong,
    };
    let resp = if token != TokenCheck::Matched {
        // What cargo's own test registry answers: a `Cargo` challenge.
        // Cargo asks for config.json without a token first and, on a 401,
        // asks again with it.
        Response::new(401, "Unauthorized: this registry wants a token.\n")
            .with_header("WWW-Authenticate", "Cargo")
    } else if req.method != "GET" && req.method != "HEAD" {
        Response::new(405, "")
    } else {
        match state.files.get(&path) {
            Some(body) => {
                let mut r = Response::new(200, body.clone());
                if req.method == "HEAD" {
                    r.body.clear();
                }
                r
            }
            None => Response::new(404, "not found\n"),
        }
    };
    let entry = RegistryRequest {
        method: req.method.clone(),
        path,
        host: req.header("host").map(str::to_string),
        token,
        status: resp.status,
        connection,
    };
    (resp, entry)
}

/// Where cargo looks for a crate's index file, under the index URL:
/// `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…` (the name lowercased).
pub fn index_path(name: &str) -> String {
    let n = name.to_lowercase();
    match n.len() {
        1 => format!("1/{n}"),
        2 => format!("2/{n}"),
        3 => format!("3/{}/{n}", &n[..1]),
        _ => format!("{}/{}/{n}", &n[..2], &n[2..4]),
    }
}

/// A crate's line in its index file.
pub fn index_line(c: &TestCrate, archive: &[u8]) -> String {
    let deps: Vec<_> = c
        .deps
        .iter()
        .map(|(name, req)| {
            serde_json::json!({
                "name": name,
                "req": req,
                "features": [],
                "optional": false,
                "default_features": true,
                "target": null,
                "kind": "normal",
                // null: the same registry as the crate's.
                "registry": null,
            })
        })
        .collect();
    serde_json::json!({
        "name": c.name,
        "vers": c.version,
        "deps": deps,
        "cksum": hex(&Sha256::digest(archive)),
        "features": {},
        "yanked": false,
    })
    .to_string()
}

/// A `.crate` file: a gzipped tar of `<name>-<version>/Cargo.toml` and
/// `<name>-<version>/src/lib.rs`, its dependencies from `registry_index`.
pub fn crate_archive(c: &TestCrate, registry_index: &str) -> Vec<u8> {
    let root = format!("{}-{}", c.name, c.version);
    let tar = tar(&[
        (
            format!("{root}/Cargo.toml"),
            c.manifest(Some(registry_index)).into_bytes(),
        ),
        (format!("{root}/src/lib.rs"), c.lib_rs.clone().into_bytes()),
    ]);
    gzip(&tar)
}

/// A ustar archive of regular files (mode 644, time 0).
pub fn tar(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    fn octal(field: &mut [u8], n: u64) {
        let s = format!("{n:0width$o}", width = field.len() - 1);
        assert_eq!(s.len(), field.len() - 1, "{n} does not fit a tar field");
        field[..s.len()].copy_from_slice(s.as_bytes());
    }
    let mut out = Vec::new();
    for (name, data) in files {
        assert!(name.len() <= 100, "tar name too long: {name}");
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        octal(&mut h[100..108], 0o644);
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], data.len() as u64);
        octal(&mut h[136..148], 0);
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        // The checksum is taken with its own field as spaces.
        h[148..156].fill(b' ');
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// A gzip member holding `data` in stored (uncompressed) deflate blocks.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let mut blocks = data.chunks(0xffff).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(b) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = b.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(b);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// CRC-32 (IEEE 802.3, as gzip uses it).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
