//! Helpers shared by the integration tests: the fixture workspaces and
//! copies of them to change.
#![allow(dead_code)]
// The harness reads its own settings (GREEN_CROSS_E2E_*) from the
// process environment; green-cross itself is handed an Env.
#![allow(clippy::disallowed_methods)]

pub mod dockerfile;
pub mod private;

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

#[allow(unused_imports)]
pub use green_cross::plan::inputs::app_workspace;

/// Run a Windows executable under wine, with the shim of a DLL that wine 8
/// lacks, built here with MinGW; (success, stdout and stderr).
pub fn run_wine(exe: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("docker/wine");
    let dll = dir.path().join("bcryptprimitives.dll");
    let o = Command::new("x86_64-w64-mingw32-gcc")
        .args([
            "-shared",
            "-O2",
            "-o",
            dll.to_str().unwrap(),
            support.join("bcryptprimitives.c").to_str().unwrap(),
            support.join("bcryptprimitives.def").to_str().unwrap(),
            "-ladvapi32",
        ])
        .output()
        .expect("x86_64-w64-mingw32-gcc runs");
    assert!(o.status.success(), "building the wine shim: {}", show(&o));
    let local = dir.path().join("app.exe");
    std::fs::copy(exe, &local).unwrap();
    let wine = ["/usr/lib/wine/wine64", "/usr/bin/wine64"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("wine");
    let prefix = tempfile::tempdir().unwrap();
    let o = Command::new(wine)
        .arg(&local)
        .current_dir(dir.path())
        .env("WINEPREFIX", prefix.path())
        .env("WINEARCH", "win64")
        .env("WINEDEBUG", "-all")
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
        .env_remove("DISPLAY")
        .output()
        .expect("wine runs");
    let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&o.stderr));
    (o.status.success(), s)
}

/// Run a program; (success, stdout and stderr).
pub fn run(program: &str, args: &[&str]) -> (bool, String) {
    let o = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&o.stderr));
    (o.status.success(), s)
}

/// The oldest macOS a Mach-O binary loads on (`minos` of LC_BUILD_VERSION,
/// or `version` of the older LC_VERSION_MIN_MACOSX), from llvm-objdump.
pub fn macos_min_version(bin: &Path) -> String {
    let (ok, headers) = run(
        "llvm-objdump",
        &["--macho", "--private-headers", bin.to_str().unwrap()],
    );
    assert!(ok, "{headers}");
    let mut lines = headers
        .lines()
        .skip_while(|l| !l.contains("LC_BUILD_VERSION") && !l.contains("LC_VERSION_MIN_MACOSX"));
    lines
        .find_map(|l| {
            let l = l.trim();
            l.strip_prefix("minos ")
                .or_else(|| l.strip_prefix("version "))
                .map(str::to_string)
        })
        .unwrap_or_else(|| panic!("no minimum macOS version in:\n{headers}"))
}

/// The libraries a Mach-O binary loads (`llvm-objdump --dylibs-used`).
pub fn macos_dylibs(bin: &Path) -> String {
    let (ok, dylibs) = run(
        "llvm-objdump",
        &["--macho", "--dylibs-used", bin.to_str().unwrap()],
    );
    assert!(ok, "{dylibs}");
    dylibs
}

/// A binary linked for an arm64 Mac loads libSystem, libiconv and
/// CoreFoundation from their install paths on a Mac, and loads on the
/// oldest macOS Rust supports there (11.0); its dylibs, for more checks.
pub fn assert_loads_on_a_mac(bin: &Path) -> String {
    let dylibs = macos_dylibs(bin);
    for lib in [
        "/usr/lib/libSystem.B.dylib",
        "/usr/lib/libiconv.2.dylib",
        "/System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation",
    ] {
        assert!(dylibs.contains(lib), "no {lib} in:\n{dylibs}");
    }
    assert_eq!(macos_min_version(bin), "11.0", "minimum macOS");
    dylibs
}
