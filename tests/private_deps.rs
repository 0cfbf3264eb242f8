//! Private dependencies (issue 14), end to end: a workspace depending on a
//! crate from a private sparse registry (a token on every request) and on
//! a git repository over ssh (the key in an agent), built for two targets
//! on a real engine with the shared cache exported to the registry and to
//! a local directory, through a proxy that wants a password (the only way
//! to the registry, whose name only the proxy knows, and the build's way
//! to crates.io); then a marker placed in every secret (the ssh key's
//! comment, the registry's token, the CA bundle, the proxy's password) and
//! in the private crate's source is looked for everywhere the builds left
//! something.
//!
//! Needs the engine, base image and registry of ci/setup-engine.sh; `cargo
//! test` skips these as ignored, ci/test.sh runs them.
// The harness reads its own settings (GREEN_CROSS_E2E_*) from the
// process environment; green-cross itself is handed an Env.
#![allow(clippy::disallowed_methods)]

mod common;

use common::private::proxy::{Credentials, ForwardProxy};
use common::private::registry::PrivateRegistry;
use common::private::scan::{self, Scanner};
use common::private::ssh_git::SshGitServer;
use common::private::{HostCargo, TestCrate};
use common::{green_cross_command, show};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const TARGETS: [&str; 2] = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

fn registry() -> String {
    std::env::var("GREEN_CROSS_E2E_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".into())
}

/// What every marker starts with.
const PREFIX: &str = "gcmark-";

/// A string no build would hold by chance, different on every run (the
/// registry keeps what earlier runs pushed).
fn marker(what: &str) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "gcmark-{what}-{:x}{:x}",
        std::process::id(),
        t % 0xffff_ffff
    )
}

/// The secrets and the private source, each with its marker.
struct Markers {
    key: String,
    token: String,
    ca: String,
    proxy: String,
    source: String,
}

impl Markers {
    fn new() -> Markers {
        Markers {
            key: marker("sshkey"),
            token: marker("token"),
            ca: marker("cabundle"),
            proxy: marker("proxypass"),
            source: marker("source"),
        }
    }

    fn secrets(&self) -> [&str; 4] {
        [&self.key, &self.token, &self.ca, &self.proxy]
    }
}

/// The private sources and a workspace using them, with what green-cross
/// needs to reach them: a CARGO_HOME whose config.toml names the registry
/// and the git server's host key, the token's variable, the agent.
struct Private {
    registry: PrivateRegistry,
    proxy: ForwardProxy,
    git: SshGitServer,
    home: tempfile::TempDir,
    ws: tempfile::TempDir,
    ca: PathBuf,
}

/// The private crate: its marker in a comment (source only) and in a
/// constant the program does not use (in its compiled library, not in the
/// program).
fn corp_lib(m: &Markers) -> TestCrate {
    TestCrate::new(
        "corp-lib",
        "0.1.0",
        &format!(
            "// {src}\npub const UNUSED: &str = \"{src}-compiled\";\npub fn sum() -> u32 {{ 6 }}\n",
            src = m.source
        ),
    )
}

impl Private {
    fn start(m: &Markers) -> Private {
        let registry = PrivateRegistry::start_as(&m.token, &[corp_lib(m)], Some(REGISTRY_URL));
        let proxy = ForwardProxy::start_on(
            bridge_address(),
            "corp",
            &m.proxy,
            &[("corp-registry.invalid", registry.addr())],
        );
        let git = SshGitServer::start(
            &m.key,
            &TestCrate::new("tool", "0.1.0", "pub fn tool() -> u32 { 40 }\n"),
        );
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join("config.toml"),
            format!(
                "{}{}",
                registry.cargo_config("corp"),
                git.cargo_known_hosts()
            ),
        )
        .unwrap();
        let ws = tempfile::tempdir().unwrap();
        write_app(ws.path(), &git.url());
        let ca = home.path().join("ca-with-marker.pem");
        let system = std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt").unwrap();
        std::fs::write(&ca, format!("# {}\n{system}", m.ca)).unwrap();
        let p = Private {
            registry,
            proxy,
            git,
            home,
            ws,
            ca,
        };
        let lock = p
            .host_cargo()
            .run(&["generate-lockfile"], Duration::from_secs(120));
        assert!(lock.success(), "{}", lock.show());
        p
    }

    /// The host's cargo as the user would run it (for the lockfile).
    fn host_cargo(&self) -> HostCargo {
        HostCargo::new(self.ws.path())
            .home_config(&std::fs::read_to_string(self.home.path().join("config.toml")).unwrap())
            .env(
                &PrivateRegistry::token_variable("corp"),
                self.registry.token(),
            )
            .env("SSH_AUTH_SOCK", self.git.agent_sock())
            .env("http_proxy", self.proxy.url())
            .env("HTTPS_PROXY", self.proxy.url())
    }

    /// green-cross in the workspace with the user's credentials.
    fn green_cross(&self, args: &[&str]) -> Command {
        let mut c = green_cross_command(self.ws.path(), args);
        c.env("CARGO_HOME", self.home.path())
            .env(
                PrivateRegistry::token_variable("corp"),
                self.registry.token(),
            )
            .env("SSH_AUTH_SOCK", self.git.agent_sock())
            .env("GREEN_CROSS_CA_BUNDLE", &self.ca)
            .env("http_proxy", self.proxy.url())
            .env("HTTPS_PROXY", self.proxy.url())
            .env_remove("GREEN_CROSS_CACHE");
        c
    }
}

/// The registry's address as cargo is told it: a name only the proxy knows.
const REGISTRY_URL: &str = "http://corp-registry.invalid";

/// The docker bridge's address on this machine: a build's containers reach
/// this machine there (their 127.0.0.1 is their own), so the proxy, to be
/// the build's way out too, listens there rather than on the loopback. It
/// is an address of this machine's own bridge, reachable from nowhere else.
fn bridge_address() -> std::net::IpAddr {
    let o = Command::new("docker")
        .args([
            "network",
            "inspect",
            "bridge",
            "--format",
            "{{(index .IPAM.Config 0).Gateway}}",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("the docker bridge's gateway: {}", show(&o)))
}

/// A binary `app` using the private crates and one from crates.io.
fn write_app(dir: &Path, git_url: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ncorp-lib = {{ version = \"0.1\", registry = \"corp\" }}\ntool = {{ git = \"{git_url}\" }}\ncfg-if = \"1\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        "fn main() {\n    cfg_if::cfg_if! { if #[cfg(unix)] { let os = \"unix\"; } else { let os = \"other\"; } }\n    println!(\"private {} {} on {os}\", corp_lib::sum(), tool::tool());\n}\n",
    )
    .unwrap();
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", show(&o));
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The two programs run: natively and under qemu-user.
fn assert_programs_run(ws: &Path) {
    for t in TARGETS {
        assert_program_prints(ws, t, "private 6 40 on unix");
    }
}

/// `triple`'s program (x86_64 natively, aarch64 under qemu-user) prints
/// `line`.
fn assert_program_prints(ws: &Path, triple: &str, line: &str) {
    let bin = ws.join(format!("target/{triple}/debug/app"));
    let bin = bin.to_str().unwrap();
    let (ran, out) = match triple {
        "aarch64-unknown-linux-gnu" => common::run(
            "qemu-aarch64-static",
            &["-L", "/usr/aarch64-linux-gnu", bin],
        ),
        _ => common::run(bin, &[]),
    };
    assert!(ran && out.contains(line), "{triple}: {out}");
}

/// A Cross.toml of the user's own at `path` (outside the workspace: a
/// repository's cannot name a directory elsewhere) that exports the cache
/// to the directory `dest`, with `extra` lines in its `[build]` table.
fn write_local_cache_config(path: &Path, extra: &str, dest: &Path) {
    std::fs::write(
        path,
        format!(
            "[build]\n{extra}cache-to = [\"type=local,dest={},mode=max\"]\n",
            dest.display()
        ),
    )
    .unwrap();
}

/// The proxy carried the host's fetch from the registry (by a name only it
/// resolves) and the build's own fetch from crates.io (a tunnel asked for
/// by a container, from an address other than this machine's), each with
/// the password.
fn assert_the_proxy_was_the_way_out(proxy: &ForwardProxy) {
    let log = proxy.requests();
    let ok = |r: &&common::private::proxy::ProxyRequest| {
        r.credentials == Credentials::Matched && r.status == 200
    };
    assert!(
        log.iter()
            .filter(ok)
            .any(|r| r.authority.starts_with("corp-registry.invalid")),
        "{log:#?}"
    );
    let this_machine = bridge_address();
    assert!(
        log.iter().filter(ok).any(|r| r.method == "CONNECT"
            && r.target.contains("crates.io")
            && r.peer.is_some_and(|a| a.ip() != this_machine)),
        "a build step's fetch went through the proxy: {log:#?}"
    );
}

/// What a build leaves on the host that is not the vendored sources (which
/// are the host's copy, as cargo's own registry cache is): the logs and
/// fingerprints under target/green-cross.
fn scan_host_records(s: &mut Scanner, ws: &Path) {
    let vendor = ws.join("target/green-cross/vendor");
    s.dir(&ws.join("target/green-cross"), &|p| p.starts_with(&vendor));
}

/// Every image a green-cross build loaded, saved.
/// The images green-cross has loaded into the engine (its label), as
/// `name:tag@id`.
fn labelled_images() -> std::collections::BTreeSet<String> {
    let o = Command::new("docker")
        .args([
            "image",
            "ls",
            "--filter",
            "label=dev.green-cross.image",
            "--format",
            "{{.Repository}}:{{.Tag}}@{{.ID}}",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.contains("<none>"))
        .map(String::from)
        .collect()
}

/// `docker save` of every image loaded since `before` (this test's, not
/// those other tests left in the engine), scanned; how many.
fn scan_loaded_images(s: &mut Scanner, before: &std::collections::BTreeSet<String>) -> usize {
    let images: Vec<String> = labelled_images().difference(before).cloned().collect();
    for i in &images {
        let name = i.split('@').next().unwrap();
        s.command(
            &format!("docker save {name}"),
            Command::new("docker").args(["save", name]),
        );
    }
    images.len()
}

#[test]
#[ignore = "needs a Docker engine and ci/setup-engine.sh's registry"]
fn private_git_and_registry_dependencies_build_and_no_secret_reaches_a_layer_a_cache_or_a_log() {
    let m = Markers::new();
    let p = Private::start(&m);
    let images_before = labelled_images();
    let repo = format!("green-cross-e2e/private-{}", std::process::id());
    let cache = format!("{}/{repo}", registry());
    let mut s = Scanner::new(PREFIX);
    let mut build = vec!["build", "-v", "--cache", &cache];
    for t in TARGETS {
        build.extend(["--target", t]);
    }
    let out = ok(p.green_cross(&build).output().unwrap());
    s.bytes("the build's output", out.as_bytes());
    assert_programs_run(p.ws.path());
    // `run` loads a runner image (the dependencies stage and qemu-user)
    // into the engine: it is saved and scanned below.
    let out = ok(p
        .green_cross(&["run", "--target", TARGETS[1]])
        .output()
        .unwrap());
    assert!(out.contains("private 6 40 on unix"), "{out}");
    s.bytes("run's output", out.as_bytes());
    // The registry saw the host's cargo with the token, through the proxy.
    assert!(
        p.registry
            .requests()
            .iter()
            .any(|r| r.path.contains("download"))
    );
    assert_the_proxy_was_the_way_out(&p.proxy);
    // The git dependency moves to a new commit of the same version and
    // size; the next build compiles that commit.
    p.git.commit_lib("pub fn tool() -> u32 { 41 }\n");
    let up = p
        .host_cargo()
        .run(&["update", "-p", "tool"], Duration::from_secs(120));
    assert!(up.success(), "{}", up.show());
    // The same again into a local cache directory (the fingerprint would
    // skip a build that nothing changed), from the user's own
    // configuration outside the workspace: a repository's cannot name a
    // directory elsewhere.
    let local = tempfile::tempdir().unwrap();
    let mine = p.home.path().join("Cross.toml");
    write_local_cache_config(&mine, "", local.path());
    // (One target from here on: the first build showed both.)
    let again = vec!["build", "-v", "--target", TARGETS[0]];
    // This time cargo fetches git with the git CLI, from a new cargo home
    // (the first one holds the commit already): git's ssh with the agent,
    // the host key from its own known_hosts file, never a prompt; and the
    // registry's token comes from that home's credentials.toml.
    let home2 = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(p.home.path().join("config.toml")).unwrap();
    std::fs::write(
        home2.path().join("config.toml"),
        format!("{config}[net]\ngit-fetch-with-cli = true\n"),
    )
    .unwrap();
    std::fs::write(
        home2.path().join("credentials.toml"),
        format!("[registries.corp]\ntoken = \"{}\"\n", m.token),
    )
    .unwrap();
    let accepted = p.git.accepted_keys().len();
    let out = ok(p
        .green_cross(&again)
        .env("CARGO_HOME", home2.path())
        .env_remove(PrivateRegistry::token_variable("corp"))
        .env("GREEN_CROSS_FINGERPRINT", "0")
        .env("CROSS_CONFIG", &mine)
        .env("GIT_SSH_COMMAND", p.git.git_ssh_command())
        .output()
        .unwrap());
    assert!(
        p.git.accepted_keys().len() > accepted,
        "git's ssh logged in again"
    );
    s.bytes("the second build's output", out.as_bytes());
    assert_program_prints(p.ws.path(), TARGETS[0], "private 6 41 on unix");
    for args in [&["dockerfile"][..], &["plan", "--json"][..]] {
        let mut a = args.to_vec();
        for t in TARGETS {
            a.extend(["--target", t]);
        }
        let out = ok(p.green_cross(&a).output().unwrap());
        s.bytes(&format!("green-cross {}", args.join(" ")), out.as_bytes());
    }
    // With cache-private-deps, into a cache directory of its own.
    let cached_dir = tempfile::tempdir().unwrap();
    let theirs = p.home.path().join("Cross-cached.toml");
    write_local_cache_config(&theirs, "cache-private-deps = true\n", cached_dir.path());
    let out = ok(p
        .green_cross(&again)
        .env("GREEN_CROSS_FINGERPRINT", "0")
        .env("CROSS_CONFIG", &theirs)
        .output()
        .unwrap());
    s.bytes("the third build's output", out.as_bytes());
    scan_host_records(&mut s, p.ws.path());
    let blobs = scan::registry_repository(&mut s, &registry(), &repo);
    assert!(blobs > 0, "the registry holds the exported cache");
    s.dir(local.path(), &|_| false);
    let images = scan_loaded_images(&mut s, &images_before);
    assert!(images > 0, "run loaded its runner image");
    let compiled = format!("{}-compiled", m.source);
    for m in m
        .secrets()
        .into_iter()
        .chain([m.source.as_str(), compiled.as_str()])
    {
        assert_eq!(
            s.count(m),
            0,
            "{m} found in {} places: {:#?}",
            s.places,
            s.found
        );
    }
    // The key's documented effect: the compiled private crate (its unused
    // constant) is in that cache, its source file still nowhere.
    s.dir(cached_dir.path(), &|_| false);
    let places = s.found.get(&compiled).cloned().unwrap_or_default();
    let cached_place = cached_dir.path().display().to_string();
    assert!(
        !places.is_empty() && places.iter().all(|p| p.starts_with(&cached_place)),
        "{compiled} in: {places:#?}"
    );
    assert_eq!(s.count(&m.source), 0, "{:#?}", s.found);
    eprintln!(
        "looked in {} places ({images} images); markers found: {:?}",
        s.places,
        s.found.keys().collect::<Vec<_>>()
    );
}

/// green-cross's error: exit 101 within `limit`, nothing prompted for (no
/// terminal, stdin closed); its stderr.
fn fails_quickly(mut c: Command, limit: Duration) -> String {
    let started = std::time::Instant::now();
    let o = c.stdin(std::process::Stdio::null()).output().unwrap();
    let took = started.elapsed();
    assert_eq!(o.status.code(), Some(101), "{}", show(&o));
    assert!(took < limit, "took {took:?}: {}", show(&o));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
#[ignore = "needs a Docker engine (green-cross detects it before fetching)"]
fn without_the_agent_the_git_fetch_fails_at_once_with_what_to_do() {
    let m = Markers::new();
    let p = Private::start(&m);
    let mut c = p.green_cross(&["build", "--target", TARGETS[0]]);
    c.env_remove("SSH_AUTH_SOCK").env("CARGO_NET_RETRY", "0");
    let err = fails_quickly(c, Duration::from_secs(30));
    assert!(
        err.contains("could not fetch the private dependencies"),
        "{err}"
    );
    assert!(
        err.contains("failed to authenticate"),
        "cargo's own error: {err}"
    );
    assert!(err.contains("help: start an ssh agent"), "{err}");
    assert_eq!(err.matches(m.key.as_str()).count(), 0, "{err}");
    // Nothing half-made is left for the next build to trust.
    assert!(
        !p.ws
            .path()
            .join("target/green-cross/vendor/context")
            .exists()
    );
}

#[test]
#[ignore = "needs a Docker engine (green-cross detects it before fetching)"]
fn a_wrong_token_gives_cargo_s_error_and_the_help_line() {
    let m = Markers::new();
    let p = Private::start(&m);
    let mut c = p.green_cross(&["build", "--target", TARGETS[0]]);
    c.env(PrivateRegistry::token_variable("corp"), "not-the-token");
    let err = fails_quickly(c, Duration::from_secs(30));
    assert!(
        err.contains("token rejected for `corp`"),
        "cargo's own error: {err}"
    );
    assert!(
        err.contains("help: give cargo the registry's token"),
        "{err}"
    );
    assert!(!err.contains(m.token.as_str()), "{err}");
}

/// The user's own crates.io replacement (here a vendored directory outside
/// the workspace, named in their cargo configuration), which the build
/// cannot see: crates.io's packages come from the host's cargo then too.
/// The vendored `cfg-if` is changed (its checksum file with it), so the
/// program builds only from that copy.
#[test]
#[ignore = "needs a Docker engine and ci/setup-engine.sh's base image"]
fn a_crates_io_replacement_of_the_user_s_is_what_the_build_uses() {
    let home = tempfile::tempdir().unwrap();
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join("src")).unwrap();
    std::fs::write(
        ws.path().join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ncfg-if = \"1\"\n",
    )
    .unwrap();
    std::fs::write(
        ws.path().join("src/main.rs"),
        "fn main() { println!(\"{}\", cfg_if::MIRRORED); }\n",
    )
    .unwrap();
    let host = HostCargo::new(ws.path());
    let vendored = home.path().join("vendored");
    for args in [
        &["generate-lockfile"][..],
        &["vendor", "--locked", vendored.to_str().unwrap()][..],
    ] {
        let o = host.run(args, Duration::from_secs(120));
        assert!(o.success(), "{}", o.show());
    }
    mark_vendored_crate(&vendored.join("cfg-if"));
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "[source.crates-io]\nreplace-with = \"mine\"\n\n[source.mine]\ndirectory = \"{}\"\n",
            vendored.display()
        ),
    )
    .unwrap();
    let o = green_cross_command(ws.path(), &["build", "--target", TARGETS[0]])
        .env("CARGO_HOME", home.path())
        .output()
        .unwrap();
    ok(o);
    let bin = ws.path().join("target/x86_64-unknown-linux-gnu/debug/app");
    let (ran, out) = common::run(bin.to_str().unwrap(), &[]);
    assert!(ran && out.contains("from the user's own source"), "{out}");
}

/// A constant added to a vendored crate's library, and its file checksum
/// brought up to date (cargo checks each file of a directory source).
fn mark_vendored_crate(dir: &Path) {
    use sha2::{Digest, Sha256};
    let lib = dir.join("src/lib.rs");
    let mut text = std::fs::read_to_string(&lib).unwrap();
    text.push_str("\npub const MIRRORED: &str = \"from the user's own source\";\n");
    std::fs::write(&lib, &text).unwrap();
    let sums = dir.join(".cargo-checksum.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sums).unwrap()).unwrap();
    json["files"]["src/lib.rs"] = common::private::hex(&Sha256::digest(text.as_bytes())).into();
    std::fs::write(&sums, json.to_string()).unwrap();
}

/// A git dependency over http with Basic credentials, which cargo gets
/// from git's credential helper (a HOME of the test's own whose .gitconfig
/// names a store); without them, a quick error with what to do. The
/// password is a marker found in nothing green-cross prints or writes.
#[test]
#[ignore = "needs a Docker engine and ci/setup-engine.sh's base image"]
fn a_git_dependency_over_http_takes_its_credentials_from_git_s_helper() {
    use common::private::http_git::{GitHome, HttpGitServer};
    let password = marker("httppass");
    let server = HttpGitServer::start(
        "corp",
        &password,
        &TestCrate::new("webtool", "0.1.0", "pub fn web() -> u32 { 7 }\n"),
    );
    let git_home = GitHome::with_credential_store(&[server.credential_line()]);
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join("src")).unwrap();
    std::fs::write(
        ws.path().join("Cargo.toml"),
        format!(
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nwebtool = {{ git = \"{}\" }}\n",
            server.url()
        ),
    )
    .unwrap();
    std::fs::write(
        ws.path().join("src/main.rs"),
        "fn main() { println!(\"web {}\", webtool::web()); }\n",
    )
    .unwrap();
    let lock = HostCargo::new(ws.path())
        .env("HOME", git_home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .run(&["generate-lockfile"], Duration::from_secs(60));
    assert!(lock.success(), "{}", lock.show());
    // The user's HOME, as git sees it; docker keeps its own configuration.
    let docker_config = Path::new(&std::env::var("HOME").unwrap()).join(".docker");
    let green_cross = |home: &Path| {
        let cargo_home = tempfile::tempdir().unwrap();
        let mut c = green_cross_command(ws.path(), &["build", "-v", "--target", TARGETS[0]]);
        c.env("HOME", home)
            .env("DOCKER_CONFIG", &docker_config)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("CARGO_HOME", cargo_home.path());
        (c, cargo_home)
    };
    let no_credentials = GitHome::empty();
    let (c, _h) = green_cross(no_credentials.path());
    let err = fails_quickly(c, Duration::from_secs(30));
    assert!(
        err.contains("credential.helper"),
        "cargo's own error: {err}"
    );
    assert!(
        err.contains("help: give git the repository's credentials"),
        "{err}"
    );
    let (mut c, _h) = green_cross(git_home.path());
    let out = ok(c.output().unwrap());
    let bin = ws.path().join("target/x86_64-unknown-linux-gnu/debug/app");
    let (ran, said) = common::run(bin.to_str().unwrap(), &[]);
    assert!(ran && said.contains("web 7"), "{said}");
    let mut s = Scanner::new(PREFIX);
    s.bytes("the build's output", out.as_bytes());
    scan_host_records(&mut s, ws.path());
    assert_eq!(s.count(&password), 0, "{:#?}", s.found);
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.credentials == Credentials::Matched),
        "the server saw the credentials"
    );
}
