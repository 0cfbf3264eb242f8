//! Private dependencies (issue 14), end to end: a workspace depending on a
//! crate from a private sparse registry (a token on every request) and on
//! a git repository over ssh (the key in an agent), built for two targets
//! on a real engine with the shared cache exported to the registry and to
//! a local directory; then a marker placed in every secret (the ssh key's
//! comment, the registry's token, the CA bundle) and in the private
//! crate's source is looked for everywhere the builds left something.
//!
//! Needs the engine, base image and registry of ci/setup-engine.sh; `cargo
//! test` skips these as ignored, ci/test.sh runs them.
// The harness reads its own settings (GREEN_CROSS_E2E_*) from the
// process environment; green-cross itself is handed an Env.
#![allow(clippy::disallowed_methods)]

mod common;

use common::private::registry::PrivateRegistry;
use common::private::ssh_git::SshGitServer;
use common::private::{HostCargo, TestCrate, scan};
use common::{green_cross_command, show};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const TARGETS: [&str; 2] = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

fn registry() -> String {
    std::env::var("GREEN_CROSS_E2E_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".into())
}

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
    source: String,
}

impl Markers {
    fn new() -> Markers {
        Markers {
            key: marker("sshkey"),
            token: marker("token"),
            ca: marker("cabundle"),
            source: marker("source"),
        }
    }

    fn secrets(&self) -> [&str; 3] {
        [&self.key, &self.token, &self.ca]
    }
}

/// The private sources and a workspace using them, with what green-cross
/// needs to reach them: a CARGO_HOME whose config.toml names the registry
/// and the git server's host key, the token's variable, the agent.
struct Private {
    registry: PrivateRegistry,
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
        let registry = PrivateRegistry::start(&m.token, &[corp_lib(m)]);
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
            .env_remove("GREEN_CROSS_CACHE");
        c
    }
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
    let x86 = ws.join("target/x86_64-unknown-linux-gnu/debug/app");
    let (ran, out) = common::run(x86.to_str().unwrap(), &[]);
    assert!(ran && out.contains("private 6 40 on unix"), "{out}");
    let arm = ws.join("target/aarch64-unknown-linux-gnu/debug/app");
    let (ran, out) = common::run(
        "qemu-aarch64-static",
        &["-L", "/usr/aarch64-linux-gnu", arm.to_str().unwrap()],
    );
    assert!(ran && out.contains("private 6 40 on unix"), "{out}");
}

/// How often each marker occurs in each of `places`; the places where
/// one does, for the message.
fn found(places: &[(String, Vec<u8>)], markers: &[&str]) -> Vec<String> {
    let mut out = vec![];
    for (name, bytes) in places {
        for m in markers {
            let n = scan::count(bytes, m);
            if n > 0 {
                out.push(format!("{m} {n}x in {name}"));
            }
        }
    }
    out
}

/// What a build leaves on the host that is not the vendored sources (which
/// are the host's copy, as cargo's own registry cache is): the logs and
/// fingerprints under target/green-cross.
fn host_records(ws: &Path) -> Vec<(String, Vec<u8>)> {
    let dir = ws.join("target/green-cross");
    scan::files_below(&dir)
        .into_iter()
        .filter(|(p, _)| !Path::new(p).starts_with(dir.join("vendor")))
        .collect()
}

/// Every image a green-cross build loaded, saved.
fn loaded_images() -> Vec<(String, Vec<u8>)> {
    let o = Command::new("docker")
        .args([
            "image",
            "ls",
            "--filter",
            "label=dev.green-cross.image",
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.contains("<none>"))
        .map(|i| (format!("docker save {i}"), scan::docker_save(i)))
        .collect()
}

#[test]
#[ignore = "needs a Docker engine and ci/setup-engine.sh's registry"]
fn private_git_and_registry_dependencies_build_and_no_secret_reaches_a_layer_a_cache_or_a_log() {
    let m = Markers::new();
    let p = Private::start(&m);
    let repo = format!("green-cross-e2e/private-{}", std::process::id());
    let cache = format!("{}/{repo}", registry());
    let mut places: Vec<(String, Vec<u8>)> = vec![];
    let mut build = vec!["build", "-v", "--cache", &cache];
    for t in TARGETS {
        build.extend(["--target", t]);
    }
    let out = ok(p.green_cross(&build).output().unwrap());
    places.push(("the build's output".into(), out.into_bytes()));
    assert_programs_run(p.ws.path());
    // The registry saw the host's cargo with the token, never the engine.
    assert!(
        p.registry
            .requests()
            .iter()
            .any(|r| r.path.contains("download"))
    );
    // The same again into a local cache directory (the fingerprint would
    // skip a build that nothing changed).
    // (The user's own configuration, outside the workspace: a repository's
    // cannot name a directory elsewhere.)
    let local = tempfile::tempdir().unwrap();
    let mine = p.home.path().join("Cross.toml");
    std::fs::write(
        &mine,
        format!(
            "[build]\ncache-to = [\"type=local,dest={},mode=max\"]\n",
            local.path().display()
        ),
    )
    .unwrap();
    let mut again = build.clone();
    again.retain(|a| *a != "--cache" && *a != cache.as_str());
    let out = ok(p
        .green_cross(&again)
        .env("GREEN_CROSS_FINGERPRINT", "0")
        .env("CROSS_CONFIG", &mine)
        .output()
        .unwrap());
    places.push(("the second build's output".into(), out.into_bytes()));
    for args in [&["dockerfile"][..], &["plan", "--json"][..]] {
        let mut a = args.to_vec();
        for t in TARGETS {
            a.extend(["--target", t]);
        }
        let out = ok(p.green_cross(&a).output().unwrap());
        places.push((format!("green-cross {}", args.join(" ")), out.into_bytes()));
    }
    places.extend(host_records(p.ws.path()));
    places.extend(scan::registry_repository(&registry(), &repo));
    places.extend(scan::files_below(local.path()));
    places.extend(loaded_images());
    let mut all: Vec<&str> = m.secrets().to_vec();
    all.push(&m.source);
    let leaks = found(&places, &all);
    assert!(
        leaks.is_empty(),
        "found in {} places: {leaks:#?}",
        places.len()
    );
    assert!(
        places.iter().any(|(n, _)| n.contains("@sha256")),
        "the registry holds the exported cache"
    );
}
