//! The command line, run as a user would, on the fixture workspace. None of
//! these needs a Docker engine.

mod common;

use common::fixture;
use std::path::Path;
use std::process::{Command, Output};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_green-cross")
}

fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(bin());
    c.args(args).current_dir(dir);
    for k in [
        "GREEN_CROSS_TOOLCHAIN",
        "GREEN_CROSS_BASE_IMAGE",
        "CARGO_BUILD_TARGET",
        "CROSS_CONFIG",
        "GREEN_CROSS_ENGINE",
        "CROSS_CONTAINER_ENGINE",
    ] {
        c.env_remove(k);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A copy of the fixture in a temporary directory, to add a Cross.toml to.
fn fixture_copy() -> tempfile::TempDir {
    common::fixture_copy_of(&fixture())
}

#[test]
fn help_is_golden() {
    let o = run_in(&fixture(), &["--help"], &[]);
    assert!(o.status.success());
    insta::assert_snapshot!("help", text(&o).0);
}

#[test]
fn version_names_the_program() {
    let o = run_in(&fixture(), &["--version"], &[]);
    assert_eq!(
        text(&o).0.trim(),
        format!("green-cross {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn targets_lists_nine_and_json_is_json() {
    let o = run_in(&fixture(), &["targets"], &[]);
    let (out, _) = text(&o);
    assert_eq!(out.lines().count(), 10, "{out}");
    assert!(out.contains("armv7-unknown-linux-musleabihf"));
    let o = run_in(&fixture(), &["targets", "--json"], &[]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let triples: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["triple"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(triples.len(), 9);
    assert!(triples.contains(&"x86_64-pc-windows-gnu".to_string()));
}

#[test]
fn matrix_comes_from_the_arguments_or_the_configured_targets() {
    let m = |o: &Output| -> Vec<String> {
        assert!(o.status.success(), "{:?}", text(o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["include"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["target"].as_str().unwrap().to_string())
            .collect()
    };
    let o = run_in(
        &fixture(),
        &["matrix", "x86_64-pc-windows-gnu,aarch64-unknown-linux-musl"],
        &[],
    );
    assert_eq!(
        m(&o),
        ["x86_64-pc-windows-gnu", "aarch64-unknown-linux-musl"]
    );
    // One line: ready for $GITHUB_OUTPUT.
    assert_eq!(text(&o).0.lines().count(), 1);
    // No arguments: Cross.toml's target tables, then default-target.
    let ws = fixture_copy();
    std::fs::write(
        ws.path().join("Cross.toml"),
        "[build]\ndefault-target = \"x86_64-unknown-linux-musl\"\n[target.armv7-unknown-linux-gnueabihf]\npackages = [\"libssl-dev\"]\n",
    )
    .unwrap();
    let o = run_in(ws.path(), &["matrix"], &[]);
    assert_eq!(
        m(&o),
        ["armv7-unknown-linux-gnueabihf", "x86_64-unknown-linux-musl"]
    );
    // Nothing configured: say how to name them.
    let o = run_in(&fixture(), &["matrix"], &[]);
    assert!(!o.status.success());
    assert!(
        text(&o).1.contains("green-cross matrix x86_64"),
        "{:?}",
        text(&o)
    );
    // A typo: the nearest target.
    let o = run_in(&fixture(), &["matrix", "aarch64-unknown-linux-gmu"], &[]);
    assert!(
        text(&o).1.contains("aarch64-unknown-linux-gnu"),
        "{:?}",
        text(&o)
    );
}

#[test]
fn unknown_target_suggests_the_nearest_and_exits_101() {
    let o = run_in(
        &fixture(),
        &["build", "--target", "aarch64-unknown-linux-gun"],
        &[],
    );
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(101));
    assert!(
        err.contains(
            "unknown target `aarch64-unknown-linux-gun`; did you mean `aarch64-unknown-linux-gnu`?"
        ),
        "{err}"
    );
    assert!(err.contains("green-cross targets"), "{err}");
}

#[test]
fn dockerfile_is_byte_identical_run_to_run() {
    for mode in ["rustup", "distro"] {
        let args = [
            "dockerfile",
            "--release",
            "--target",
            "x86_64-unknown-linux-musl",
            "--target",
            "aarch64-apple-darwin",
        ];
        let a = run_in(&fixture(), &args, &[("GREEN_CROSS_TOOLCHAIN", mode)]);
        let b = run_in(&fixture(), &args, &[("GREEN_CROSS_TOOLCHAIN", mode)]);
        assert!(a.status.success(), "{:?}", text(&a));
        assert_eq!(a.stdout, b.stdout);
        assert!(text(&a).0.contains("AS build-aarch64-apple-darwin"));
    }
}

#[test]
fn plan_json_has_the_targets_and_artifact_dir() {
    let o = run_in(
        &fixture(),
        &[
            "plan",
            "--json",
            "--target",
            "aarch64-unknown-linux-gnu",
            "--release",
        ],
        &[("GREEN_CROSS_TOOLCHAIN", "distro")],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["mode"], "distro");
    assert_eq!(v["profile_dir"], "release");
    assert_eq!(v["targets"][0]["triple"], "aarch64-unknown-linux-gnu");
    assert_eq!(v["targets"][0]["std"], "multiarch");
}

#[test]
fn target_falls_back_to_cargo_build_target_then_cross_toml_then_host() {
    let d = fixture_copy();
    std::fs::write(
        d.path().join("Cross.toml"),
        "[build]\ndefault-target = \"x86_64-pc-windows-gnu\"\n",
    )
    .unwrap();
    let plan = |env: &[(&str, &str)]| {
        let o = run_in(d.path(), &["plan"], env);
        assert!(o.status.success(), "{:?}", text(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["targets"][0]["triple"].as_str().unwrap().to_string()
    };
    assert_eq!(
        plan(&[("CARGO_BUILD_TARGET", "aarch64-apple-darwin")]),
        "aarch64-apple-darwin"
    );
    assert_eq!(plan(&[]), "x86_64-pc-windows-gnu");
    std::fs::remove_file(d.path().join("Cross.toml")).unwrap();
    let host = rustc_version::version_meta().unwrap().host;
    assert_eq!(plan(&[]), host);
}

#[test]
fn malformed_cross_toml_names_file_line_and_column() {
    let d = fixture_copy();
    std::fs::write(
        d.path().join("Cross.toml"),
        "[build]\ntoolchain = \"distro\"\nbase-image = \n",
    )
    .unwrap();
    let o = run_in(
        d.path(),
        &["dockerfile", "--target", "x86_64-unknown-linux-gnu"],
        &[],
    );
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(101));
    assert!(err.contains("Cross.toml:3:"), "{err}");
}

#[test]
fn unknown_cross_toml_key_is_a_warning_with_line_and_hint() {
    let d = fixture_copy();
    std::fs::write(
        d.path().join("Cross.toml"),
        "[build]\ntoolchain = \"distro\"\n\n[build.release]\npreset = \"size\"\ncodegen-unit = 1\n",
    )
    .unwrap();
    let o = run_in(
        d.path(),
        &["dockerfile", "--target", "x86_64-unknown-linux-gnu"],
        &[],
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("Cross.toml:6: unknown key `codegen-unit` in [build.release]; did you mean `codegen-units`?"), "{err}");
    assert!(
        out.contains("debian:bookworm"),
        "distro mode from Cross.toml: {out}"
    );
}

#[test]
fn no_engine_says_what_to_start() {
    let o = run_in(
        &fixture(),
        &["build", "--target", "x86_64-unknown-linux-musl"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(101));
    assert!(
        err.contains("no Docker engine answers at DOCKER_HOST=unix:///nonexistent/docker.sock"),
        "{err}"
    );
    assert!(err.contains("help: start the Docker engine"), "{err}");
}

#[test]
fn doctor_names_what_stops_a_build_and_exits_1() {
    let o = run_in(
        &fixture(),
        &["doctor"],
        &[("GREEN_CROSS_ENGINE", "/nonexistent/docker")],
    );
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(
            "   error  docker CLI: the container engine `/nonexistent/docker` was not found"
        ),
        "{out}"
    );
    let o = run_in(
        &fixture(),
        &["doctor"],
        &[
            ("DOCKER_HOST", "unix:///nonexistent/docker.sock"),
            ("GREEN_CROSS_TOOLCHAIN", "distro"),
        ],
    );
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    // The workspace is read without an engine; the builder is not there.
    assert!(
        out.contains("      ok  workspace: ") && out.contains("(distro mode; default targets: "),
        "{out}"
    );
    assert!(
        out.contains("   error  builder: no Docker engine answers at DOCKER_HOST=unix:///nonexistent/docker.sock"),
        "{out}"
    );
    assert!(out.contains("help: start the Docker engine"), "{out}");
    // A configuration green-cross cannot read is an error too.
    let ws = fixture_copy();
    std::fs::write(ws.path().join("Cross.toml"), "[build\n").unwrap();
    let o = run_in(
        ws.path(),
        &["doctor"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("   error  workspace: "), "{out}");
    assert!(out.contains("Cross.toml"), "{out}");
}

#[test]
fn missing_engine_binary_and_podman_are_explained() {
    let o = run_in(
        &fixture(),
        &["build"],
        &[("GREEN_CROSS_ENGINE", "/nonexistent/docker")],
    );
    let (_, err) = text(&o);
    assert!(
        err.contains("the container engine `/nonexistent/docker` was not found"),
        "{err}"
    );
    let o = run_in(
        &fixture(),
        &["build"],
        &[("CROSS_CONTAINER_ENGINE", "podman")],
    );
    let (_, err) = text(&o);
    assert!(err.contains("podman is not supported yet"), "{err}");
}

#[test]
fn other_subcommands_run_on_the_host_cargo() {
    let o = run_in(
        &fixture(),
        &["metadata", "--no-deps", "--format-version=1"],
        &[],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["packages"].as_array().unwrap().len(), 2);
    // cargo's own exit code comes back.
    let o = run_in(&fixture(), &["no-such-subcommand-xyz"], &[]);
    assert_eq!(o.status.code(), Some(101));
}

#[test]
fn a_cross_symlink_is_green_cross_and_says_so() {
    let d = tempfile::tempdir().unwrap();
    let link = d.path().join("cross");
    std::os::unix::fs::symlink(bin(), &link).unwrap();
    let o = Command::new(&link).arg("--version").output().unwrap();
    assert_eq!(
        text(&o).0.trim(),
        format!(
            "green-cross {} (invoked as cross)",
            env!("CARGO_PKG_VERSION")
        )
    );
    let o = Command::new(&link)
        .args(["targets", "--json"])
        .current_dir(fixture())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 9);
}

/// A stand-in for the docker CLI whose `buildx build` prints `lines` as the
/// engine's progress and fails, as engines do in ways no test can provoke on
/// demand (containerd losing an image layer mid-build, a registry out of
/// reach); it writes down every call.
fn failing_engine(dir: &Path, lines: &[&str]) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("docker");
    let progress: String = lines
        .iter()
        .map(|l| format!("    echo {} >&2\n", shell_words::quote(l)))
        .collect();
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
echo "$*" >> "$0.calls"
case "$1 $2" in
"buildx build")
    echo '#1 [internal] load build definition from Dockerfile' >&2
{progress}    exit 1 ;;
"buildx inspect")
    printf 'Name: stand-in\nDriver: docker\nBuildKit version: v0.13.2\n' ;;
*) exit 1 ;;
esac
"#
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// `green-cross build` on a copy of the fixture with `failing_engine`:
/// its output, the stand-in's calls, and the build log.
fn build_with_failing_engine(lines: &[&str]) -> (Output, String, String) {
    let ws = fixture_copy();
    let bin_dir = tempfile::tempdir().unwrap();
    let engine = failing_engine(bin_dir.path(), lines);
    let o = run_in(
        ws.path(),
        &[
            "build",
            "--builder",
            "stand-in",
            "--target",
            "x86_64-unknown-linux-musl",
        ],
        &[("GREEN_CROSS_ENGINE", engine.to_str().unwrap())],
    );
    let calls = std::fs::read_to_string(bin_dir.path().join("docker.calls")).unwrap();
    let log = std::fs::read_to_string(ws.path().join("target/green-cross/last-build.log")).unwrap();
    (o, calls, log)
}

#[test]
fn a_layer_lost_by_the_engine_is_built_once_more_and_other_failures_are_not() {
    let lost = "failed to prepare extraction snapshot \"extract-1-Ab sha256:730e\": parent snapshot sha256:7a81 does not exist: not found";
    let from = "#13 [toolchain 1/2] FROM docker.io/library/debian:bookworm";
    let run = "#14 [sysroot-x 1/1] RUN apt-get update";
    for (vertex, error, builds) in [
        (from, lost, 2),
        (run, "failed to compute cache key: not found", 1),
    ] {
        let id = vertex.split_whitespace().next().unwrap();
        let (o, calls, log) = build_with_failing_engine(&[
            vertex,
            &format!("{id} ERROR: {error}"),
            &format!("ERROR: failed to solve: {error}"),
        ]);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(101), "{err}");
        let n = calls
            .lines()
            .filter(|l| l.starts_with("buildx build"))
            .count();
        assert_eq!(n, builds, "{calls}");
        let retried = err.contains("the engine lost an image layer while unpacking it");
        assert_eq!(retried, builds == 2, "{err}");
        // The log keeps every attempt.
        assert_eq!(log.matches(" buildx build ").count(), builds, "{log}");
        assert!(err.contains("error: the build failed"), "{err}");
    }
}

#[test]
fn an_image_the_engine_cannot_fetch_is_named_with_what_to_do() {
    let reason = "failed to do request: Head \"https://registry.invalid/v2/library/rust/manifests/1.99.1-slim-bookworm\": dial tcp: lookup registry.invalid: no such host";
    let (o, calls, _) = build_with_failing_engine(&[
        "#2 [internal] load metadata for docker.io/library/rust:1.99.1-slim-bookworm",
        &format!("#2 ERROR: {reason}"),
        &format!(
            "ERROR: failed to solve: rust:1.99.1-slim-bookworm: failed to resolve source metadata for docker.io/library/rust:1.99.1-slim-bookworm: {reason}"
        ),
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(101), "{err}");
    assert_eq!(
        calls
            .lines()
            .filter(|l| l.starts_with("buildx build"))
            .count(),
        1
    );
    assert!(
        err.contains(&format!(
            "error: the engine could not fetch the image docker.io/library/rust:1.99.1-slim-bookworm: {reason}"
        )),
        "{err}"
    );
    assert!(err.contains("GREEN_CROSS_BASE_IMAGE"), "{err}");
}

/// A stand-in for the docker CLI that knows buildx builders by a file per
/// name: `buildx create` makes one (with `--bootstrap`, as a BuildKit that
/// starts), `buildx inspect NAME` answers for it; every call is written down.
fn builder_engine(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("docker");
    std::fs::write(
        &script,
        r##"#!/bin/sh
echo "$*" >> "$0.calls"
case "$1 $2" in
"buildx inspect")
    [ -f "$0.builder-$3" ] || { echo "ERROR: no builder \"$3\" found" >&2; exit 1; }
    printf 'Name: %s\nDriver: docker-container\nBuildKit version: v0.13.2\n' "$3" ;;
"buildx create")
    touch "$0.builder-$4"
    echo "#1 [internal] booting buildkit" >&2
    echo "$4" ;;
*) exit 1 ;;
esac
"##,
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn builder_create_makes_a_docker_container_builder_once() {
    let bin_dir = tempfile::tempdir().unwrap();
    let engine = builder_engine(bin_dir.path());
    let env = [("GREEN_CROSS_ENGINE", engine.to_str().unwrap())];
    let o = run_in(
        &fixture(),
        &[
            "builder",
            "create",
            "--image",
            "mirror.test/moby/buildkit:v0.13.2",
            "--use",
        ],
        &env,
    );
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("Created the docker-container builder `green-cross` (BuildKit v0.13.2)"),
        "{err}"
    );
    assert!(err.contains("--builder green-cross"), "{err}");
    // A second time: the builder is there, and left alone.
    let o = run_in(&fixture(), &["builder", "create"], &env);
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("The builder `green-cross` exists already (driver docker-container)"),
        "{err}"
    );
    let calls = std::fs::read_to_string(bin_dir.path().join("docker.calls")).unwrap();
    let creates: Vec<&str> = calls
        .lines()
        .filter(|l| l.starts_with("buildx create"))
        .collect();
    assert_eq!(
        creates,
        [
            "buildx create --name green-cross --driver docker-container --driver-opt network=host \
          --driver-opt image=mirror.test/moby/buildkit:v0.13.2 --use --bootstrap"
        ],
        "{calls}"
    );
}

/// The attacks of a careless or hostile configuration are refused before
/// any build, each with the value's source: file, line and key, or the
/// variable, or the argument.
#[test]
fn line_breaks_and_shell_in_values_are_refused_with_their_source() {
    let d = fixture_copy();
    std::fs::write(
        d.path().join("Cross.toml"),
        "[build]\ntoolchain = \"distro\"\n\n[target.aarch64-unknown-linux-gnu]\npackages = [\"libssl-dev\\nRUN echo PWNED\"]\n",
    )
    .unwrap();
    let args = ["dockerfile", "--target", "aarch64-unknown-linux-gnu"];
    let o = run_in(d.path(), &args, &[]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(101), "{out}");
    assert!(out.is_empty(), "no Dockerfile: {out}");
    assert!(
        err.contains("Cross.toml: line 5: `target.aarch64-unknown-linux-gnu.packages`")
            && err.contains("U+000A"),
        "{err}"
    );

    std::fs::write(
        d.path().join("Cross.toml"),
        "[build.env]\npassthrough = [\"A;echo PWNED;B=1\"]\n",
    )
    .unwrap();
    let (_, err) = text(&run_in(
        d.path(),
        &args,
        &[("GREEN_CROSS_TOOLCHAIN", "distro")],
    ));
    assert!(
        err.contains("env.passthrough") && err.contains("not a variable name"),
        "{err}"
    );

    std::fs::remove_file(d.path().join("Cross.toml")).unwrap();
    let env = [
        ("GREEN_CROSS_TOOLCHAIN", "distro"),
        ("RUSTFLAGS", "-Copt-level=1\nRUN echo PWNED #"),
    ];
    let o = run_in(d.path(), &args, &env);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(101), "{out}");
    assert!(
        err.contains("$RUSTFLAGS (environment)") && err.contains("U+000A"),
        "{err}"
    );

    let env = [("GREEN_CROSS_BASE_IMAGE", "debian:bookworm AS x\nRUN id")];
    let o = run_in(d.path(), &args, &env);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(101));
    assert!(err.contains("GREEN_CROSS_BASE_IMAGE"), "{err}");

    let mut with_feature = args.to_vec();
    with_feature.extend(["--features", "a\u{1b}b"]);
    let (_, err) = text(&run_in(
        d.path(),
        &with_feature,
        &[("GREEN_CROSS_TOOLCHAIN", "distro")],
    ));
    assert!(
        err.contains("command-line argument") && err.contains("U+001B"),
        "{err}"
    );
}

/// A repository's Cross.toml cannot make the build read a file outside
/// the workspace, through a symbolic link either (the attack: a CA bundle
/// that is a private key, printed by pre-build); the same key in a file
/// outside the workspace, named by CROSS_CONFIG, is the user's own.
#[test]
fn a_repository_s_cross_toml_cannot_hand_the_build_a_file_outside_the_workspace() {
    let d = fixture_copy();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("id_ed25519");
    std::fs::write(&secret, "-----BEGIN OPENSSH PRIVATE KEY-----\n").unwrap();
    std::os::unix::fs::symlink(outside.path(), d.path().join("certs")).unwrap();
    let args = ["dockerfile", "--target", "aarch64-unknown-linux-gnu"];
    let env = [("GREEN_CROSS_TOOLCHAIN", "distro")];
    for ca in [
        secret.to_str().unwrap(),
        "certs/id_ed25519",
        "../../../../../../../..",
    ] {
        std::fs::write(
            d.path().join("Cross.toml"),
            format!("[build]\nca-bundle = {ca:?}\n"),
        )
        .unwrap();
        let o = run_in(d.path(), &args, &env);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(101), "{ca}: {out}");
        assert!(
            err.contains("`build.ca-bundle` names") && err.contains("outside the workspace"),
            "{ca}: {err}"
        );
    }
    std::fs::remove_file(d.path().join("Cross.toml")).unwrap();
    let mine = outside.path().join("Cross.toml");
    std::fs::write(
        &mine,
        format!("[build]\nca-bundle = {:?}\n", secret.to_str().unwrap()),
    )
    .unwrap();
    let env = [
        ("GREEN_CROSS_TOOLCHAIN", "distro"),
        ("CROSS_CONFIG", mine.to_str().unwrap()),
    ];
    let o = run_in(d.path(), &args, &env);
    assert!(o.status.success(), "{}", text(&o).1);
}

/// Careless values (issue: finding 6) are refused with what to do, or
/// warned about when the build can go on without them; none is taken
/// silently as something else.
#[test]
fn careless_values_are_refused_or_warned_about_never_taken_as_something_else() {
    let d = fixture_copy();
    let plan = ["plan", "--target", "aarch64-unknown-linux-gnu"];
    let distro = ("GREEN_CROSS_TOOLCHAIN", "distro");
    let refused = |toml: &str, args: &[&str], env: &[(&str, &str)], needle: &str| {
        std::fs::write(d.path().join("Cross.toml"), toml).unwrap();
        let mut all = vec![distro];
        all.extend_from_slice(env);
        let o = run_in(d.path(), args, &all);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(101), "{needle}: {out}{err}");
        assert!(err.contains(needle), "{needle}: {err}");
    };
    refused(
        "[build]\nbase-image = \"\"\n",
        &plan,
        &[],
        "not an image reference",
    );
    refused(
        "[build.env]\npassthrough = [\"=value\"]\n",
        &plan,
        &[],
        "not a variable name",
    );
    refused(
        "",
        &plan,
        &[("CROSS_BUILD_BUILD_STD", "maybe")],
        "not a crate of the standard library",
    );
    refused(
        "",
        &["plan", "--target="],
        &[],
        "`--target` needs a target triple",
    );
    refused(
        "",
        &plan,
        &[("GREEN_CROSS_FINGERPRINT", "maybe")],
        "GREEN_CROSS_FINGERPRINT",
    );
    refused(
        "",
        &plan,
        &[("CROSS_NO_WARNINGS", "maybe")],
        "CROSS_NO_WARNINGS",
    );
    refused(
        "",
        &plan,
        &[("CROSS_BUILD_XARGO", "y")],
        "CROSS_BUILD_XARGO",
    );
    refused(
        "",
        &plan,
        &[("CROSS_CONFIG", "/dev/zero")],
        "not a regular file",
    );

    let warned = |toml: &str, env: &[(&str, &str)], needle: &str| {
        std::fs::write(d.path().join("Cross.toml"), toml).unwrap();
        let mut all = vec![distro];
        all.extend_from_slice(env);
        let o = run_in(d.path(), &plan, &all);
        let (_, err) = text(&o);
        assert!(o.status.success(), "{needle}: {err}");
        assert!(
            err.contains("warning:") && err.contains(needle),
            "{needle}: {err}"
        );
    };
    warned("", &[("GREEN_CROSS_CACHE", "::::")], "is not a repository");
    warned(
        "[target.not-a-triple]\nrunner = \"native\"\n",
        &[],
        "[target.not-a-triple] is not a target",
    );
    warned(
        "[target.aarch64-unknown-linux-gnuu]\nrunner = \"native\"\n",
        &[],
        "did you mean `aarch64-unknown-linux-gnu`?",
    );
}
