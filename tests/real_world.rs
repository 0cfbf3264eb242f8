//! End-to-end on a workspace like the ones users have (tests/fixtures/
//! real-world): the `libc` crate, ring (C and assembly), rusqlite with its
//! bundled SQLite, a C and a C++ file through the cc crate, openssl
//! `vendored`, tokio, rustls with its default provider (aws-lc-rs),
//! core-foundation on macOS, and a path dependency outside the workspace
//! root. Built for the five mission targets in one invocation, each
//! artifact run (natively, under qemu-user, under wine) or, for macOS,
//! checked for the load commands a Mac needs.
//!
//! This is the longest suite (every target compiles OpenSSL, AWS-LC and
//! SQLite from source), so `cargo test` skips it as ignored. ci/test.sh runs
//! it in the dev profile (C at -O0 compiles in about half the time);
//! ci/real-world.sh runs it in the release profile
//! (GREEN_CROSS_E2E_REAL_WORLD_PROFILE=release), with its LTO and strip.
// The harness reads its own settings (GREEN_CROSS_E2E_*) from the
// process environment; green-cross itself is handed an Env.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{green_cross_command, run, run_wine, show};
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGETS: [&str; 5] = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-gnu",
    "armv7-unknown-linux-musleabihf",
    "x86_64-pc-windows-gnu",
    "aarch64-apple-darwin",
];

/// A copy of the fixture's whole tree (the workspace and the shared crate
/// beside it), so that the path dependency keeps its relative place.
fn fixture_tree() -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real-world");
    let dir = tempfile::tempdir().unwrap();
    let ok = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", src.display()))
        .arg(dir.path())
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let _ = std::fs::remove_dir_all(dir.path().join("ws/target"));
    dir
}

/// The cargo profile to build in: `dev` unless
/// GREEN_CROSS_E2E_REAL_WORLD_PROFILE names another.
fn profile() -> String {
    std::env::var("GREEN_CROSS_E2E_REAL_WORLD_PROFILE").unwrap_or_else(|_| "dev".into())
}

/// The directory under target/<triple>/ that cargo names after `profile`.
fn profile_dir(profile: &str) -> &str {
    match profile {
        "dev" | "test" => "debug",
        "bench" => "release",
        other => other,
    }
}

fn artifact(ws: &Path, triple: &str, profile: &str) -> PathBuf {
    let name = if triple.contains("windows") {
        "real-world.exe"
    } else {
        "real-world"
    };
    let dir = profile_dir(profile);
    let p = ws.join("target").join(triple).join(dir).join(name);
    assert!(p.is_file(), "{triple}: no artifact at {}", p.display());
    p
}

/// Every check of the program passed, on the architecture it was built for.
fn assert_all_checks(triple: &str, arch_os: &str, ok: bool, out: &str) {
    assert!(
        ok && out.contains(&format!("real-world: all checks passed on {arch_os}")),
        "{triple}:\n{out}"
    );
    for check in [
        "libc:", "ring:", "openssl:", "sqlite:", "c:", "cpp:", "tokio:", "rustls:", "units:",
    ] {
        assert!(out.contains(check), "{triple}: no `{check}` line:\n{out}");
    }
}

fn run_linux(triple: &str, bin: &Path) {
    let b = bin.to_str().unwrap();
    let (ok, out) = match triple {
        "x86_64-unknown-linux-musl" => run(b, &[]),
        "aarch64-unknown-linux-gnu" => {
            run("qemu-aarch64-static", &["-L", "/usr/aarch64-linux-gnu", b])
        }
        "armv7-unknown-linux-musleabihf" => run("qemu-arm-static", &[b]),
        _ => unreachable!(),
    };
    let arch = match triple {
        "x86_64-unknown-linux-musl" => "x86_64",
        "aarch64-unknown-linux-gnu" => "aarch64",
        _ => "arm",
    };
    assert_all_checks(triple, &format!("{arch}-linux"), ok, &out);
}

fn run_windows(exe: &Path) {
    let (ok, out) = run_wine(exe.to_str().unwrap());
    let out = out.replace("\r\n", "\n");
    assert_all_checks("x86_64-pc-windows-gnu", "x86_64-windows", ok, &out);
}

/// The Mach-O loads what a Mac has, from where a Mac has it.
fn check_macos(bin: &Path) {
    let (ok, ft) = run("file", &["-b", bin.to_str().unwrap()]);
    assert!(
        ok && ft.contains("Mach-O 64-bit") && ft.contains("arm64"),
        "{ft}"
    );
    let dylibs = common::assert_loads_on_a_mac(bin);
    // Nothing from the build machine.
    for line in dylibs.lines().skip(1) {
        let path = line.trim().split(" (").next().unwrap_or_default();
        assert!(
            path.starts_with("/usr/lib/") || path.starts_with("/System/Library/"),
            "{path} is not on a Mac:\n{dylibs}"
        );
    }
}

#[test]
#[ignore = "the longest suite: ci/test.sh and ci/real-world.sh run it"]
fn real_world_workspace_builds_and_runs_for_the_five_mission_targets() {
    let tree = fixture_tree();
    let ws = tree.path().join("ws");
    let profile = profile();
    let mut args = vec!["build", "--locked", "--profile", &profile];
    for t in TARGETS {
        args.extend(["--target", t]);
    }
    let o = green_cross_command(&ws, &args).output().unwrap();
    // Every target that built is checked before the outcome is judged, so
    // that one run reports every target's problem.
    let mut failures = Vec::new();
    for t in TARGETS {
        let checked = std::panic::catch_unwind(|| {
            let bin = artifact(&ws, t, &profile);
            match t {
                "x86_64-pc-windows-gnu" => run_windows(&bin),
                "aarch64-apple-darwin" => check_macos(&bin),
                _ => run_linux(t, &bin),
            }
        });
        if checked.is_err() {
            failures.push(t);
        }
    }
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        failures.is_empty(),
        "checks failed for {failures:?} (above)"
    );
}
