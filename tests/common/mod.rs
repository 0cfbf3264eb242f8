//! Helpers shared by the integration tests: the fixture workspaces and
//! copies of them to change.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

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
