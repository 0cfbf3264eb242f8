//! End-to-end: the shared build cache. A real build pushes its layers to a
//! real registry (or writes them to a local directory), the builder's own
//! cache is pruned, and the rebuild imports them: the dependencies are not
//! compiled again, only the workspace's crates.
//!
//! Needs a Docker engine with the containerd image store, the base image
//! and the registry that ci/setup-engine.sh sets up (GREEN_CROSS_E2E_REGISTRY,
//! default 127.0.0.1:5000). `cargo test` skips it as ignored; `ci/test.sh`
//! runs it. It prunes the builder's cache, so it lives in a test binary of
//! its own, which cargo runs after the other end-to-end tests.
// The harness reads its own settings (GREEN_CROSS_E2E_*) from the
// process environment; green-cross itself is handed an Env.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{fixture, fixture_copy_of, green_cross_command, show};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

const TARGET: &str = "x86_64-unknown-linux-gnu";

fn registry() -> String {
    std::env::var("GREEN_CROSS_E2E_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".into())
}

fn green_cross(dir: &Path, args: &[&str]) -> Output {
    green_cross_env(dir, args, &[])
}

fn green_cross_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    green_cross_command(dir, args)
        .env_remove("GREEN_CROSS_CACHE")
        .env_remove("GITHUB_HEAD_REF")
        .env_remove("GITHUB_REF_NAME")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// The registry's tags of a repository, over its HTTP API.
fn tags(registry: &str, repo: &str) -> String {
    let mut s = std::net::TcpStream::connect(registry).expect("the registry answers");
    write!(
        s,
        "GET /v2/{repo}/tags/list HTTP/1.0\r\nHost: {registry}\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

/// cargo's `Compiling` lines.
fn compiled(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Compiling "))
        .map(str::to_string)
        .collect()
}

fn runs(ws: &Path) {
    let bin = ws.join(format!("target/{TARGET}/debug/hello-cross"));
    let o = Command::new(&bin).output().unwrap();
    assert!(o.status.success(), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).starts_with("hello from x86_64-linux"),
        "{}",
        show(&o)
    );
}

#[test]
#[ignore = "needs a Docker engine and a registry: run ci/test.sh"]
fn a_fresh_builder_imports_compiled_dependencies_from_the_registry() {
    let ws = fixture_copy_of(&fixture());
    let registry = registry();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    // A repository no earlier run has written.
    let repo = format!("green-cross-e2e/cache-{nanos}");
    let cache = format!("{registry}/{repo}");

    // 1. A real build exports its layers.
    let o = green_cross(ws.path(), &["build", "--target", TARGET, "--cache", &cache]);
    assert!(o.status.success(), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains("exporting cache") && !err.contains("cache could not"),
        "{}",
        show(&o)
    );
    let listed = tags(&registry, &repo);
    assert!(
        listed.contains(&format!("\"{TARGET}-distro-")),
        "no tag for {TARGET} in {repo}: {listed}"
    );
    runs(ws.path());

    // 2. A registry that refuses: the build succeeds and says what was
    // not cached.
    let o = green_cross(
        ws.path(),
        &[
            "build",
            "--target",
            TARGET,
            "--cache",
            "127.0.0.1:9/nowhere",
        ],
    );
    assert!(o.status.success(), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("warning: exporting cache to registry failed"),
        "{}",
        show(&o)
    );
    assert!(
        err.contains("warning: the build cache could not be read from 127.0.0.1:9/nowhere"),
        "{}",
        show(&o)
    );

    // 3. and 4.: a fresh builder, a changed workspace, a rebuild that
    // compiles only the workspace's crates.
    prune_change_and_rebuild(
        ws.path(),
        &["build", "--target", TARGET, "--cache", &cache],
        &[],
        nanos,
    );
    let log = std::fs::read_to_string(ws.path().join("target/green-cross/last-build.log")).unwrap();
    assert!(
        log.contains(&format!("importing cache manifest from {cache}:")),
        "{log}"
    );
    runs(ws.path());
}

/// A fresh builder (its cache, cache mounts included, pruned) and a change
/// to the workspace, as a teammate's would be (unchanged sources would come
/// back whole from the cache, build step included); then the rebuild must
/// import the dependencies: only the workspace's own crates (the ones cargo
/// shows with their path) compile.
fn prune_change_and_rebuild(ws: &Path, args: &[&str], env: &[(&str, &str)], nanos: u128) {
    let p = Command::new("docker")
        .args(["buildx", "prune", "-af"])
        .output()
        .unwrap();
    assert!(p.status.success(), "{}", show(&p));
    std::fs::remove_dir_all(ws.join("target")).unwrap();
    let lib = ws.join("greet/src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        format!("{text}\npub const CHANGED: u128 = {nanos};\n"),
    )
    .unwrap();
    let o = green_cross_env(ws, args, env);
    assert!(o.status.success(), "{}", show(&o));
    let lines = compiled(&o);
    assert!(
        lines.iter().any(|l| l.starts_with("Compiling greet ")),
        "the workspace compiled: {}",
        show(&o)
    );
    let deps: Vec<&String> = lines.iter().filter(|l| !l.contains("(/src/")).collect();
    assert!(
        deps.is_empty(),
        "dependencies compiled again: {deps:?}\n{}",
        show(&o)
    );
}

#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn a_local_cache_directory_carries_compiled_dependencies_too() {
    let ws = fixture_copy_of(&fixture());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    // A directory outside the workspace: named in a configuration file of
    // the user's (outside the workspace too), as a repository cannot.
    let config = dir.path().join("Cross.toml");
    std::fs::write(
        &config,
        format!(
            "[build]\ncache-from = [\"type=local,src={d}/{{triple}}\"]\ncache-to = [\"type=local,dest={d}/{{triple}},mode=max\"]\n"
        ),
    )
    .unwrap();
    let env = [("CROSS_CONFIG", config.to_str().unwrap())];
    let o = green_cross_env(ws.path(), &["build", "--target", TARGET], &env);
    assert!(o.status.success(), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("warning:"), "{}", show(&o));
    assert!(
        dir.path().join(TARGET).join("index.json").is_file(),
        "no cache written to {d}/{TARGET}: {}",
        show(&o)
    );
    runs(ws.path());
    prune_change_and_rebuild(ws.path(), &["build", "--target", TARGET], &env, nanos);
    runs(ws.path());
}

/// The GitHub Actions cache service of tests/support/actions-cache.py on a
/// port of its own, stopped when dropped: BuildKit's `type=gha` speaks to
/// it as to GitHub's.
struct ActionsCache {
    child: Child,
    url: String,
    token: String,
    dir: tempfile::TempDir,
}

impl ActionsCache {
    fn start() -> ActionsCache {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/actions-cache.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut next = |what: &str| {
            let line = lines.next().unwrap().unwrap();
            line.strip_prefix(what)
                .unwrap_or_else(|| panic!("expected {what}: {line}"))
                .to_string()
        };
        let url = next("url ");
        let token = next("token ");
        ActionsCache {
            child,
            url,
            token,
            dir,
        }
    }

    /// The keys of the committed entries.
    fn keys(&self) -> Vec<String> {
        let text =
            std::fs::read_to_string(self.dir.path().join("entries.json")).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["key"].as_str().map(String::from))
            .collect()
    }
}

impl Drop for ActionsCache {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn the_github_actions_cache_carries_compiled_dependencies_too() {
    let service = ActionsCache::start();
    let env = [
        ("ACTIONS_CACHE_URL", service.url.as_str()),
        ("ACTIONS_RUNTIME_TOKEN", service.token.as_str()),
        ("GITHUB_REF_NAME", "main"),
    ];
    let ws = fixture_copy_of(&fixture());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let args = ["build", "--target", TARGET, "--cache", "gha"];
    let o = green_cross_env(ws.path(), &args, &env);
    assert!(o.status.success(), "{}", show(&o));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("warning:"),
        "{}",
        show(&o)
    );
    // The layers, and the index of the target's scope (default tag template:
    // {triple}-{toolchain}-{branch}).
    let keys = service.keys();
    let scope = format!("index-{TARGET}-distro-main-");
    assert!(
        keys.iter().any(|k| k.starts_with(&scope)),
        "no {scope}*: {keys:?}"
    );
    assert!(
        keys.iter()
            .filter(|k| k.starts_with("buildkit-blob-"))
            .count()
            > 2,
        "{keys:?}"
    );
    runs(ws.path());
    prune_change_and_rebuild(ws.path(), &args, &env, nanos);
    runs(ws.path());
}
