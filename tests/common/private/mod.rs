//! Private dependency sources for the tests (issue 14), each on 127.0.0.1
//! and each gone when dropped:
//!   - [`registry::PrivateRegistry`]: a sparse registry that wants a token
//!     on every request (`auth-required`);
//!   - [`proxy::ForwardProxy`]: an HTTP forward proxy (absolute-URI
//!     requests and CONNECT) that wants Basic credentials and can give
//!     made-up host names a local address;
//!   - [`ssh_git::SshGitServer`]: a bare git repository behind an sshd of
//!     its own, with an ssh-agent holding the only key it accepts;
//!   - [`http_git::HttpGitServer`]: a bare git repository over smart HTTP
//!     (`git http-backend`), or HTTPS, wanting Basic credentials, and
//!     [`http_git::GitHome`], a HOME whose git credential helper holds
//!     them.
//!
//! Plus what the tests give them: the crates they serve ([`TestCrate`]), a
//! workspace depending on them ([`write_workspace`]) and the host's cargo
//! run with a CARGO_HOME of its own and a time limit ([`HostCargo`]).

pub mod git_repo;
pub mod http;
pub mod http_git;
pub mod proxy;
pub mod registry;
pub mod scan;
pub mod ssh_git;

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A crate for a private source to serve: its name, version, `src/lib.rs`
/// and its dependencies on other crates of the same source.
#[derive(Clone, Debug)]
pub struct TestCrate {
    pub name: String,
    pub version: String,
    pub lib_rs: String,
    /// (name, version requirement), as they appear in Cargo.toml.
    pub deps: Vec<(String, String)>,
}

impl TestCrate {
    pub fn new(name: &str, version: &str, lib_rs: &str) -> TestCrate {
        TestCrate {
            name: name.into(),
            version: version.into(),
            lib_rs: lib_rs.into(),
            deps: vec![],
        }
    }

    pub fn dep(mut self, name: &str, req: &str) -> TestCrate {
        self.deps.push((name.into(), req.into()));
        self
    }

    /// Its Cargo.toml; each dependency comes from `registry_index` when
    /// given (as `cargo publish` writes them for another registry than
    /// crates.io).
    pub fn manifest(&self, registry_index: Option<&str>) -> String {
        let mut m = format!(
            "[package]\nname = \"{}\"\nversion = \"{}\"\nedition = \"2021\"\n\n[lib]\npath = \"src/lib.rs\"\n",
            self.name, self.version
        );
        for (name, req) in &self.deps {
            m.push_str(&format!("\n[dependencies.{name}]\nversion = \"{req}\"\n"));
            if let Some(index) = registry_index {
                m.push_str(&format!("registry-index = \"{index}\"\n"));
            }
        }
        m
    }
}

/// A one-package workspace (`app`, a library) in `dir`: `deps` is the body
/// of its `[dependencies]` table, `cargo_config` (when not empty) its
/// `.cargo/config.toml`.
pub fn write_workspace(dir: &Path, deps: &str, cargo_config: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{deps}"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    if !cargo_config.is_empty() {
        std::fs::create_dir_all(dir.join(".cargo")).unwrap();
        std::fs::write(dir.join(".cargo/config.toml"), cargo_config).unwrap();
    }
}

/// The variables the host's cargo keeps from the test's environment: what
/// finds cargo and its toolchain (rustup's proxy), nothing that configures
/// cargo, git, ssh or a proxy.
const KEPT_VARIABLES: &[&str] = &["PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "LANG"];

/// The host's `cargo` (the one on the PATH, no Docker), run in a workspace
/// with a new CARGO_HOME for every command, holding `config.toml` only:
/// nothing of the user's cargo home, no crates.io. The environment is
/// emptied but for [`KEPT_VARIABLES`] and rustup's own, so the tests set
/// every variable that matters to them with [`HostCargo::env`].
#[derive(Clone)]
pub struct HostCargo {
    dir: PathBuf,
    home_config: String,
    env: BTreeMap<String, String>,
}

impl HostCargo {
    pub fn new(dir: &Path) -> HostCargo {
        HostCargo {
            dir: dir.to_path_buf(),
            home_config: String::new(),
            env: BTreeMap::new(),
        }
    }

    /// The `config.toml` each command's CARGO_HOME holds.
    pub fn home_config(mut self, toml: &str) -> HostCargo {
        self.home_config = toml.into();
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> HostCargo {
        self.env.insert(
            key.into(),
            value.as_ref().to_str().expect("UTF-8 value").into(),
        );
        self
    }

    /// A copy with one more variable.
    pub fn with_env(&self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> HostCargo {
        self.clone().env(key, value)
    }

    /// `cargo <args>` in the workspace, with stdin closed and no terminal,
    /// killed (with whatever it started) when it takes longer than `limit`
    /// ([`run_with_limit`]).
    pub fn run(&self, args: &[&str], limit: Duration) -> Finished {
        let home = tempfile::Builder::new()
            .prefix("green-cross-cargo-home-")
            .tempdir()
            .unwrap();
        std::fs::write(home.path().join("config.toml"), &self.home_config).unwrap();
        let mut c = Command::new("cargo");
        c.args(args).current_dir(&self.dir).env_clear();
        for (k, v) in std::env::vars_os() {
            let Some(k) = k.to_str() else { continue };
            if KEPT_VARIABLES.contains(&k) || k.starts_with("RUSTUP_") {
                c.env(k, v);
            }
        }
        c.env("CARGO_HOME", home.path())
            .env("CARGO_TERM_COLOR", "never")
            .envs(&self.env);
        let f = run_with_limit(c, limit);
        drop(home);
        f
    }
}

/// A finished command.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Exit status, time and output, for assertion messages.
    pub fn show(&self) -> String {
        format!(
            "{} after {:.1?}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.elapsed, self.stdout, self.stderr
        )
    }
}

/// Run a command as green-cross runs the host's cargo: stdin closed, in a
/// session of its own with no controlling terminal (so nothing it starts
/// can prompt on one). When it runs longer than `limit` its process group
/// (the session's) is killed and the test fails with what it printed so
/// far.
pub fn run_with_limit(mut c: Command, limit: Duration) -> Finished {
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setsid(2) is async-signal-safe and touches no memory of the
    // parent's.
    unsafe {
        c.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = c.spawn().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > limit {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let status = status.unwrap_or_else(|| {
        kill_group(&child);
        child.wait().unwrap()
    });
    let elapsed = start.elapsed();
    let f = Finished {
        status,
        stdout: String::from_utf8_lossy(&out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
        elapsed,
    };
    assert!(
        elapsed <= limit,
        "{c:?} still ran after {limit:?}: killed\n{}",
        f.show()
    );
    f
}

/// SIGKILL to the process group a child leads (it was started with
/// `setsid`, so the group's id is its own).
fn kill_group(child: &std::process::Child) {
    let pgid = child.id() as libc::pid_t;
    // SAFETY: kill(2) with a negative pid signals that process group only.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// An address on 127.0.0.1 nothing listens on (the port is free when this
/// returns; a server started right after can bind it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What a request carried where the server wants Basic credentials
/// (`Authorization`, or `Proxy-Authorization` for the proxy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credentials {
    Missing,
    Matched,
    Wrong,
}

impl Credentials {
    /// `header` (the value sent, if any) against `expected`, as
    /// [`basic_auth`] spells it.
    pub fn check(header: Option<&str>, expected: &str) -> Credentials {
        match header {
            None => Credentials::Missing,
            Some(v) if v == expected => Credentials::Matched,
            Some(_) => Credentials::Wrong,
        }
    }
}

/// `Basic <base64(user:password)>`, a header's value.
pub fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

/// Standard base64 with padding (for Basic credentials).
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
