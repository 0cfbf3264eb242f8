//! The private dependency sources of tests/common/private (issue 14) work
//! with the host's own cargo (no green-cross, no Docker): a sparse registry
//! wanting a token, the same registry behind a proxy wanting credentials,
//! a git repository over ssh with the key in an agent, and one over
//! HTTP(S) with the credentials in git's credential helper. Each cargo runs
//! with a CARGO_HOME of its own and a time limit; the failures must be
//! quick errors, never hangs or prompts.

mod common;

use common::private::http::{self, Response};
use common::private::http_git::{GitHome, HttpGitServer};
use common::private::proxy::{Credentials, ForwardProxy};
use common::private::registry::{self, PrivateRegistry, TokenCheck};
use common::private::scan::Scanner;
use common::private::ssh_git::SshGitServer;
use common::private::{HostCargo, TestCrate, base64, write_workspace};
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

/// Ample for a fetch from 127.0.0.1; a cargo still running then is hung.
const LIMIT: Duration = Duration::from_secs(60);

/// The most a refusal may take: cargo gives up at once on a 401 or 407,
/// and the network failures it would retry (a name that does not resolve,
/// any failure of the git CLI) are run with `CARGO_NET_RETRY=0`.
const QUICK: Duration = Duration::from_secs(10);

const TOKEN: &str = "corp-token-3f9a";

/// corp-lib 0.1.0 and its three dependencies, whose names take the other
/// three shapes of index path (`1/`, `2/`, `3/x/`).
fn corp_crates() -> Vec<TestCrate> {
    vec![
        TestCrate::new("c", "0.1.0", "pub fn one() -> u32 { 1 }\n"),
        TestCrate::new("cx", "0.1.2", "pub fn two() -> u32 { 2 }\n"),
        TestCrate::new("cxy", "0.1.0", "pub fn three() -> u32 { 3 }\n"),
        // An older version, to be passed over.
        TestCrate::new("corp-lib", "0.0.9", "pub fn sum() -> u32 { 0 }\n"),
        TestCrate::new(
            "corp-lib",
            "0.1.0",
            "pub fn sum() -> u32 { c::one() + cx::two() + cxy::three() }\n",
        )
        .dep("c", "^0.1")
        .dep("cx", "^0.1")
        .dep("cxy", "^0.1"),
    ]
}

/// A workspace depending on corp-lib from the registry named `corp`.
fn corp_workspace(dir: &Path, registry: &PrivateRegistry) {
    write_workspace(
        dir,
        "corp-lib = { version = \"0.1\", registry = \"corp\" }\n",
        &registry.cargo_config("corp"),
    );
}

fn token_variable() -> String {
    PrivateRegistry::token_variable("corp")
}

/// The packages (name version) a lockfile holds, but the workspace's own.
fn locked_packages(dir: &Path) -> Vec<String> {
    let lock = std::fs::read_to_string(dir.join("Cargo.lock")).unwrap();
    let lock: toml::Table = lock.parse().unwrap();
    let mut names: Vec<_> = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p.get("source").is_some())
        .map(|p| {
            format!(
                "{} {}",
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap()
            )
        })
        .collect();
    names.sort();
    names
}

/// A cargo that failed at once (within [`QUICK`]) saying each of `parts`.
fn assert_refused(f: &common::private::Finished, parts: &[&str]) {
    assert!(!f.success(), "{}", f.show());
    for part in parts {
        assert!(f.stderr.contains(part), "no {part:?} in:\n{}", f.show());
    }
    assert!(f.elapsed < QUICK, "{}", f.show());
}

#[test]
fn crate_archives_and_index_paths_are_what_cargo_reads() {
    assert_eq!(registry::index_path("c"), "1/c");
    assert_eq!(registry::index_path("cx"), "2/cx");
    assert_eq!(registry::index_path("cxy"), "3/c/cxy");
    assert_eq!(registry::index_path("Corp-Lib"), "co/rp/corp-lib");
    assert_eq!(registry::crc32(b"123456789"), 0xcbf4_3926);
    assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
    assert_eq!(base64(b"ab"), "YWI=");
    // The archive lists as a tar would.
    let krate = &corp_crates()[4];
    let archive = registry::crate_archive(krate, "sparse+http://127.0.0.1:1/index/");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("corp-lib.crate"), &archive).unwrap();
    let (ok, listing) = common::run(
        "tar",
        &["-tzvf", dir.path().join("corp-lib.crate").to_str().unwrap()],
    );
    assert!(ok, "{listing}");
    assert!(listing.contains("corp-lib-0.1.0/Cargo.toml"), "{listing}");
    assert!(listing.contains("corp-lib-0.1.0/src/lib.rs"), "{listing}");
    let line: serde_json::Value =
        serde_json::from_str(&registry::index_line(krate, &archive)).unwrap();
    assert_eq!(line["vers"], "0.1.0");
    assert_eq!(line["deps"].as_array().unwrap().len(), 3);
    assert_eq!(line["cksum"].as_str().unwrap().len(), 64);
}

/// One request on an open connection; the response.
fn exchange(s: &mut TcpStream, r: &mut BufReader<TcpStream>, head: &str) -> Response {
    s.write_all(head.as_bytes()).unwrap();
    http::read_response(r, false).unwrap()
}

#[test]
fn registry_wants_its_token_on_a_kept_alive_connection() {
    let reg = PrivateRegistry::start(TOKEN, &corp_crates());
    let mut s = TcpStream::connect(reg.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let host = reg.addr();
    let no_token = exchange(
        &mut s,
        &mut r,
        &format!("GET /index/config.json HTTP/1.1\r\nHost: {host}\r\n\r\n"),
    );
    assert_eq!(no_token.status, 401);
    assert_eq!(
        http::header(&no_token.headers, "www-authenticate"),
        Some("Cargo")
    );
    let wrong = exchange(
        &mut s,
        &mut r,
        &format!(
            "GET /index/co/rp/corp-lib HTTP/1.1\r\nHost: {host}\r\nAuthorization: nope\r\n\r\n"
        ),
    );
    assert_eq!(wrong.status, 401);
    let config = exchange(
        &mut s,
        &mut r,
        &format!(
            "GET /index/config.json HTTP/1.1\r\nHost: {host}\r\nAuthorization: {TOKEN}\r\n\r\n"
        ),
    );
    assert_eq!(config.status, 200);
    let config: serde_json::Value = serde_json::from_slice(&config.body).unwrap();
    assert_eq!(config["auth-required"], true);
    assert_eq!(config["dl"], format!("http://{host}/dl"));
    assert_eq!(config["api"], format!("http://{host}"));
    let index = exchange(
        &mut s,
        &mut r,
        &format!(
            "GET /index/co/rp/corp-lib HTTP/1.1\r\nHost: {host}\r\nAuthorization: {TOKEN}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(index.status, 200);
    assert_eq!(String::from_utf8(index.body).unwrap().lines().count(), 2);
    // It closed the connection as asked.
    let mut rest = Vec::new();
    assert_eq!(r.read_to_end(&mut rest).unwrap(), 0);
    let log: Vec<_> = reg
        .requests()
        .into_iter()
        .map(|q| (q.path, q.token, q.status, q.connection))
        .collect();
    assert_eq!(
        log,
        [
            ("/index/config.json".into(), TokenCheck::Missing, 401, 1),
            ("/index/co/rp/corp-lib".into(), TokenCheck::Wrong, 401, 1),
            ("/index/config.json".into(), TokenCheck::Matched, 200, 1),
            ("/index/co/rp/corp-lib".into(), TokenCheck::Matched, 200, 1),
        ]
    );
}

/// Cargo asks for config.json without a token once (its probe), is told
/// 401, and from then on sends the token with every request: the index
/// files and the downloads.
fn assert_token_on_every_request(reg: &PrivateRegistry) {
    let log = reg.requests();
    assert!(!log.is_empty());
    for (i, q) in log.iter().enumerate() {
        let probe = q.path == "/index/config.json" && q.token == TokenCheck::Missing;
        assert!(
            q.token == TokenCheck::Matched || probe,
            "request {i} without the token: {q:?}\n{log:#?}"
        );
        if probe {
            assert_eq!(q.status, 401, "{log:#?}");
            // The next request is config.json again, with the token.
            let next = log.get(i + 1).expect("a request after the probe");
            assert_eq!(
                (next.path.as_str(), next.token),
                ("/index/config.json", TokenCheck::Matched),
                "{log:#?}"
            );
        }
    }
}

#[test]
fn host_cargo_fetches_from_the_private_registry_with_its_token() {
    let reg = PrivateRegistry::start(TOKEN, &corp_crates());
    let ws = tempfile::tempdir().unwrap();
    corp_workspace(ws.path(), &reg);
    let cargo = HostCargo::new(ws.path()).env(&token_variable(), TOKEN);

    let lock = cargo.run(&["generate-lockfile"], LIMIT);
    assert!(lock.success(), "{}", lock.show());
    assert_eq!(
        locked_packages(ws.path()),
        ["c 0.1.0", "corp-lib 0.1.0", "cx 0.1.2", "cxy 0.1.0"]
    );
    let lock_log = reg.requests();
    for path in [
        "/index/config.json",
        "/index/co/rp/corp-lib",
        "/index/1/c",
        "/index/2/cx",
        "/index/3/c/cxy",
    ] {
        assert!(
            lock_log.iter().any(|q| q.path == path && q.status == 200),
            "{path} not fetched: {lock_log:#?}"
        );
    }

    let fetch = cargo.run(&["fetch", "--locked"], LIMIT);
    assert!(fetch.success(), "{}", fetch.show());
    let log = reg.requests();
    for krate in ["c/0.1.0", "corp-lib/0.1.0", "cx/0.1.2", "cxy/0.1.0"] {
        let path = format!("/dl/{krate}/download");
        assert!(
            log.iter().any(|q| q.path == path && q.status == 200),
            "{path} not downloaded: {log:#?}"
        );
    }
    assert!(!log.iter().any(|q| q.path.contains("0.0.9/download")));
    assert_token_on_every_request(&reg);
}

#[test]
fn host_cargo_is_refused_with_a_wrong_token_or_none() {
    let reg = PrivateRegistry::start(TOKEN, &corp_crates());
    let ws = tempfile::tempdir().unwrap();
    corp_workspace(ws.path(), &reg);

    let wrong = HostCargo::new(ws.path())
        .env(&token_variable(), "not-the-token")
        .run(&["generate-lockfile"], LIMIT);
    assert!(!wrong.success(), "{}", wrong.show());
    for part in [
        "token rejected for `corp`",
        "CARGO_REGISTRIES_CORP_TOKEN",
        "/index/config.json`, got 401",
        "this registry wants a token",
    ] {
        assert!(
            wrong.stderr.contains(part),
            "no {part:?} in:\n{}",
            wrong.show()
        );
    }
    let log = reg.requests();
    assert!(log.iter().all(|q| q.status == 401), "{log:#?}");

    let none = HostCargo::new(ws.path()).run(&["generate-lockfile"], LIMIT);
    assert!(!none.success(), "{}", none.show());
    assert!(
        none.stderr.contains("no token found for `corp`"),
        "{}",
        none.show()
    );

    // The right token, but no credential provider configured: cargo will
    // not send a token to a registry that requires one.
    let ws = tempfile::tempdir().unwrap();
    write_workspace(
        ws.path(),
        "corp-lib = { version = \"0.1\", registry = \"corp\" }\n",
        &reg.cargo_config_index_only("corp"),
    );
    let no_provider = HostCargo::new(ws.path())
        .env(&token_variable(), TOKEN)
        .run(&["generate-lockfile"], LIMIT);
    assert!(!no_provider.success(), "{}", no_provider.show());
    assert!(
        no_provider
            .stderr
            .contains("authenticated registries require a credential-provider to be configured"),
        "{}",
        no_provider.show()
    );
    for f in [&wrong, &none, &no_provider] {
        assert!(f.elapsed < QUICK, "{}", f.show());
    }
    // Each time: config.json without a token first; then again with the
    // wrong one, or (no token, no provider) nothing more.
    let log: Vec<_> = reg
        .requests()
        .into_iter()
        .map(|q| (q.path, q.token))
        .collect();
    let config = || "/index/config.json".to_string();
    assert_eq!(
        log,
        [
            (config(), TokenCheck::Missing),
            (config(), TokenCheck::Wrong),
            (config(), TokenCheck::Missing),
            (config(), TokenCheck::Missing),
        ]
    );
}

#[test]
fn host_cargo_vendors_from_the_private_registry() {
    let reg = PrivateRegistry::start(TOKEN, &corp_crates());
    let ws = tempfile::tempdir().unwrap();
    // The credential provider set for every registry, as a user's
    // ~/.cargo/config.toml would.
    write_workspace(
        ws.path(),
        "corp-lib = { version = \"0.1\", registry = \"corp\" }\n",
        &reg.cargo_config_index_only("corp"),
    );
    let cargo = HostCargo::new(ws.path())
        .home_config("[registry]\nglobal-credential-providers = [\"cargo:token\"]\n")
        .env(&token_variable(), TOKEN);
    let vendor = cargo.run(&["vendor", "vendor"], LIMIT);
    assert!(vendor.success(), "{}", vendor.show());
    for dir in ["c", "corp-lib", "cx", "cxy"] {
        assert!(
            ws.path()
                .join("vendor")
                .join(dir)
                .join("Cargo.toml")
                .is_file(),
            "vendor/{dir}"
        );
    }
    assert!(
        vendor
            .stdout
            .contains(&format!("[source.\"{}\"]", reg.index_url())),
        "{}",
        vendor.show()
    );
    assert_token_on_every_request(&reg);

    // With the source replaced as `cargo vendor` says, the workspace builds
    // with the registry gone and no token.
    drop(reg);
    let config = ws.path().join(".cargo/config.toml");
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str(&vendor.stdout);
    std::fs::write(&config, toml).unwrap();
    std::fs::write(
        ws.path().join("src/lib.rs"),
        "pub fn total() -> u32 { corp_lib::sum() }\n",
    )
    .unwrap();
    let check = HostCargo::new(ws.path()).run(&["check", "--offline", "--locked"], LIMIT);
    assert!(check.success(), "{}", check.show());
}

#[test]
fn host_cargo_reaches_the_registry_only_through_the_proxy() {
    let reg =
        PrivateRegistry::start_as(TOKEN, &corp_crates(), Some("http://corp-registry.invalid"));
    let proxy = ForwardProxy::start(
        "proxyuser",
        "s3cret",
        &[("corp-registry.invalid", reg.addr())],
    );
    assert_eq!(
        reg.index_url(),
        "sparse+http://corp-registry.invalid/index/"
    );
    let ws = tempfile::tempdir().unwrap();
    corp_workspace(ws.path(), &reg);
    let cargo = HostCargo::new(ws.path()).env(&token_variable(), TOKEN);

    // Without the proxy the name means nothing. (Cargo takes that for a
    // spurious network error and tries again, for about 10 s with its
    // default of 3 retries.)
    let direct = cargo
        .with_env("CARGO_NET_RETRY", "0")
        .run(&["generate-lockfile"], LIMIT);
    assert!(!direct.success(), "{}", direct.show());
    assert!(
        direct
            .stderr
            .contains("Could not resolve host: corp-registry.invalid"),
        "{}",
        direct.show()
    );
    assert!(direct.elapsed < QUICK, "{}", direct.show());
    assert!(reg.requests().is_empty() && proxy.requests().is_empty());

    // cargo's own setting.
    let fetch = cargo
        .with_env("CARGO_HTTP_PROXY", proxy.url())
        .run(&["fetch"], LIMIT);
    assert!(fetch.success(), "{}", fetch.show());
    let forwarded = proxy.requests();
    assert!(
        forwarded.iter().any(|q| q.target.ends_with("/download")),
        "{forwarded:#?}"
    );
    for q in &forwarded {
        assert_eq!(q.method, "GET", "{q:?}");
        assert!(
            q.target.starts_with("http://corp-registry.invalid/"),
            "{q:?}"
        );
        assert_eq!(q.authority, "corp-registry.invalid:80", "{q:?}");
        assert_eq!(q.credentials, Credentials::Matched, "{q:?}");
        assert_eq!(q.upstream, Some(reg.addr()), "{q:?}");
    }
    let log = reg.requests();
    assert_eq!(log.len(), forwarded.len(), "{log:#?}\n{forwarded:#?}");
    assert!(
        log.iter()
            .all(|q| q.host.as_deref() == Some("corp-registry.invalid")),
        "{log:#?}"
    );
    assert_token_on_every_request(&reg);

    // The conventional variable, lowercase as curl wants it for http://.
    let before = proxy.requests().len();
    let lower = cargo
        .with_env("http_proxy", proxy.url())
        .run(&["generate-lockfile"], LIMIT);
    assert!(lower.success(), "{}", lower.show());
    assert!(proxy.requests().len() > before);

    // Wrong credentials: the proxy says 407 and cargo gives up.
    let refused = cargo
        .with_env("CARGO_HTTP_PROXY", proxy.url().replace("s3cret", "wrong"))
        .run(&["generate-lockfile"], LIMIT);
    assert!(!refused.success(), "{}", refused.show());
    assert!(
        refused
            .stderr
            .contains("`http://corp-registry.invalid/index/config.json` (127.0.0.1), got 407"),
        "{}",
        refused.show()
    );
    assert!(refused.elapsed < QUICK, "{}", refused.show());
    assert!(
        proxy
            .requests()
            .iter()
            .any(|q| q.credentials == Credentials::Wrong && q.status == 407)
    );
}

#[test]
fn proxy_tunnels_connect_with_credentials_only() {
    let reg =
        PrivateRegistry::start_as(TOKEN, &corp_crates(), Some("http://corp-registry.invalid"));
    let proxy = ForwardProxy::start(
        "proxyuser",
        "s3cret",
        &[("corp-registry.invalid", reg.addr())],
    );
    let auth = base64(b"proxyuser:s3cret");

    let mut s = TcpStream::connect(proxy.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let refused = exchange(
        &mut s,
        &mut r,
        "CONNECT corp-registry.invalid:443 HTTP/1.1\r\nHost: corp-registry.invalid:443\r\n\r\n",
    );
    assert_eq!(refused.status, 407);
    assert!(http::header(&refused.headers, "proxy-authenticate").is_some());
    // The same connection, with credentials: a tunnel to the registry.
    s.write_all(
        format!(
            "CONNECT corp-registry.invalid:443 HTTP/1.1\r\nHost: corp-registry.invalid:443\r\nProxy-Authorization: Basic {auth}\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut r, &mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line:?}");
    std::io::BufRead::read_line(&mut r, &mut line).unwrap();
    let through = exchange(
        &mut s,
        &mut r,
        &format!(
            "GET /index/config.json HTTP/1.1\r\nHost: corp-registry.invalid\r\nAuthorization: {TOKEN}\r\n\r\n"
        ),
    );
    assert_eq!(through.status, 200);
    let config: serde_json::Value = serde_json::from_slice(&through.body).unwrap();
    assert_eq!(config["dl"], "http://corp-registry.invalid/dl");
    drop((s, r));

    // An unknown name: 502, and nothing reaches the registry.
    let mut s = TcpStream::connect(proxy.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let unknown = exchange(
        &mut s,
        &mut r,
        &format!(
            "CONNECT elsewhere.invalid:443 HTTP/1.1\r\nHost: elsewhere.invalid:443\r\nProxy-Authorization: Basic {auth}\r\n\r\n"
        ),
    );
    assert_eq!(unknown.status, 502);

    let log: Vec<_> = proxy
        .requests()
        .into_iter()
        .map(|q| (q.method, q.target, q.credentials, q.status))
        .collect();
    assert_eq!(
        log,
        [
            (
                "CONNECT".into(),
                "corp-registry.invalid:443".into(),
                Credentials::Missing,
                407
            ),
            (
                "CONNECT".into(),
                "corp-registry.invalid:443".into(),
                Credentials::Matched,
                200
            ),
            (
                "CONNECT".into(),
                "elsewhere.invalid:443".into(),
                Credentials::Matched,
                502
            ),
        ]
    );
    assert_eq!(reg.requests().len(), 1);
}

/// A workspace depending on the server's crate by its ssh URL.
fn git_workspace(dir: &Path, server: &SshGitServer) {
    write_workspace(
        dir,
        &format!("corp-git-lib = {{ git = \"{}\" }}\n", server.url()),
        "",
    );
}

fn git_crate() -> TestCrate {
    TestCrate::new("corp-git-lib", "0.3.0", "pub fn answer() -> u32 { 42 }\n")
}

const KEY_MARKER: &str = "green-cross-private-key-marker-5b1e";

/// The agent holds the test's key, by its comment.
fn assert_agent_holds_marker(server: &SshGitServer) {
    let o = std::process::Command::new("ssh-add")
        .arg("-l")
        .env("SSH_AUTH_SOCK", server.agent_sock())
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&o.stdout);
    assert!(listing.contains(KEY_MARKER), "{listing}");
    assert!(listing.contains(server.key_fingerprint()), "{listing}");
}

/// `cargo fetch` with the agent succeeds and locks the git crate.
fn fetch_with_the_agent(cargo: &HostCargo, server: &SshGitServer, ws: &Path) {
    let fetch = cargo
        .with_env("SSH_AUTH_SOCK", server.agent_sock())
        .run(&["fetch"], LIMIT);
    assert!(
        fetch.success(),
        "{}\n--- sshd\n{}",
        fetch.show(),
        server.log()
    );
    assert_eq!(locked_packages(ws), ["corp-git-lib 0.3.0"]);
}

#[test]
fn host_cargo_fetches_over_ssh_with_libgit2_and_the_agent() {
    let server = SshGitServer::start(KEY_MARKER, &git_crate());
    assert_agent_holds_marker(&server);
    let ws = tempfile::tempdir().unwrap();
    git_workspace(ws.path(), &server);
    let cargo = HostCargo::new(ws.path()).home_config(&server.cargo_known_hosts());

    fetch_with_the_agent(&cargo, &server, ws.path());
    assert!(
        server
            .accepted_keys()
            .iter()
            .all(|k| k == server.key_fingerprint())
            && !server.accepted_keys().is_empty(),
        "{}",
        server.log()
    );

    // No agent: an authentication error, at once.
    std::fs::remove_file(ws.path().join("Cargo.lock")).unwrap();
    let no_agent = cargo.run(&["fetch"], LIMIT);
    assert_refused(
        &no_agent,
        &[
            "failed to authenticate when downloading repository",
            "ssh-agent",
        ],
    );

    // No known host: refused before any key is offered.
    let logins = server.accepted_keys().len();
    let unknown_host = HostCargo::new(ws.path())
        .env("SSH_AUTH_SOCK", server.agent_sock())
        .run(&["fetch"], LIMIT);
    assert!(!unknown_host.success(), "{}", unknown_host.show());
    assert!(
        unknown_host.stderr.contains("unknown SSH host key"),
        "{}",
        unknown_host.show()
    );
    assert_eq!(server.accepted_keys().len(), logins);
}

#[test]
fn host_cargo_fetches_over_ssh_with_the_git_cli_and_the_agent() {
    let server = SshGitServer::start(KEY_MARKER, &git_crate());
    let ws = tempfile::tempdir().unwrap();
    git_workspace(ws.path(), &server);
    let cargo = HostCargo::new(ws.path())
        .home_config("[net]\ngit-fetch-with-cli = true\n")
        .env("GIT_SSH_COMMAND", server.git_ssh_command())
        .env("GIT_TERMINAL_PROMPT", "0");

    fetch_with_the_agent(&cargo, &server, ws.path());
    assert!(
        server
            .accepted_keys()
            .iter()
            .any(|k| k == server.key_fingerprint()),
        "{}",
        server.log()
    );

    // No agent: ssh is refused at once; cargo takes any failure of git
    // for a spurious one and would try 3 more times (some 12 s).
    std::fs::remove_file(ws.path().join("Cargo.lock")).unwrap();
    let no_agent = cargo
        .with_env("CARGO_NET_RETRY", "0")
        .run(&["fetch"], LIMIT);
    assert_refused(
        &no_agent,
        &[
            "Permission denied (publickey)",
            "process didn't exit successfully: `git fetch",
        ],
    );
}

#[test]
fn the_scanner_finds_markers_packed_in_tar_gzip_and_a_gzip_inside_a_tar() {
    use common::private::scan::{Scanner, gzip_compressed};
    let (one, two) = ("scanmark-one", "scanmark-two-51c2");
    let inner = gzip_compressed(format!("x {two} y").as_bytes());
    let mut s = Scanner::new("scanmark-");
    s.bytes("compressed", &inner);
    assert_eq!(s.count(two), 1, "found unpacked: {:?}", s.found);
    let layer = registry::tar(&[
        ("a/plain.txt".into(), format!("{one}\n").into_bytes()),
        ("b/packed.crate".into(), inner),
        ("c/clean.txt".into(), b"nothing here".to_vec()),
    ]);
    let mut s = Scanner::new("scanmark-");
    s.bytes("layer", &gzip_compressed(&layer));
    assert_eq!((s.count(one), s.count(two)), (1, 1), "{:?}", s.found);
    // Across the scanner's reads: a long run of other bytes first.
    let mut big = vec![b'x'; (8 << 20) - 5];
    big.extend_from_slice(one.as_bytes());
    let mut s = Scanner::new("scanmark-");
    s.bytes("big", &big);
    assert_eq!(s.count(one), 1, "{:?}", s.found);
    let mut s = Scanner::new("scanmark-");
    s.bytes("none", b"no marker");
    assert!(s.found.is_empty());
    // A blob of an OCI layout whose digest was read elsewhere is not read
    // again; a new one is.
    let oci = registry::tar(&[
        ("blobs/sha256/aa".into(), format!("{one}\n").into_bytes()),
        ("blobs/sha256/bb".into(), format!("{one}\n").into_bytes()),
    ]);
    let mut s = Scanner::new("scanmark-");
    assert!(s.first_time("sha256:aa"));
    s.bytes("saved image", &oci);
    assert_eq!(s.count(one), 1, "{:?}", s.found);
}

const GIT_USER: &str = "corp-git-user";
/// The password holds a marker, to be found nowhere cargo writes.
const GIT_PASSWORD: &str = "green-cross-git-password-marker-7c4d";

/// A workspace depending on the crate at `url`.
fn git_url_workspace(dir: &Path, url: &str) {
    write_workspace(dir, &format!("corp-git-lib = {{ git = \"{url}\" }}\n"), "");
}

/// The host's cargo with `home` for HOME (its .gitconfig names the
/// credential helper) and git's system configuration ignored.
fn http_git_cargo_prompting(ws: &Path, home: &GitHome) -> HostCargo {
    HostCargo::new(ws)
        .env("HOME", home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
}

/// The same with git's prompts off.
fn http_git_cargo(ws: &Path, home: &GitHome) -> HostCargo {
    http_git_cargo_prompting(ws, home).env("GIT_TERMINAL_PROMPT", "0")
}

const GIT_CLI: &str = "[net]\ngit-fetch-with-cli = true\n";

/// The lockfile holds the crate from `url` at the server's commit, and not
/// the password.
fn assert_locked_from(ws: &Path, url: &str, server: &HttpGitServer) {
    assert_eq!(locked_packages(ws), ["corp-git-lib 0.3.0"]);
    let lock = std::fs::read_to_string(ws.join("Cargo.lock")).unwrap();
    let source = format!("source = \"git+{url}#{}\"", server.commit());
    assert!(lock.contains(&source), "no {source:?} in:\n{lock}");
    assert!(!lock.contains(GIT_PASSWORD), "{lock}");
}

/// Each request without credentials was refused (401) and the same
/// request came again with them; every other request carried them and was
/// answered. Whether libgit2 or the git CLI asked, by the User-Agent.
fn assert_challenged_then_authenticated(server: &HttpGitServer, libgit2: bool) {
    let log = server.requests();
    assert!(
        log.iter()
            .any(|q| q.method == "POST" && q.path == "/repo.git/git-upload-pack"),
        "no fetch: {log:#?}"
    );
    for (i, q) in log.iter().enumerate() {
        let agent = q.user_agent.as_deref().unwrap_or_default();
        assert_eq!(agent.contains("libgit2"), libgit2, "{q:?}");
        match q.credentials {
            Credentials::Matched => assert_eq!(q.status, 200, "{log:#?}"),
            Credentials::Missing => {
                assert_eq!(q.status, 401, "{log:#?}");
                let next = log.get(i + 1).expect("a request after the challenge");
                assert_eq!(
                    (&next.path, &next.query, next.credentials),
                    (&q.path, &q.query, Credentials::Matched),
                    "{log:#?}"
                );
            }
            Credentials::Wrong => panic!("wrong credentials: {log:#?}"),
        }
    }
}

/// The pkt-line of git's protocol holding `data`.
fn pkt_line(data: &str) -> String {
    format!("{:04x}{data}", data.len() + 4)
}

#[test]
fn http_git_server_wants_credentials_and_inflates_gzipped_requests() {
    let server = HttpGitServer::start(GIT_USER, GIT_PASSWORD, &git_crate());
    let commit = server.commit();
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let refs = "GET /repo.git/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: git.invalid\r\n";
    let auth = |user: &str, password: &str| {
        format!(
            "Authorization: Basic {}\r\n",
            base64(format!("{user}:{password}").as_bytes())
        )
    };

    let none = exchange(&mut s, &mut r, &format!("{refs}\r\n"));
    assert_eq!(none.status, 401);
    assert_eq!(
        http::header(&none.headers, "www-authenticate"),
        Some("Basic realm=\"git\"")
    );
    let wrong = exchange(
        &mut s,
        &mut r,
        &format!("{refs}{}\r\n", auth(GIT_USER, "nope")),
    );
    assert_eq!(wrong.status, 401);
    let right = exchange(
        &mut s,
        &mut r,
        &format!("{refs}{}\r\n", auth(GIT_USER, GIT_PASSWORD)),
    );
    assert_eq!(right.status, 200);
    assert_eq!(
        http::header(&right.headers, "content-type"),
        Some("application/x-git-upload-pack-advertisement")
    );
    let advertised = String::from_utf8_lossy(&right.body).into_owned();
    assert!(
        advertised.starts_with("001e# service=git-upload-pack\n0000"),
        "{advertised}"
    );
    assert!(
        advertised.contains(&format!("{commit} refs/heads/main")),
        "{advertised}"
    );

    // A fetch of the commit (protocol v0), gzipped as the git CLI sends
    // its larger requests.
    let request = format!(
        "{}0000{}",
        pkt_line(&format!("want {commit}\n")),
        pkt_line("done\n")
    );
    let gzipped = registry::gzip(request.as_bytes());
    s.write_all(
        format!(
            "POST /repo.git/git-upload-pack HTTP/1.1\r\nHost: git.invalid\r\n{}\
             Content-Type: application/x-git-upload-pack-request\r\n\
             Content-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            auth(GIT_USER, GIT_PASSWORD),
            gzipped.len()
        )
        .as_bytes(),
    )
    .unwrap();
    s.write_all(&gzipped).unwrap();
    let pack = http::read_response(&mut r, false).unwrap();
    assert_eq!(pack.status, 200);
    assert_eq!(
        http::header(&pack.headers, "content-type"),
        Some("application/x-git-upload-pack-result")
    );
    assert!(pack.body.starts_with(b"0008NAK\n"), "{:?}", pack.body);
    assert!(pack.body.windows(4).any(|w| w == b"PACK"));

    let log: Vec<_> = server
        .requests()
        .into_iter()
        .map(|q| {
            (
                q.method,
                q.path,
                q.credentials,
                q.status,
                q.content_encoding,
                q.connection,
            )
        })
        .collect();
    let refs = |credentials, status| {
        (
            "GET".to_string(),
            "/repo.git/info/refs".to_string(),
            credentials,
            status,
            None,
            1,
        )
    };
    assert_eq!(
        log,
        [
            refs(Credentials::Missing, 401),
            refs(Credentials::Wrong, 401),
            refs(Credentials::Matched, 200),
            (
                "POST".into(),
                "/repo.git/git-upload-pack".into(),
                Credentials::Matched,
                200,
                Some("gzip".into()),
                1
            ),
        ]
    );
}

#[test]
fn host_cargo_fetches_over_http_with_libgit2_and_a_credential_helper() {
    let server = HttpGitServer::start(GIT_USER, GIT_PASSWORD, &git_crate());
    let home = GitHome::with_credential_store(&[server.credential_line()]);
    let ws = tempfile::tempdir().unwrap();
    git_url_workspace(ws.path(), &server.url());
    let cargo = http_git_cargo(ws.path(), &home);

    // libgit2 asks without credentials, is told 401, runs the helper
    // (`git credential-store --file … get`) and asks again with them, on
    // the same connection; protocol v0 (no Git-Protocol header).
    let fetch = cargo.run(&["fetch"], LIMIT);
    assert!(fetch.success(), "{}", fetch.show());
    assert_locked_from(ws.path(), &server.url(), &server);
    assert_challenged_then_authenticated(&server, true);
    let log = server.requests();
    assert!(log.iter().all(|q| q.git_protocol.is_none()), "{log:#?}");
    assert!(log.iter().all(|q| q.connection == 1), "{log:#?}");

    // Any `[http]` setting (here a timeout; a proxy or `http.cainfo`
    // alike) makes cargo give libgit2 its own curl transport, which never
    // sends credentials: cargo takes the 401 for a network failure (and
    // would try 3 more times, some 11 s).
    std::fs::remove_file(ws.path().join("Cargo.lock")).unwrap();
    let before = server.requests().len();
    let curl = cargo
        .with_env("CARGO_HTTP_TIMEOUT", "30")
        .with_env("CARGO_NET_RETRY", "0")
        .run(&["fetch"], LIMIT);
    assert_refused(
        &curl,
        &[
            "network failure seems to have happened",
            "failed to receive HTTP 200 response: got 401",
        ],
    );
    let log = &server.requests()[before..];
    assert!(
        !log.is_empty()
            && log.iter().all(|q| q.credentials == Credentials::Missing
                && q.status == 401
                && q.user_agent
                    .as_deref()
                    .unwrap_or_default()
                    .contains("git2-curl")),
        "{log:#?}"
    );
}

#[test]
fn host_cargo_fetches_over_http_with_the_git_cli_and_a_credential_helper() {
    let server = HttpGitServer::start(GIT_USER, GIT_PASSWORD, &git_crate());
    let home = GitHome::with_credential_store(&[server.credential_line()]);
    let ws = tempfile::tempdir().unwrap();
    git_url_workspace(ws.path(), &server.url());
    let cargo = http_git_cargo(ws.path(), &home).home_config(GIT_CLI);

    let fetch = cargo.run(&["fetch"], LIMIT);
    assert!(fetch.success(), "{}", fetch.show());
    assert_locked_from(ws.path(), &server.url(), &server);
    assert_challenged_then_authenticated(&server, false);
    // Protocol v2, on one kept-alive connection.
    let log = server.requests();
    assert!(
        log.iter()
            .all(|q| q.git_protocol.as_deref() == Some("version=2") && q.connection == 1),
        "{log:#?}"
    );
    // git stores the credentials that worked back (the file rewritten).
    assert!(
        home.credentials().contains(GIT_PASSWORD),
        "{}",
        home.credentials()
    );
}

#[test]
fn host_cargo_is_refused_over_http_without_the_credentials_at_once() {
    let server = HttpGitServer::start(GIT_USER, GIT_PASSWORD, &git_crate());
    let none = GitHome::empty();
    let wrong = GitHome::with_credential_store(&[server.credential_line_with("not-the-password")]);
    let ws = tempfile::tempdir().unwrap();
    git_url_workspace(ws.path(), &server.url());
    let origin = server.origin();
    let url = server.url();
    let expect = |f: &common::private::Finished, parts: &[&str]| {
        assert!(!f.success(), "{}", f.show());
        for part in parts {
            assert!(f.stderr.contains(part), "no {part:?} in:\n{}", f.show());
        }
        assert!(f.elapsed < QUICK, "{}", f.show());
    };
    let auth_failed = "failed to authenticate when downloading repository";
    let git_failed = "process didn't exit successfully: `git fetch";

    // libgit2, no helper: it asks once, is told 401, finds nothing.
    let f = http_git_cargo(ws.path(), &none).run(&["fetch"], LIMIT);
    expect(
        &f,
        &[
            auth_failed,
            "attempted to find username/password via git's `credential.helper` support, but failed",
            "failed to acquire username/password from local configuration",
        ],
    );
    // libgit2, a wrong password: refused once more, then given up on.
    let before = server.requests().len();
    let f = http_git_cargo(ws.path(), &wrong).run(&["fetch"], LIMIT);
    expect(
        &f,
        &[
            auth_failed,
            "attempted to find username/password via `credential.helper`, but maybe the found credentials were incorrect",
            "no authentication methods succeeded",
        ],
    );
    let tried: Vec<_> = server.requests()[before..]
        .iter()
        .map(|q| (q.credentials, q.status))
        .collect();
    assert_eq!(
        tried,
        [(Credentials::Missing, 401), (Credentials::Wrong, 401)]
    );

    // The git CLI (cargo would try it 3 more times, some 11 s): no
    // helper, prompts off.
    let cli = |home: &GitHome| {
        http_git_cargo(ws.path(), home)
            .home_config(GIT_CLI)
            .env("CARGO_NET_RETRY", "0")
    };
    let f = cli(&none).run(&["fetch"], LIMIT);
    expect(
        &f,
        &[
            &format!("fatal: could not read Username for '{origin}': terminal prompts disabled"),
            git_failed,
        ],
    );
    // No helper, prompts not turned off: no terminal to prompt on either,
    // as green-cross runs cargo.
    let f = http_git_cargo_prompting(ws.path(), &none)
        .home_config(GIT_CLI)
        .env("CARGO_NET_RETRY", "0")
        .run(&["fetch"], LIMIT);
    expect(
        &f,
        &[
            &format!("fatal: could not read Username for '{origin}': No such device or address"),
            git_failed,
        ],
    );
    // A wrong password: refused, and git erases it from the store.
    let f = cli(&wrong).run(&["fetch"], LIMIT);
    expect(
        &f,
        &[
            &format!("fatal: Authentication failed for '{url}/'"),
            git_failed,
        ],
    );
    assert!(!wrong.credentials().contains("not-the-password"));

    let log = server.requests();
    assert!(
        log.iter()
            .all(|q| q.credentials != Credentials::Matched && q.status == 401),
        "{log:#?}"
    );
}

#[test]
fn host_cargo_vendors_over_http_with_a_credential_helper() {
    let server = HttpGitServer::start(GIT_USER, GIT_PASSWORD, &git_crate());
    let home = GitHome::with_credential_store(&[server.credential_line()]);
    let ws = tempfile::tempdir().unwrap();
    git_url_workspace(ws.path(), &server.url());
    let cargo = http_git_cargo(ws.path(), &home);
    let lock = cargo.run(&["generate-lockfile"], LIMIT);
    assert!(lock.success(), "{}", lock.show());

    // As green-cross runs it.
    let vendor = cargo.run(
        &[
            "vendor",
            "--locked",
            "--versioned-dirs",
            "--respect-source-config",
            "vendor",
        ],
        LIMIT,
    );
    assert!(vendor.success(), "{}", vendor.show());
    assert_challenged_then_authenticated(&server, true);
    let vendored = ws.path().join("vendor/corp-git-lib-0.3.0");
    assert!(vendored.join("Cargo.toml").is_file(), "{}", vendor.show());
    for part in [
        format!("[source.\"git+{}\"]", server.url()),
        format!("git = \"{}\"", server.url()),
    ] {
        assert!(
            vendor.stdout.contains(&part),
            "no {part:?} in:\n{}",
            vendor.show()
        );
    }
    // The password is in nothing cargo wrote or printed.
    let mut scan = Scanner::new("green-cross-git-password-marker-");
    scan.bytes("vendor's stdout", vendor.stdout.as_bytes());
    scan.bytes("vendor's stderr", vendor.stderr.as_bytes());
    scan.dir(ws.path(), &|_| false);
    assert!(scan.places > 4 && scan.found.is_empty(), "{:?}", scan.found);

    // With the source replaced as `cargo vendor` says, the workspace builds
    // with the server gone and no credentials.
    drop(server);
    let config = ws.path().join(".cargo/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, &vendor.stdout).unwrap();
    std::fs::write(
        ws.path().join("src/lib.rs"),
        "pub fn total() -> u32 { corp_git_lib::answer() }\n",
    )
    .unwrap();
    let check = HostCargo::new(ws.path()).run(&["check", "--offline", "--locked"], LIMIT);
    assert!(check.success(), "{}", check.show());
}

#[test]
fn host_cargo_fetches_over_https_with_the_servers_ca() {
    let server = HttpGitServer::start_https(GIT_USER, GIT_PASSWORD, &git_crate());
    let ca = server.ca_file().unwrap().to_path_buf();
    let url = server.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let home = GitHome::with_credential_store(&[server.credential_line()]);
    let ws = tempfile::tempdir().unwrap();
    git_url_workspace(ws.path(), &url);
    let cargo = http_git_cargo(ws.path(), &home).env("CARGO_NET_RETRY", "0");
    let cli = cargo.clone().home_config(GIT_CLI);

    // The git CLI, trusting the CA by git's own setting.
    let fetch = cli.with_env("GIT_SSL_CAINFO", &ca).run(&["fetch"], LIMIT);
    assert!(fetch.success(), "{}", fetch.show());
    assert_locked_from(ws.path(), &url, &server);
    assert_challenged_then_authenticated(&server, false);
    std::fs::remove_file(ws.path().join("Cargo.lock")).unwrap();
    let before = server.requests().len();

    // cargo's `http.cainfo` is not handed to git.
    let f = cli
        .with_env("CARGO_HTTP_CAINFO", &ca)
        .run(&["fetch"], LIMIT);
    assert!(!f.success(), "{}", f.show());
    assert!(
        f.stderr.contains("server certificate verification failed"),
        "{}",
        f.show()
    );
    // libgit2 with `http.cainfo`: curl's transport, no credentials (as in
    // the http test).
    let f = cargo
        .with_env("CARGO_HTTP_CAINFO", &ca)
        .run(&["fetch"], LIMIT);
    assert!(!f.success(), "{}", f.show());
    assert!(
        f.stderr
            .contains("failed to receive HTTP 200 response: got 401"),
        "{}",
        f.show()
    );
    // libgit2's own TLS (OpenSSL's SSL_CERT_FILE): it does not take the
    // certificate's IP address for 127.0.0.1 …
    let f = cargo.with_env("SSL_CERT_FILE", &ca).run(&["fetch"], LIMIT);
    assert!(!f.success(), "{}", f.show());
    assert!(
        f.stderr.contains("hostname does not match certificate"),
        "{}",
        f.show()
    );
    let log = &server.requests()[before..];
    assert!(
        log.iter().all(|q| q.credentials == Credentials::Missing),
        "{log:#?}"
    );

    // … but matches its name, localhost, and fetches with the helper's
    // credentials.
    let by_name = url.replace("127.0.0.1", "localhost");
    let home = GitHome::with_credential_store(&[server
        .credential_line()
        .replace("127.0.0.1", "localhost")]);
    let ws = tempfile::tempdir().unwrap();
    git_url_workspace(ws.path(), &by_name);
    let fetch = http_git_cargo(ws.path(), &home)
        .env("SSL_CERT_FILE", &ca)
        .run(&["fetch"], LIMIT);
    assert!(fetch.success(), "{}", fetch.show());
    assert_locked_from(ws.path(), &by_name, &server);
    let log = &server.requests()[before..];
    assert!(
        log.iter().any(|q| q.credentials == Credentials::Matched
            && q.user_agent
                .as_deref()
                .unwrap_or_default()
                .contains("libgit2")),
        "{log:#?}"
    );
}
