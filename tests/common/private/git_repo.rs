//! What the git servers share: a bare repository holding one crate, made
//! with git configured by nothing but its command line.

use super::TestCrate;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Run a program to its end; its stdout, or the test fails with its output.
pub fn run(c: &mut Command) -> String {
    let o = c
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        o.status.success(),
        "{c:?}: {}\n{}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// git with no system or global configuration.
pub fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args([
            "-c",
            "user.name=green-cross tests",
            "-c",
            "user.email=tests@green-cross.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ]);
    c
}

/// `krate` committed (one commit on `main`) and cloned bare into
/// `<dir>/repo.git`, which is returned; the work tree is `<dir>/work`.
pub fn bare_repo(dir: &Path, krate: &TestCrate) -> PathBuf {
    let work = dir.join("work");
    std::fs::create_dir_all(work.join("src")).unwrap();
    std::fs::write(work.join("Cargo.toml"), krate.manifest(None)).unwrap();
    std::fs::write(work.join("src/lib.rs"), &krate.lib_rs).unwrap();
    run(git(&work).args(["init", "-q"]));
    run(git(&work).args(["add", "-A"]));
    run(git(&work).args([
        "commit",
        "-q",
        "-m",
        &format!("{} {}", krate.name, krate.version),
    ]));
    run(git(dir).args(["clone", "-q", "--bare", "work", "repo.git"]));
    dir.join("repo.git")
}

/// A new commit of the crate in `repo` (made by [`bare_repo`]) whose
/// `src/lib.rs` is `lib_rs`, pushed to the bare repository.
pub fn commit_lib(repo: &Path, lib_rs: &str) {
    let work = repo.parent().unwrap().join("work");
    std::fs::write(work.join("src/lib.rs"), lib_rs).unwrap();
    run(git(&work).args(["commit", "-q", "-am", "a new lib.rs"]));
    run(git(&work).args(["push", "-q", repo.to_str().unwrap(), "HEAD:main"]));
}
