//! End-to-end: the fixture workspace (a binary, a crates.io dependency and a
//! C file compiled by the cc crate) built for real on a BuildKit engine in
//! distro mode, and every artifact checked for real: run natively, under
//! qemu-user, under wine, or identified with `file`.
//!
//! These need a Docker engine with buildx and the base image that
//! ci/setup-engine.sh makes; `cargo test` skips them as ignored and
//! `ci/test.sh` runs them (and fails when they cannot run).
// The harness reads its own settings (GREEN_CROSS_E2E_*) from the
// process environment; green-cross itself is handed an Env.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{fixture, fixture_copy_of, fixture_named, green_cross_command, run, run_wine, show};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const ALL: [&str; 9] = [
    "x86_64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-gnu",
    "aarch64-unknown-linux-musl",
    "armv7-unknown-linux-gnueabihf",
    "armv7-unknown-linux-musleabihf",
    "x86_64-pc-windows-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
];

/// A fresh copy of the fixture (no target dir), so each test starts clean.
fn fixture_copy() -> tempfile::TempDir {
    fixture_copy_of(&fixture())
}

/// A source change no cache has seen, so that cargo really runs (BuildKit
/// would otherwise serve an identical earlier step from its cache).
fn stamp(ws: &Path) {
    let lib = ws.join("greet/src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        format!("{text}\n/// {:?}\npub const STAMP: u8 = 1;\n", ws),
    )
    .unwrap();
}

/// No temporary output directory is left in the target dir.
fn assert_no_temporary_output(ws: &Path) {
    let leftovers: Vec<_> = std::fs::read_dir(ws.join("target"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".green-cross-out-")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn green_cross(dir: &Path, args: &[&str]) -> Output {
    green_cross_command(dir, args).output().unwrap()
}

/// `green-cross run` with `input` on its stdin.
fn green_cross_run(dir: &Path, args: &[&str], input: &str) -> Output {
    green_cross_run_env(dir, args, input, &[])
}

fn green_cross_run_env(dir: &Path, args: &[&str], input: &str, env: &[(&str, &str)]) -> Output {
    let mut child = green_cross_command(dir, args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `run` passed the arguments and stdin through, and the program's output
/// and exit code came back.
fn assert_ran(o: &Output, expected_first_line: &str) {
    assert_eq!(o.status.code(), Some(3), "{}", show(o));
    let out = String::from_utf8_lossy(&o.stdout).replace("\r\n", "\n");
    assert_eq!(
        out,
        format!(
            "{expected_first_line}\narg: a b\narg: --echo-stdin\nstdin: one\nstdin: two\narg: --exit=3\n"
        ),
        "{}",
        show(o)
    );
}

const RUN_ARGS: [&str; 4] = ["--", "a b", "--echo-stdin", "--exit=3"];

fn file_type(p: &Path) -> String {
    run("file", &["-b", p.to_str().unwrap()]).1
}

/// A unit test that fails, by its name `failing::the_answer_is_41`.
const FAILING_TEST: &str = "#[cfg(test)]\nmod failing {\n    #[test]\n    fn the_answer_is_41() {\n        assert_eq!(6 * 7, 41);\n    }\n}\n";

/// Append Rust source to the fixture's greet crate.
fn append_to_greet(ws: &Path, code: &str) {
    let lib = ws.join("greet/src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, format!("{text}\n{code}")).unwrap();
}

/// What the fixture prints on each architecture.
fn expected_line(arch: &str, os: &str) -> String {
    format!("hello from {arch}-{os}, the C answer is 42")
}

fn check_artifact(root: &Path, triple: &str) {
    let exe = if triple.contains("windows") {
        "hello-cross.exe"
    } else {
        "hello-cross"
    };
    let p = root.join("target").join(triple).join("release").join(exe);
    assert!(p.is_file(), "{triple}: no artifact at {}", p.display());
    let ft = file_type(&p);
    let bin = p.to_str().unwrap();
    if triple.ends_with("-linux-gnu") || triple.ends_with("-linux-gnueabihf") {
        // glibc targets link with lld, which signs the .comment section.
        let (_, comment) = run("readelf", &["-p", ".comment", bin]);
        assert!(comment.contains("LLD"), "{triple}: {comment}");
    }
    match triple {
        "x86_64-unknown-linux-gnu" => {
            assert!(
                ft.contains("ELF 64-bit")
                    && ft.contains("x86-64")
                    && ft.contains("dynamically linked"),
                "{triple}: {ft}"
            );
            let (ok, out) = run(bin, &[]);
            assert!(
                ok && out.contains(&expected_line("x86_64", "linux")),
                "{triple}: {out}"
            );
        }
        "x86_64-unknown-linux-musl" => {
            assert!(
                ft.contains("x86-64")
                    && (ft.contains("statically linked") || ft.contains("static-pie")),
                "{triple}: {ft}"
            );
            let (ok, out) = run(bin, &[]);
            assert!(
                ok && out.contains(&expected_line("x86_64", "linux")),
                "{triple}: {out}"
            );
        }
        "aarch64-unknown-linux-gnu" => {
            assert!(
                ft.contains("ARM aarch64") && ft.contains("dynamically linked"),
                "{triple}: {ft}"
            );
            let (ok, out) = run(
                "qemu-aarch64-static",
                &["-L", "/usr/aarch64-linux-gnu", bin],
            );
            assert!(
                ok && out.contains(&expected_line("aarch64", "linux")),
                "{triple}: {out}"
            );
        }
        "aarch64-unknown-linux-musl" => {
            assert!(
                ft.contains("ARM aarch64") && ft.contains("statically linked"),
                "{triple}: {ft}"
            );
            let (ok, out) = run("qemu-aarch64-static", &[bin]);
            assert!(
                ok && out.contains(&expected_line("aarch64", "linux")),
                "{triple}: {out}"
            );
        }
        "armv7-unknown-linux-gnueabihf" => {
            assert!(
                ft.contains("ELF 32-bit")
                    && ft.contains("ARM")
                    && ft.contains("dynamically linked"),
                "{triple}: {ft}"
            );
            let (ok, out) = run("qemu-arm-static", &["-L", "/usr/arm-linux-gnueabihf", bin]);
            assert!(
                ok && out.contains(&expected_line("arm", "linux")),
                "{triple}: {out}"
            );
        }
        "armv7-unknown-linux-musleabihf" => {
            assert!(
                ft.contains("ELF 32-bit") && ft.contains("ARM") && ft.contains("statically linked"),
                "{triple}: {ft}"
            );
            let (ok, out) = run("qemu-arm-static", &[bin]);
            assert!(
                ok && out.contains(&expected_line("arm", "linux")),
                "{triple}: {out}"
            );
        }
        "x86_64-pc-windows-gnu" => {
            assert!(
                ft.contains("PE32+ executable") && ft.contains("x86-64"),
                "{triple}: {ft}"
            );
            let (ok, out) = run_wine(bin);
            assert!(
                ok && out.contains(&expected_line("x86_64", "windows")),
                "{triple}: {out}"
            );
        }
        "x86_64-apple-darwin" => assert!(
            ft.contains("Mach-O 64-bit x86_64 executable"),
            "{triple}: {ft}"
        ),
        "aarch64-apple-darwin" => assert!(
            ft.contains("Mach-O 64-bit arm64 executable"),
            "{triple}: {ft}"
        ),
        other => panic!("no check for {other}"),
    }
}

/// Run a Windows executable under wine, in a fresh prefix, from a temporary
/// directory that also holds a `bcryptprimitives.dll` shim built from
/// docker/wine (wine 8 lacks that DLL, which Rust's std imports).

#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn nine_targets_in_one_solve_then_a_noop_rebuild() {
    let ws = fixture_copy();
    let mut args = vec!["build", "--release"];
    for t in ALL {
        args.extend(["--target", t]);
    }
    let o = green_cross(ws.path(), &args);
    assert!(o.status.success(), "{}", show(&o));
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    for t in ALL {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(t) && l.contains("hello-cross")),
            "{t} missing from\n{table}"
        );
        check_artifact(ws.path(), t);
    }
    // No temporary output is left behind.
    assert_no_temporary_output(ws.path());

    // Nothing changed: the fingerprint says so and BuildKit is not asked
    // (the engine's log of the build is not rewritten).
    let log = ws.path().join("target/green-cross/last-build.log");
    let logged = std::fs::metadata(&log).unwrap().modified().unwrap();
    let o = green_cross(ws.path(), &args);
    assert!(o.status.success(), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for t in ALL {
        assert!(
            err.contains(&format!("Fresh {t} (fingerprint)")),
            "{t} not fresh:\n{err}"
        );
    }
    assert_eq!(logged, std::fs::metadata(&log).unwrap().modified().unwrap());
    // The same summary (but for the time column).
    let cols = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| {
                l.rsplit_once("  ")
                    .map_or(l, |(a, _)| a)
                    .trim_end()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(cols(&String::from_utf8_lossy(&o.stdout)), cols(&table));

    // Without the fingerprint, every build step comes from BuildKit's
    // cache and the artifacts are placed again.
    let o = green_cross_command(ws.path(), &args)
        .env("GREEN_CROSS_FINGERPRINT", "0")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for t in ALL {
        assert!(
            err.contains(&format!("Fresh {t} (cached)")),
            "{t} rebuilt:\n{err}"
        );
        check_artifact(ws.path(), t);
    }

    // A removed artifact is not fresh: it is built (from cache) again.
    let gone = ws
        .path()
        .join("target/x86_64-unknown-linux-gnu/release/hello-cross");
    std::fs::remove_file(&gone).unwrap();
    let o = green_cross(ws.path(), &args);
    assert!(o.status.success(), "{}", show(&o));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("(fingerprint)"),
        "{}",
        show(&o)
    );
    check_artifact(ws.path(), "x86_64-unknown-linux-gnu");
}

#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn a_failing_build_returns_cargos_code_keeps_the_log_and_writes_no_artifact() {
    let ws = fixture_copy();
    let lib = ws.path().join("greet/src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        text.replace("buf.format(answer)", "buf.format(answer) + 1u8"),
    )
    .unwrap();
    let o = green_cross(
        ws.path(),
        &[
            "build",
            "--release",
            "--target",
            "x86_64-unknown-linux-musl",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(101), "{}", show(&o));
    assert!(err.contains("error[E0"), "cargo's error is shown:\n{err}");
    assert!(err.contains("cargo exited with code 101"), "{err}");
    let log = ws.path().join("target/green-cross/last-build.log");
    let kept = std::fs::read_to_string(&log).unwrap();
    assert!(
        kept.contains("error[E0"),
        "the engine's output is kept in {}",
        log.display()
    );
    assert!(
        !ws.path()
            .join("target/x86_64-unknown-linux-musl/release/hello-cross")
            .exists()
    );
}

#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn one_target_that_fails_to_compile_leaves_the_other_targets_artifacts_in_place() {
    let ws = fixture_copy();
    append_to_greet(
        ws.path(),
        "#[cfg(windows)]\ncompile_error!(\"greet does not build for windows\");\n",
    );
    let linux = "x86_64-unknown-linux-gnu";
    let windows = "x86_64-pc-windows-gnu";
    let args = ["build", "--release", "--target", linux, "--target", windows];
    let o = green_cross(ws.path(), &args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(101), "{}", show(&o));
    assert!(err.contains("greet does not build for windows"), "{err}");
    assert!(
        err.contains(&format!("error: {windows}: cargo exited with code 101")),
        "{err}"
    );
    assert!(
        err.contains(&format!("the artifacts of {linux} are in place")),
        "{err}"
    );
    assert!(!err.contains("ERROR: failed to solve"), "{err}");
    check_artifact(ws.path(), linux);
    let exe = ws
        .path()
        .join("target")
        .join(windows)
        .join("release/hello-cross.exe");
    assert!(!exe.exists(), "no artifact for the target that failed");
    assert_no_temporary_output(ws.path());

    // The same inputs again: BuildKit has the failed step in its cache; it
    // is built afresh, so cargo's error is this run's own and shown again.
    let o = green_cross(ws.path(), &args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(101), "{}", show(&o));
    assert!(
        err.contains(&format!(
            "Rebuilding {windows} (its failure came from the build cache)"
        )),
        "{err}"
    );
    assert!(err.contains("greet does not build for windows"), "{err}");
}

#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn message_format_json_is_cargo_s_on_stdout_with_host_paths_fresh_builds_included() {
    let ws = fixture_copy();
    let t = "x86_64-unknown-linux-gnu";
    let o = green_cross(ws.path(), &["build", "--release", "--target", t]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    stamp(ws.path());
    let args = ["build", "--release", "--target", t, "--message-format=json"];
    let o = green_cross(ws.path(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    // The output flag does not make a new dependencies layer.
    assert!(!err.contains("Compiling itoa"), "{err}");
    let messages = |o: &Output| -> Vec<serde_json::Value> {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    };
    let executable = |msgs: &[serde_json::Value]| -> (std::path::PathBuf, bool) {
        let a = msgs
            .iter()
            .find(|m| m["reason"] == "compiler-artifact" && m["executable"].is_string())
            .unwrap_or_else(|| panic!("no executable in {msgs:?}"));
        let manifest = Path::new(a["manifest_path"].as_str().unwrap());
        assert!(manifest.is_file(), "{}", manifest.display());
        (a["executable"].as_str().unwrap().into(), a["fresh"] == true)
    };
    let msgs = messages(&o);
    let (exe, fresh) = executable(&msgs);
    assert!(!fresh, "{msgs:?}");
    assert_eq!(
        exe,
        ws.path().join("target").join(t).join("release/hello-cross")
    );
    let (ok, out) = run(exe.to_str().unwrap(), &[]);
    assert!(
        ok && out.contains(&expected_line("x86_64", "linux")),
        "{out}"
    );
    assert_eq!(msgs.last().unwrap()["reason"], "build-finished");
    assert_eq!(msgs.last().unwrap()["success"], true);

    // Nothing changed: no engine call, and cargo's messages all the same.
    let o = green_cross(ws.path(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("(fingerprint)"),
        "{}",
        show(&o)
    );
    let msgs = messages(&o);
    assert_eq!(executable(&msgs), (exe, true));
    assert_eq!(msgs.last().unwrap()["reason"], "build-finished");
}

#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn ctrl_c_during_a_build_leaves_no_artifact_and_no_temporary_output() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;

    let ws = fixture_copy();
    // A change of source no cache has seen, so the compile really runs.
    stamp(ws.path());
    let base = std::env::var("GREEN_CROSS_E2E_BASE_IMAGE")
        .unwrap_or_else(|_| "green-cross/debian:bookworm".into());
    let mut child = Command::new(env!("CARGO_BIN_EXE_green-cross"))
        .args(["build", "--release", "--target", "x86_64-unknown-linux-gnu"])
        .current_dir(ws.path())
        .env("GREEN_CROSS_TOOLCHAIN", "distro")
        .env("GREEN_CROSS_BASE_IMAGE", base)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        // Its own process group, as a terminal would have it: Ctrl-C reaches
        // green-cross and the engine client alike.
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let mut seen = String::new();
    let mut sent = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if !sent && line.contains("Compiling") {
            let ok = Command::new("kill")
                .args(["-INT", "--", &format!("-{pid}")])
                .status()
                .unwrap()
                .success();
            assert!(ok, "kill -INT");
            sent = true;
        }
    }
    let status = child.wait().unwrap();
    assert!(sent, "the build never reached cargo:\n{seen}");
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(
        seen.contains("interrupted; no artifact was written"),
        "{seen}"
    );
    assert!(
        !ws.path()
            .join("target/x86_64-unknown-linux-gnu/release/hello-cross")
            .exists()
    );
    assert_no_temporary_output(ws.path());
}

#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn check_clippy_and_doc_run_in_buildkit() {
    let ws = fixture_copy();
    stamp(ws.path());
    let t = "aarch64-unknown-linux-gnu";
    let o = green_cross(ws.path(), &["check", "--target", t]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Checking greet"),
        "{}",
        show(&o)
    );

    let o = green_cross(ws.path(), &["doc", "--no-deps", "--target", t]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(
        ws.path()
            .join(format!("target/{t}/doc/greet/index.html"))
            .is_file(),
        "{}",
        show(&o)
    );

    // clippy's arguments after `--` reach it, and its failure is cargo's.
    append_to_greet(ws.path(), "pub fn one() -> u8 {\n    return 1;\n}\n");
    let o = green_cross(ws.path(), &["clippy", "--target", t]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("needless_return"),
        "{}",
        show(&o)
    );
    let o = green_cross(
        ws.path(),
        &["clippy", "--target", t, "--", "-D", "warnings"],
    );
    assert_eq!(o.status.code(), Some(101), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("cargo exited with code 101"),
        "{}",
        show(&o)
    );
}

#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn test_runs_natively_and_under_wine_and_a_failing_test_fails_the_command() {
    let ws = fixture_copy();
    let targets = ["x86_64-unknown-linux-musl", "x86_64-pc-windows-gnu"];
    for t in targets {
        let o = green_cross(ws.path(), &["test", "--target", t]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{}", show(&o));
        assert!(
            err.contains("test tests::greeting_names_the_answer ... ok"),
            "{t}:\n{err}"
        );
    }
    // Tests always run: a second invocation with nothing changed runs them again.
    let o = green_cross(ws.path(), &["test", "--target", "x86_64-pc-windows-gnu"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("test tests::greeting_names_the_answer ... ok"),
        "{}",
        show(&o)
    );

    append_to_greet(ws.path(), FAILING_TEST);
    for t in targets {
        let o = green_cross(ws.path(), &["test", "--target", t]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(101), "{}", show(&o));
        assert!(
            err.contains(&format!(
                "error: {t}: tests failed: failing::the_answer_is_41"
            )),
            "{t}:\n{err}"
        );
        assert!(!err.contains("ERROR: failed to solve"), "{t}:\n{err}");
    }

    // run: the .exe runs under wine in the runner image.
    let mut args = vec!["run", "--target", "x86_64-pc-windows-gnu"];
    args.extend(RUN_ARGS);
    let o = green_cross_run(ws.path(), &args, "one\ntwo\n");
    assert_ran(&o, "hello from x86_64-windows, the C answer is 42");
}

#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn test_runs_under_qemu_user_and_a_failing_test_fails_the_command() {
    let ws = fixture_copy();
    stamp(ws.path());
    // aarch64 with its multiarch glibc, armv7 with the cross sysroot's glibc.
    let targets = ["aarch64-unknown-linux-gnu", "armv7-unknown-linux-gnueabihf"];
    let mut args = vec!["test"];
    for t in targets {
        args.extend(["--target", t]);
    }
    let o = green_cross(ws.path(), &args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    for t in targets {
        assert!(
            err.contains(&format!(
                "[{t}] test tests::greeting_names_the_answer ... ok"
            )),
            "{t}:\n{err}"
        );
    }

    append_to_greet(ws.path(), FAILING_TEST);
    let o = green_cross(ws.path(), &["test", "--target", targets[0]]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(101), "{}", show(&o));
    assert!(
        err.contains(&format!(
            "error: {}: tests failed: failing::the_answer_is_41",
            targets[0]
        )),
        "{err}"
    );

    // --no-run builds the tests and runs none.
    let o = green_cross(ws.path(), &["test", "--no-run", "--target", targets[0]]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Executable"), "{}", show(&o));
    assert!(!err.contains("the_answer_is_41"), "{}", show(&o));

    // bench: a stable (harness = false) benchmark runs under qemu-user.
    let o = green_cross(
        ws.path(),
        &["bench", "--target", targets[0], "--bench", "format"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("bench format: ")
            && String::from_utf8_lossy(&o.stderr).contains("on aarch64"),
        "{}",
        show(&o)
    );

    // run: the binary runs under qemu-user in the runner image, with its
    // arguments, stdin, stdout and exit code passed through.
    let mut args = vec!["run", "--target", targets[0]];
    args.extend(RUN_ARGS);
    let o = green_cross_run(ws.path(), &args, "one\ntwo\n");
    assert_ran(&o, "hello from aarch64-linux, the C answer is 42");
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("Running `target/aarch64-unknown-linux-gnu/debug/hello-cross`"),
        "{}",
        show(&o)
    );
    // and natively.
    let mut args = vec!["run", "--target", "x86_64-unknown-linux-gnu"];
    args.extend(RUN_ARGS);
    let o = green_cross_run(ws.path(), &args, "one\ntwo\n");
    assert_ran(&o, "hello from x86_64-linux, the C answer is 42");
}

#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn test_for_darwin_builds_the_tests_and_says_they_cannot_run() {
    let ws = fixture_copy();
    stamp(ws.path());
    let o = green_cross(ws.path(), &["test", "--target", "aarch64-apple-darwin"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        err.contains("cannot run on this host; they are built only (--no-run)"),
        "{err}"
    );
    assert!(
        err.contains("Executable"),
        "cargo lists the test executables it built:\n{err}"
    );
}

#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn pre_build_and_packages_install_target_libraries_that_the_build_links() {
    // The fixture's Cross.toml: a cross-style pre-build (a loop across
    // entries and a multi-line entry) installs libssl-dev:$CROSS_DEB_ARCH
    // for aarch64; `packages` installs it for x86_64, whose pre-build is a
    // single command. build.rs finds libcrypto with pkg-config; main calls
    // it and prints what pre-build and the Dockerfile left.
    let ws = fixture_copy_of(&fixture_named("with-openssl"));
    let targets = ["aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu"];
    // A stand-in for one of cross's images: a C toolchain for the target
    // and no Rust. aarch64 names it as `image`; x86_64's `dockerfile`
    // (Dockerfile.cross) starts FROM it, as cross's docs suggest.
    let base = std::env::var("GREEN_CROSS_E2E_BASE_IMAGE")
        .unwrap_or_else(|_| "green-cross/debian:bookworm".into());
    let standin = "green-cross-e2e/cross-standin:bookworm";
    // Made by BuildKit and loaded, as `dockerfile` images are: an image
    // that `docker tag` names can send BuildKit to a registry for its
    // manifest.
    let mut c = Command::new("docker")
        .args([
            "buildx", "build", "--quiet", "--load", "--tag", standin, "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin
        .take()
        .unwrap()
        .write_all(
            format!(
                "FROM {base}\nLABEL org.green-cross.e2e=cross-standin\nRUN apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross && rm -rf /var/lib/apt/lists/*\nRUN ! command -v cargo && ! command -v rustc && ! test -d /usr/local/cargo\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", show(&o));
    let cross_toml = ws.path().join("Cross.toml");
    let mut text = std::fs::read_to_string(&cross_toml).unwrap().replace(
        "[target.aarch64-unknown-linux-gnu]\n",
        &format!("[target.aarch64-unknown-linux-gnu]\nimage = \"{standin}\"\n"),
    );
    text.push_str(&format!(
        "\n[target.x86_64-unknown-linux-gnu.dockerfile]\nfile = \"Dockerfile.cross\"\nbuild-args = {{ STANDIN = \"{standin}\" }}\n"
    ));
    std::fs::write(&cross_toml, text).unwrap();
    // CROSS_BUILD_OPTS reach docker buildx build.
    let o = green_cross_command(
        ws.path(),
        &["build", "--target", targets[0], "--target", targets[1]],
    )
    .env("CROSS_BUILD_OPTS", "--build-arg GREEN_CROSS_E2E_PROBE=1")
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    let log = std::fs::read_to_string(ws.path().join("target/green-cross/last-build.log")).unwrap();
    for t in targets {
        assert!(
            log.contains(&format!("[toolchain-{t} ")),
            "{t}: the target's own toolchain stage ran"
        );
    }
    assert!(
        log.lines()
            .next()
            .unwrap()
            .contains("--build-arg 'GREEN_CROSS_E2E_PROBE=1'"),
        "{}",
        log.lines().next().unwrap()
    );
    let bin = ws
        .path()
        .join("target/aarch64-unknown-linux-gnu/debug/with-openssl");
    let (_, f) = run("file", &[bin.to_str().unwrap()]);
    assert!(
        f.contains("ARM aarch64") && f.contains("dynamically linked"),
        "{f}"
    );
    // The binary needs the target's libcrypto: run it where that is installed.
    let notes = [
        "pre-build: loop and multi-line entry on arm64\n",
        "pre-build: single command\ndockerfile: custom Dockerfile for amd64\n",
    ];
    for ((t, arch), notes) in [(targets[0], "aarch64"), (targets[1], "x86_64")]
        .into_iter()
        .zip(notes)
    {
        let o = green_cross_run(ws.path(), &["run", "--target", t], "");
        assert!(o.status.success(), "{}", show(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        let first = out.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("openssl 3") && first.ends_with(&format!("on {arch}")),
            "{}",
            show(&o)
        );
        assert!(out.ends_with(notes), "{t}: {}", show(&o));
    }
    // env.passthrough reaches the program, natively and in the runner
    // container; CROSS_CONTAINER_OPTS reach docker run.
    for t in targets {
        let o = green_cross_run_env(
            ws.path(),
            &["run", "--target", t],
            "",
            &[("CROSS_BUILD_ENV_PASSTHROUGH", "FIXTURE_NOTE=passed-through")],
        );
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("note: passed-through"),
            "{t}: {}",
            show(&o)
        );
    }
    let o = green_cross_run_env(
        ws.path(),
        &["run", "--target", targets[0]],
        "",
        &[(
            "CROSS_CONTAINER_OPTS",
            "--env FIXTURE_NOTE=from-container-opts",
        )],
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("note: from-container-opts"),
        "{}",
        show(&o)
    );
}

/// The highest GLIBC_2.x symbol version a binary requires, read from the
/// version names in its dynamic string table.
fn max_glibc(bin: &Path) -> (u32, u32) {
    let bytes = std::fs::read(bin).unwrap();
    let mut best = (0, 0);
    for w in bytes
        .windows(8)
        .enumerate()
        .filter(|(_, w)| w == b"GLIBC_2.")
    {
        let rest = &bytes[w.0 + 8..];
        let digits: Vec<u8> = rest
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .copied()
            .collect();
        if let Ok(minor) = String::from_utf8(digits).unwrap().parse::<u32>() {
            best = best.max((2, minor));
        }
    }
    best
}

#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn zig_links_a_glibc_target_for_an_old_glibc() {
    let ws = fixture_copy();
    stamp(ws.path());
    let t = "aarch64-unknown-linux-gnu";
    let plain = green_cross(ws.path(), &["build", "--release", "--target", t]);
    assert!(plain.status.success(), "{}", show(&plain));
    let bin = ws.path().join(format!("target/{t}/release/hello-cross"));
    let newest = max_glibc(&bin);
    assert!(newest > (2, 17), "bookworm's glibc: {newest:?}");
    let o = green_cross_command(ws.path(), &["build", "--release", "--target", t])
        .env("CROSS_BUILD_ZIG", "2.17")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    assert!(max_glibc(&bin) <= (2, 17), "{:?}", max_glibc(&bin));
    let (ok, out) = run(
        "qemu-aarch64-static",
        &["-L", "/usr/aarch64-linux-gnu", bin.to_str().unwrap()],
    );
    assert!(ok, "{out}");
    assert_eq!(out.trim(), expected_line("aarch64", "linux"));
}

/// Whether an engine's build cache has a record that names `needle` (cache
/// mounts are described with their id).
fn engine_cache_mentions(docker_host: Option<&str>, context: Option<&str>, needle: &str) -> bool {
    let mut c = Command::new("docker");
    if let Some(ctx) = context {
        c.args(["--context", ctx]);
    }
    c.args(["buildx", "du", "--verbose"]);
    if let Some(h) = docker_host {
        c.env("DOCKER_HOST", h);
    } else {
        c.env_remove("DOCKER_HOST");
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", show(&o));
    String::from_utf8_lossy(&o.stdout).contains(needle)
}

#[test]
#[ignore = "needs a Docker engine and the second engine: run ci/test.sh"]
fn builds_run_on_the_engine_docker_host_or_builder_names_and_artifacts_come_back() {
    // The second engine ci/setup-engine.sh starts, over TCP.
    let remote =
        std::env::var("GREEN_CROSS_E2E_REMOTE").unwrap_or_else(|_| "tcp://127.0.0.1:2385".into());
    let t = "x86_64-unknown-linux-gnu";
    let ws = fixture_copy();
    stamp(ws.path());
    // The build step's cache mount id is unique to this workspace's path:
    // where it shows tells which engine built.
    let p = green_cross(ws.path(), &["plan", "--target", t]);
    assert!(p.status.success(), "{}", show(&p));
    let plan: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    let cache_id = plan["targets"][0]["cache_id"].as_str().unwrap().to_string();

    // DOCKER_HOST.
    let o = green_cross_command(ws.path(), &["build", "--target", t])
        .env("DOCKER_HOST", &remote)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    let (ok, out) = run(
        ws.path()
            .join(format!("target/{t}/debug/hello-cross"))
            .to_str()
            .unwrap(),
        &[],
    );
    assert!(ok, "{out}");
    assert_eq!(out.trim(), expected_line("x86_64", "linux"));
    assert!(
        engine_cache_mentions(Some(&remote), None, &cache_id),
        "the second engine has no record of the build"
    );
    assert!(
        !engine_cache_mentions(None, None, &cache_id),
        "the local engine built it"
    );

    // --builder: the docker context of the second engine names its builder.
    let ctx = "green-cross-e2e-remote";
    if !Command::new("docker")
        .args(["context", "inspect", ctx])
        .output()
        .unwrap()
        .status
        .success()
    {
        let (ok, out) = run(
            "docker",
            &[
                "context",
                "create",
                ctx,
                "--docker",
                &format!("host={remote}"),
            ],
        );
        assert!(ok, "{out}");
    }
    // A change, a build through the context's builder (named by `args` or
    // `env`): the workspace compiles there and the artifact comes back.
    let build_via_context = |change: &str, args: &[&str], env: &[(&str, &str)]| {
        append_to_greet(ws.path(), change);
        std::fs::remove_dir_all(ws.path().join("target")).unwrap();
        let o = green_cross_command(ws.path(), args)
            .env_remove("DOCKER_HOST")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", show(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("Compiling greet"),
            "{}",
            show(&o)
        );
        assert!(
            ws.path()
                .join(format!("target/{t}/debug/hello-cross"))
                .is_file()
        );
        assert!(!engine_cache_mentions(None, None, &cache_id));
    };
    build_via_context(
        "pub const VIA_BUILDER: u8 = 2;",
        &["build", "--target", t, "--builder", ctx],
        &[],
    );
    // BUILDX_BUILDER naming the context, as --builder does (buildx alone
    // refuses another context's builder).
    build_via_context(
        "pub const VIA_BUILDX_BUILDER: u8 = 4;",
        &["build", "--target", t],
        &[("BUILDX_BUILDER", ctx)],
    );

    // DOCKER_HOST=ssh://: the same engine, through sshd (the docker CLI
    // runs `docker system dial-stdio` there).
    let ssh =
        std::env::var("GREEN_CROSS_E2E_SSH").unwrap_or_else(|_| "ssh://green-cross-e2e-ssh".into());
    append_to_greet(ws.path(), "pub const VIA_SSH: u8 = 3;");
    std::fs::remove_dir_all(ws.path().join("target")).unwrap();
    let o = green_cross_command(ws.path(), &["build", "--target", t])
        .env("DOCKER_HOST", &ssh)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Compiling greet"),
        "{}",
        show(&o)
    );
    let (ok, out) = run(
        ws.path()
            .join(format!("target/{t}/debug/hello-cross"))
            .to_str()
            .unwrap(),
        &[],
    );
    assert!(ok, "{out}");
    assert!(!engine_cache_mentions(None, None, &cache_id));

    // A builder that does not exist: said so, with where to look.
    let o = green_cross_command(
        ws.path(),
        &["build", "--target", t, "--builder", "no-such-builder"],
    )
    .output()
    .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("docker buildx ls"),
        "{}",
        show(&o)
    );
}

/// The builders `docker buildx ls` lists, by name.
fn builder_names() -> Vec<String> {
    let (ok, out) = run("docker", &["buildx", "ls", "--format", "{{.Name}}"]);
    assert!(ok, "{out}");
    out.lines().map(|l| l.trim().to_string()).collect()
}

#[test]
#[ignore = "needs a Docker engine and the local registry: run ci/test.sh"]
fn builder_create_names_a_buildkit_image_the_engine_cannot_pull_and_leaves_no_builder() {
    // An image that is not in the local registry fails to pull on any
    // machine: the engine's answer is real, and so is buildx's leftover.
    let registry =
        std::env::var("GREEN_CROSS_E2E_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".into());
    let image = format!("{registry}/green-cross-e2e/no-such-buildkit:1");
    let name = "green-cross-e2e-unpullable";
    assert!(!builder_names().iter().any(|n| n == name));
    let o = green_cross(
        &fixture(),
        &["builder", "create", "--name", name, "--image", &image],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(101), "{}", show(&o));
    assert!(
        err.contains(&format!(
            "error: could not create the docker-container builder `{name}`: "
        )),
        "{err}"
    );
    // The engine's own reason, then what to do.
    assert!(err.contains(&format!("{image}: not found")), "{err}");
    assert!(err.contains("name it with --image"), "{err}");
    assert!(err.contains("containerd-snapshotter"), "{err}");
    assert!(
        !builder_names().iter().any(|n| n == name),
        "a builder that did not start was left behind"
    );
}

/// The layers of an image in the local engine (its id changes with the
/// time of every build; its layers only with their contents).
fn image_layers(reference: &str) -> String {
    let (ok, out) = run(
        "docker",
        &[
            "image",
            "inspect",
            "--format",
            "{{json .RootFS.Layers}}",
            reference,
        ],
    );
    assert!(ok, "{out}");
    out.trim().to_string()
}

#[test]
#[ignore = "needs a Docker engine and the base image: run ci/test.sh"]
fn the_runner_image_of_run_is_labelled_and_stays_the_same_when_dependencies_change() {
    let t = "x86_64-unknown-linux-gnu";
    let ws = fixture_copy();
    // A command as the runner: `run` goes through a runner image.
    std::fs::write(
        ws.path().join("Cross.toml"),
        format!("[target.{t}]\nrunner = \"env\"\n"),
    )
    .unwrap();
    let p = green_cross(ws.path(), &["plan", "run", "--target", t]);
    assert!(p.status.success(), "{}", show(&p));
    let plan: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    let tag = plan["run"]["image"]["tag"].as_str().unwrap().to_string();

    let o = green_cross_run(ws.path(), &["run", "--target", t, "--", "--exit=0"], "");
    assert!(o.status.success(), "{}", show(&o));
    let first = image_layers(&tag);
    let (ok, labels) = run(
        "docker",
        &[
            "image",
            "inspect",
            "--format",
            "{{json .Config.Labels}}",
            &tag,
        ],
    );
    assert!(ok, "{labels}");
    assert!(
        labels.contains("\"dev.green-cross.image\":\"green-cross-runner\""),
        "{labels}"
    );

    // Dependencies built otherwise: a new dependencies layer, the same runner image
    // (it used to be built on the dependencies, and every change of them
    // left a whole toolchain image behind).
    let manifest = ws.path().join("Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("\n[profile.dev.package.itoa]\nopt-level = 1\n");
    std::fs::write(&manifest, text).unwrap();
    let o = green_cross_run(ws.path(), &["run", "--target", t, "--", "--exit=0"], "");
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(image_layers(&tag), first);
    let (ok, out) = run("docker", &["image", "rm", &tag]);
    assert!(ok, "{out}");
}

#[test]
#[ignore = "needs a Docker engine and the base image: run ci/test.sh"]
fn rustflags_from_the_environment_or_cargo_config_join_the_target_s_own() {
    // With RUSTFLAGS or CARGO_ENCODED_RUSTFLAGS set, cargo ignores every
    // target rustflags, and build.rustflags when a target has its own:
    // green-cross's (here lld) must still reach rustc, and so must the
    // user's (here a RUNPATH, seen in the binary).
    let t = "x86_64-unknown-linux-gnu";
    let ws = fixture_copy();
    let bin = ws.path().join(format!("target/{t}/debug/hello-cross"));
    let check = |how: &str, env: &[(&str, &str)]| {
        let o = green_cross_command(ws.path(), &["build", "--target", t])
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(o.status.success(), "{how}: {}", show(&o));
        let (_, comment) = run("readelf", &["-p", ".comment", bin.to_str().unwrap()]);
        assert!(comment.contains("LLD"), "{how}: {comment}");
        let (_, dynamic) = run("readelf", &["-d", bin.to_str().unwrap()]);
        assert!(
            dynamic.contains(&format!("[/green-cross-e2e/{how}]")),
            "{how}: {dynamic}"
        );
        let (ok, out) = run(bin.to_str().unwrap(), &[]);
        assert!(ok, "{how}: {out}");
    };
    check(
        "rustflags",
        &[(
            "RUSTFLAGS",
            "-C link-arg=-Wl,-rpath,/green-cross-e2e/rustflags",
        )],
    );
    check(
        "encoded",
        &[(
            "CARGO_ENCODED_RUSTFLAGS",
            "-C\x1flink-arg=-Wl,-rpath,/green-cross-e2e/encoded",
        )],
    );
    std::fs::create_dir_all(ws.path().join(".cargo")).unwrap();
    std::fs::write(
        ws.path().join(".cargo/config.toml"),
        "[build]\nrustflags = [\"-C\", \"link-arg=-Wl,-rpath,/green-cross-e2e/config\"]\n",
    )
    .unwrap();
    check("config", &[]);
}

#[test]
#[ignore = "needs a Docker engine and the base image: run ci/test.sh"]
fn doctor_finds_the_builder_its_cache_export_and_the_base_image() {
    let o = green_cross(&fixture(), &["doctor"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(out.contains("      ok  builder: `"), "{out}");
    assert!(
        out.contains("      ok  cache export: the builder can export build cache"),
        "{out}"
    );
    let base = std::env::var("GREEN_CROSS_E2E_BASE_IMAGE")
        .unwrap_or_else(|_| "green-cross/debian:bookworm".into());
    assert!(
        out.contains(&format!("      ok  image {base}: in the engine")),
        "{out}"
    );
    // What the builder's cache holds, and what its garbage collector keeps.
    let cache = out
        .lines()
        .find(|l| l.contains("  build cache: "))
        .unwrap_or_else(|| panic!("no build cache line:\n{out}"));
    assert!(
        cache.contains("B held by `") && cache.contains("garbage collector keeps"),
        "{out}"
    );
    // An image the engine does not have: a warning with what to do, not a
    // failure (a build would pull it).
    let o = green_cross_command(&fixture(), &["doctor"])
        .env("GREEN_CROSS_BASE_IMAGE", "green-cross-e2e/absent:1")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        out.contains(
            " warning  image green-cross-e2e/absent:1: not in the engine: the first build pulls it"
        ),
        "{out}"
    );
    assert!(
        out.contains("help: where its registry is out of reach"),
        "{out}"
    );
}

/// A crate that uses the `libc` crate (which links `-liconv` on Apple
/// targets) and CoreFoundation, built for macOS with no Apple SDK: the
/// binary's load commands name the libraries where a Mac has them. No
/// warning about `xcrun` either.
#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn macos_links_iconv_and_frameworks_at_a_mac_s_install_paths_without_an_sdk() {
    let ws = fixture_copy_of(&fixture_named("macos-libs"));
    let t = "aarch64-apple-darwin";
    let o = green_cross(ws.path(), &["build", "--release", "--target", t]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("xcrun"),
        "{}",
        show(&o)
    );
    let bin = ws.path().join("target").join(t).join("release/cfapp");
    // Also: loads on the oldest macOS Rust supports on arm64, not only on
    // the newest that zig knows.
    common::assert_loads_on_a_mac(&bin);
}

/// A macOS SDK of the user's (SDKROOT on this machine) with a framework
/// that green-cross's stubs do not have: a crate linking it fails without
/// the SDK and links with it, and the binary loads the framework from its
/// install path on a Mac. The SDK reaches the link as a named context, so
/// a stale or absent SDKROOT is the only difference between the two runs.
#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn a_user_sdk_from_sdkroot_links_what_the_stubs_lack() {
    let ws = fixture_copy_of(&fixture_named("macos-sdk"));
    let t = "aarch64-apple-darwin";
    let args = ["build", "--release", "--target", t];
    let o = green_cross(ws.path(), &args);
    assert_ne!(o.status.code(), Some(0), "{}", show(&o));
    assert!(show(&o).contains("GreenSdk"), "{}", show(&o));

    let sdk = tempfile::tempdir().unwrap();
    let root = sdk.path().join("MacOSX.sdk");
    let framework = root.join("System/Library/Frameworks/GreenSdk.framework");
    std::fs::create_dir_all(root.join("usr/lib")).unwrap();
    std::fs::create_dir_all(root.join("usr/include")).unwrap();
    std::fs::create_dir_all(&framework).unwrap();
    std::fs::write(
        framework.join("GreenSdk.tbd"),
        "--- !tapi-tbd\ntbd-version: 4\ntargets: [ arm64-macos ]\n\
         install-name: '/System/Library/Frameworks/GreenSdk.framework/Versions/A/GreenSdk'\n\
         exports:\n  - targets: [ arm64-macos ]\n    symbols: [ _green_sdk_answer ]\n...\n",
    )
    .unwrap();
    let o = green_cross_command(ws.path(), &args)
        .env("SDKROOT", &root)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let bin = ws.path().join("target").join(t).join("release/sdkapp");
    let dylibs = common::macos_dylibs(&bin);
    assert!(
        dylibs.contains("/System/Library/Frameworks/GreenSdk.framework/Versions/A/GreenSdk"),
        "{dylibs}"
    );
}

/// A workspace at a path with a quote, a comma, a `$` and blanks (its
/// CA bundle too), built from a member directory whose name has a blank
/// and shell characters: buildx's options, the mounts and WORKDIR keep
/// each path whole.
#[test]
#[ignore = "needs a Docker engine with BuildKit"]
fn a_workspace_at_a_path_with_quotes_commas_and_blanks_builds() {
    let t = "x86_64-unknown-linux-gnu";
    let parent = tempfile::tempdir().unwrap();
    let ws = parent.path().join("my \"team\", $HOME & co").join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    common::copy_dir(&fixture(), &ws);
    let _ = std::fs::remove_dir_all(ws.join("target"));
    // The binary's crate moves to a directory named `the app; (v2)`.
    std::fs::rename(ws.join("app"), ws.join("the app; (v2)")).unwrap();
    let manifest = ws.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("\"app\"", "\"the app; (v2)\"")).unwrap();
    let ca = ws.join("ca, \"corp\".pem");
    std::fs::copy("/etc/ssl/certs/ca-certificates.crt", &ca).unwrap();
    let member = ws.join("the app; (v2)");
    let o = green_cross_command(&member, &["build", "--target", t])
        .env("GREEN_CROSS_CA_BUNDLE", &ca)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    let bin = ws.join(format!("target/{t}/debug/hello-cross"));
    let (ok, out) = run(bin.to_str().unwrap(), &[]);
    assert!(
        ok && out.starts_with(&expected_line("x86_64", "linux")),
        "{out}"
    );
}

/// The processes whose command line names `needle` (the engine client of
/// a run names its temporary directory, `green-cross-<pid>-...`).
fn processes_naming(needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) {
                out.push(cmd);
            }
        }
    }
    out
}

/// What a run of green-cross `pid` left: its temporary directories (for
/// the contexts, and for outputs in the target dir).
fn leftovers_of(ws: &Path, pid: u32) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for (dir, prefix) in [
        (std::env::temp_dir(), format!("green-cross-{pid}-")),
        (ws.join("target"), format!(".green-cross-out-{pid}-")),
    ] {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                out.push(e.path());
            }
        }
    }
    out
}

/// Start a build that compiles, and send `signal` to green-cross alone
/// (as CI runners and `timeout` do) once cargo runs; its exit status and
/// what it printed.
fn signal_during_a_build(ws: &Path, signal: &str) -> (u32, std::process::ExitStatus, String) {
    use std::io::{BufRead, BufReader};
    // A source change no cache has seen, once per signal.
    let lib = ws.join("greet/src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = signal.trim_start_matches('-');
    std::fs::write(
        &lib,
        format!("{text}\npub const SIG{name}: u128 = {nanos};\n"),
    )
    .unwrap();
    let mut child = green_cross_command(ws, &["build", "--target", "x86_64-unknown-linux-gnu"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut seen = String::new();
    let mut sent = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let Ok(line) = line else { break };
        seen.push_str(&line);
        seen.push('\n');
        if !sent && line.contains("Compiling") {
            let ok = Command::new("kill")
                .args([signal, &pid.to_string()])
                .status()
                .unwrap()
                .success();
            assert!(ok, "kill {signal}");
            sent = true;
        }
    }
    let status = child.wait().unwrap();
    assert!(sent, "the build never reached cargo:\n{seen}");
    (pid, status, seen)
}

/// Wait up to `secs` for nothing to run that names `needle`.
fn no_process_naming(needle: &str, secs: u64) -> Vec<String> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let left = processes_naming(needle);
        if left.is_empty() || std::time::Instant::now() > until {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn sigterm_and_sigkill_leave_no_process_no_temporary_directory_and_no_stray_output() {
    let ws = fixture_copy();
    let bin = ws
        .path()
        .join("target/x86_64-unknown-linux-gnu/debug/hello-cross");

    // SIGTERM: handled as Ctrl-C is, the engine client ended with it.
    let (pid, status, seen) = signal_during_a_build(ws.path(), "-TERM");
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(
        seen.contains("interrupted; no artifact was written"),
        "{seen}"
    );
    let left = no_process_naming(&format!("green-cross-{pid}-"), 5);
    assert!(left.is_empty(), "still running: {left:?}");
    assert!(
        leftovers_of(ws.path(), pid).is_empty(),
        "{:?}",
        leftovers_of(ws.path(), pid)
    );
    assert!(!bin.exists());

    // SIGKILL: nothing runs on (the kernel ends the engine client); the
    // temporary directories stay until the next build sweeps them.
    let (pid, status, seen) = signal_during_a_build(ws.path(), "-KILL");
    assert_eq!(status.signal(), Some(9), "{seen}");
    let left = no_process_naming(&format!("green-cross-{pid}-"), 20);
    assert!(
        left.is_empty(),
        "still running after green-cross was killed: {left:?}"
    );
    assert!(!bin.exists());
    // What it left is its user's alone until then.
    for d in leftovers_of(ws.path(), pid) {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", d.display());
    }
    let o = green_cross(
        ws.path(),
        &["build", "--target", "x86_64-unknown-linux-gnu"],
    );
    assert!(o.status.success(), "{}", show(&o));
    assert!(
        leftovers_of(ws.path(), pid).is_empty(),
        "{:?}",
        leftovers_of(ws.path(), pid)
    );
    assert_no_temporary_output(ws.path());
    assert!(bin.exists());
}

/// `env.secrets`: a token that a compile step reads (here `env!` in the
/// library) reaches cargo, and is in neither the Dockerfile nor the
/// engine's log; a new value is read without a rebuild being asked for.
#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn env_secrets_reach_the_compile_and_nothing_keeps_them() {
    let ws = fixture_copy();
    let t = "x86_64-unknown-linux-gnu";
    let lib = ws.path().join("greet/src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        format!("{text}\n#[used]\npub static TOKEN: &str = env!(\"E2E_TOKEN\");\n"),
    )
    .unwrap();
    std::fs::write(
        ws.path().join("Cross.toml"),
        "[build.env]\nsecrets = [\"E2E_TOKEN\"]\n",
    )
    .unwrap();
    let new_token = || {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        format!("tok-{}", now.unwrap().as_nanos())
    };
    // Twice, the second time with a new value and nothing else changed:
    // BuildKit's cache key does not hold a secret's value, so only a build
    // step that always runs sees the change (cargo then recompiles).
    for token in [new_token(), new_token()] {
        let o = green_cross_command(ws.path(), &["build", "--target", t])
            .env("E2E_TOKEN", &token)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", show(&o));
        let bin = std::fs::read(ws.path().join(format!("target/{t}/debug/hello-cross"))).unwrap();
        assert!(
            bin.windows(token.len()).any(|w| w == token.as_bytes()),
            "the compile read the secret {token}"
        );
        let log =
            std::fs::read_to_string(ws.path().join("target/green-cross/last-build.log")).unwrap();
        assert!(!log.contains(&token), "the log holds the secret");
    }
    let token = new_token();
    let df = green_cross_command(ws.path(), &["dockerfile", "--target", t])
        .env("E2E_TOKEN", &token)
        .output()
        .unwrap();
    assert!(df.status.success() && !String::from_utf8_lossy(&df.stdout).contains(&token));
}

#[test]
#[ignore = "needs a Docker engine: run ci/test.sh"]
fn a_custom_target_specification_builds_with_build_std_and_its_own_table() {
    // x86_64 Linux under a name of its own (tests/fixtures/specs): std is
    // built from source, the C file with the cc crate, and
    // `[target.<name>]` applies as cross applies it.
    let ws = fixture_copy();
    let name = "x86_64-green-linux-gnu";
    std::fs::create_dir_all(ws.path().join("specs")).unwrap();
    std::fs::copy(
        fixture_named("specs").join(format!("{name}.json")),
        ws.path().join(format!("specs/{name}.json")),
    )
    .unwrap();
    std::fs::write(
        ws.path().join("Cross.toml"),
        format!(
            "[target.{name}]\nbuild-std = [\"std\", \"panic_abort\"]\npre-build = [\"echo spec-table > /etc/green-cross-e2e-spec\"]\n"
        ),
    )
    .unwrap();
    let spec = format!("specs/{name}.json");
    let o = green_cross(ws.path(), &["dockerfile", "--target", &spec]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("echo spec-table") && text.contains("'-Zbuild-std=std,panic_abort'"),
        "{}",
        show(&o)
    );
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("warning"),
        "{}",
        show(&o)
    );
    let o = green_cross(ws.path(), &["build", "--target", &spec]);
    assert!(o.status.success(), "{}", show(&o));
    let bin = ws.path().join(format!("target/{name}/debug/hello-cross"));
    assert!(file_type(&bin).contains("x86-64"), "{}", file_type(&bin));
    let (ok, out) = run(bin.to_str().unwrap(), &[]);
    assert!(ok, "{out}");
    assert_eq!(out.trim(), expected_line("x86_64", "linux"));
    // Outside the workspace it cannot be read by the build: said before any.
    let o = green_cross(ws.path(), &["build", "--target", "/tmp/elsewhere.json"]);
    assert_eq!(o.status.code(), Some(101), "{}", show(&o));
    assert!(
        show(&o).contains("must be inside the workspace"),
        "{}",
        show(&o)
    );
}
