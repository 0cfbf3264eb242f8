//! Helpers shared by the integration tests: the fixture workspaces and
//! copies of them to change.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The main fixture: a workspace with a binary, a library with a unit test
/// and a benchmark, a C file built by the cc crate, and a crates.io
/// dependency.
pub fn fixture() -> PathBuf {
    fixture_named("hello-cross")
}

pub fn fixture_named(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Copy a directory tree, leaving out any `target` directory.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_name() == "target" {
            continue;
        }
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst)
        } else {
            std::fs::copy(&src, &dst).map(|_| ()).unwrap()
        }
    }
}

/// A copy of a fixture in a new temporary directory.
pub fn fixture_copy_of(dir: &Path) -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("green-cross-test-")
        .tempdir()
        .unwrap();
    copy_dir(dir, d.path());
    d
}

/// green-cross in `dir`, in distro mode on the base image the end-to-end
/// tests use (GREEN_CROSS_E2E_BASE_IMAGE), with no default target from the
/// environment.
pub fn green_cross_command(dir: &Path, args: &[&str]) -> Command {
    let base = std::env::var("GREEN_CROSS_E2E_BASE_IMAGE")
        .unwrap_or_else(|_| "green-cross/debian:bookworm".into());
    let mut c = Command::new(env!("CARGO_BIN_EXE_green-cross"));
    c.args(args)
        .current_dir(dir)
        .env("GREEN_CROSS_TOOLCHAIN", "distro")
        .env("GREEN_CROSS_BASE_IMAGE", base)
        .env_remove("CARGO_BUILD_TARGET");
    c
}

/// A finished command's exit code and output, for assertion messages.
pub fn show(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A one-package workspace (`app`, one binary) rooted at `root`, with its
/// target dir inside, as cargo metadata would describe it: for tests that
/// plan without running cargo.
pub fn app_workspace(root: &Path, branch: Option<&str>) -> green_cross::workspace::Workspace {
    use green_cross::workspace::{Package, SkeletonFile, Workspace};
    Workspace {
        git_branch: branch.map(str::to_string),
        git_default_branch: branch.map(str::to_string),
        config_build_rustflags: None,
        root: root.to_path_buf(),
        target_dir: root.join("target"),
        workdir: PathBuf::new(),
        manifest: None,
        has_lockfile: true,
        skeleton: vec![
            SkeletonFile::Copy("Cargo.lock".into()),
            SkeletonFile::Copy("Cargo.toml".into()),
            SkeletonFile::StubMain("src/main.rs".into()),
        ],
        packages: vec![Package {
            name: "app".into(),
            dir: PathBuf::new(),
            bins: vec!["app".into()],
            default_run: None,
        }],
        prefix: PathBuf::new(),
        outside: vec![],
    }
}
