//! The no-op fingerprint: what it stamps, what changes it, and when a build
//! counts as fresh. Real files in a temporary workspace; no engine (the
//! e2e tests show that a fresh build does not reach BuildKit).

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use green_cross::artifacts::Artifact;
use green_cross::cli::Invocation;
use green_cross::config::{CrossToml, Env, Settings};
use green_cross::dockerfile::render;
use green_cross::fingerprint::{self, Stamp};
use green_cross::plan::{BuildPlan, Host, PlanInput, plan};
use green_cross::target::Recipes;

fn env() -> Env {
    [("GREEN_CROSS_TOOLCHAIN".to_string(), "distro".to_string())].into()
}

fn make(root: &Path, args: &str, env: &Env) -> BuildPlan {
    let ws = common::app_workspace(root, None);
    let inv = Invocation::parse(&shell_words::split(args).unwrap()).unwrap();
    let (toml, _) = CrossToml::parse("Cross.toml".as_ref(), "").unwrap();
    let settings = Settings::resolve(env, &toml).unwrap();
    let host = Host {
        rustc_version: "1.95.0".into(),
        triple: "x86_64-unknown-linux-gnu".into(),
        commit_date: Some("2026-10-27".into()),
    };
    plan(&PlanInput {
        invocation: &inv,
        workspace: &ws,
        settings: &settings,
        recipes: &Recipes::embedded().unwrap(),
        env,
        host: &host,
        ca_bundle: None,
    })
    .unwrap()
}

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::write(p.join("Cargo.toml"), "[package]\nname = \"app\"\n").unwrap();
    fs::write(p.join("Cargo.lock"), "version = 4\n").unwrap();
    fs::create_dir_all(p.join("src")).unwrap();
    fs::write(p.join("src/main.rs"), "fn main() {}\n").unwrap();
    fs::create_dir_all(p.join(".git/objects")).unwrap();
    fs::write(p.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    fs::create_dir_all(p.join("target/debug")).unwrap();
    fs::write(p.join("target/debug/app"), "old").unwrap();
    dir
}

fn digest_of(plan: &BuildPlan, env: &Env) -> String {
    let files = fingerprint::scan(plan).unwrap();
    fingerprint::digest(plan, &render(plan), env, None, &files)
}

fn set_mtime(path: &Path, t: SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn the_scan_stamps_the_context_without_git_and_target() {
    let ws = workspace();
    std::os::unix::fs::symlink("src/main.rs", ws.path().join("link.rs")).unwrap();
    let plan = make(ws.path(), "build --target x86_64-unknown-linux-gnu", &env());
    let files = fingerprint::scan(&plan).unwrap();
    let paths: Vec<&str> = files.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "workspace/Cargo.lock",
            "workspace/Cargo.toml",
            "workspace/link.rs",
            "workspace/src",
            "workspace/src/main.rs"
        ]
    );
    let link: &Stamp = &files[2];
    assert_eq!(
        link.kind, "lsrc/main.rs",
        "a link is stamped with its target"
    );
    assert_eq!(files[4].size, 13);
}

#[test]
fn the_digest_changes_with_the_sources_the_plan_and_the_engine_options() {
    let ws = workspace();
    let env = env();
    let args = "build --target x86_64-unknown-linux-gnu";
    let plan = make(ws.path(), args, &env);
    let first = digest_of(&plan, &env);
    assert_eq!(first, digest_of(&plan, &env), "same inputs, same digest");

    // Writes under target/ and .git are not inputs.
    fs::write(ws.path().join("target/debug/app"), "newer").unwrap();
    fs::write(ws.path().join(".git/HEAD"), "ref: refs/heads/other\n").unwrap();
    assert_eq!(first, digest_of(&plan, &env));

    // The same bytes with a new modification time, as after an edit that
    // was undone: changed (cargo would rebuild too).
    let main = ws.path().join("src/main.rs");
    set_mtime(&main, SystemTime::now() + Duration::from_secs(5));
    let touched = digest_of(&plan, &env);
    assert_ne!(first, touched);

    // A new file in the context.
    fs::write(ws.path().join("src/extra.rs"), "").unwrap();
    let added = digest_of(&plan, &env);
    assert_ne!(touched, added);

    // Another profile is another plan.
    let release = make(ws.path(), &format!("{args} --release"), &env);
    assert_ne!(added, digest_of(&release, &env));

    // Options handed to buildx.
    let mut with_opts = env.clone();
    with_opts.insert("CROSS_BUILD_OPTS", "--build-arg X=1");
    assert_ne!(added, digest_of(&plan, &with_opts));

    // Another builder.
    let files = fingerprint::scan(&plan).unwrap();
    assert_ne!(
        added,
        fingerprint::digest(&plan, &render(&plan), &env, Some("remote"), &files)
    );
}

#[test]
fn the_scan_leaves_out_what_the_dockerignore_leaves_out_of_the_context() {
    let ws = workspace();
    let p = ws.path();
    fs::write(
        p.join(".dockerignore"),
        "notes\n*.log\n!keep.log\ndocs\n!docs/api.md\n",
    )
    .unwrap();
    fs::write(p.join("build.log"), "").unwrap();
    fs::write(p.join("keep.log"), "").unwrap();
    fs::create_dir_all(p.join("notes/old")).unwrap();
    fs::write(p.join("notes/old/todo.txt"), "").unwrap();
    fs::create_dir_all(p.join("docs")).unwrap();
    fs::write(p.join("docs/api.md"), "").unwrap();
    fs::write(p.join("docs/draft.md"), "").unwrap();
    let plan = make(p, "build --target x86_64-unknown-linux-gnu", &env());
    let files = fingerprint::scan(&plan).unwrap();
    let paths: Vec<&str> = files.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "workspace/.dockerignore",
            "workspace/Cargo.lock",
            "workspace/Cargo.toml",
            // Left out, but sent for the file put back in it.
            "workspace/docs",
            "workspace/docs/api.md",
            "workspace/keep.log",
            "workspace/src",
            "workspace/src/main.rs"
        ]
    );
}

#[test]
fn a_change_the_dockerignore_leaves_out_keeps_the_digest() {
    let ws = workspace();
    let p = ws.path();
    let env = env();
    fs::write(p.join(".dockerignore"), "notes\n*.log\n").unwrap();
    fs::create_dir_all(p.join("notes")).unwrap();
    fs::write(p.join("notes/todo.txt"), "one").unwrap();
    fs::write(p.join("build.log"), "one").unwrap();
    let plan = make(p, "build --target x86_64-unknown-linux-gnu", &env);
    let first = digest_of(&plan, &env);

    // What BuildKit is not sent does not matter.
    fs::write(p.join("notes/todo.txt"), "two, longer").unwrap();
    fs::write(p.join("notes/new.txt"), "").unwrap();
    fs::write(p.join("build.log"), "two, longer").unwrap();
    fs::write(p.join("other.log"), "").unwrap();
    assert_eq!(first, digest_of(&plan, &env));

    // What it is sent does.
    fs::write(p.join("src/main.rs"), "fn main() { println!(); }\n").unwrap();
    let changed = digest_of(&plan, &env);
    assert_ne!(first, changed);
    fs::write(p.join("notes.txt"), "").unwrap();
    assert_ne!(changed, digest_of(&plan, &env));
}

#[test]
fn only_build_is_skipped_and_the_switch_turns_it_off() {
    let ws = workspace();
    let env = env();
    let t = "--target x86_64-unknown-linux-gnu";
    assert!(fingerprint::applies(
        &make(ws.path(), &format!("build {t}"), &env),
        &env
    ));
    for sub in ["test", "check", "run"] {
        let p = make(ws.path(), &format!("{sub} {t}"), &env);
        assert!(!fingerprint::applies(&p, &env), "{sub}");
    }
    for off in ["0", "false", "off"] {
        let mut e = env.clone();
        e.insert(fingerprint::SWITCH, off);
        let p = make(ws.path(), &format!("build {t}"), &e);
        assert!(!fingerprint::applies(&p, &e), "{off}");
    }
}

#[test]
fn a_build_is_fresh_only_with_the_same_digest_and_untouched_artifacts() {
    let ws = workspace();
    let env = env();
    let plan = make(ws.path(), "build --target x86_64-unknown-linux-gnu", &env);
    let dir = ws.path().join("target/x86_64-unknown-linux-gnu/debug");
    fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("app");
    fs::write(&bin, "binary").unwrap();
    let placed = vec![Artifact {
        target: "x86_64-unknown-linux-gnu".into(),
        path: bin.clone(),
        size: 6,
    }];
    let digest = digest_of(&plan, &env);
    assert_eq!(fingerprint::fresh(&plan, &digest), None, "no record yet");

    fingerprint::save(&plan, &digest, &placed).unwrap();
    assert_eq!(fingerprint::fresh(&plan, &digest), Some(placed.clone()));
    assert_eq!(fingerprint::fresh(&plan, &"0".repeat(64)), None);

    // An artifact rewritten by something else (a host cargo, a user).
    set_mtime(&bin, SystemTime::now() + Duration::from_secs(5));
    assert_eq!(fingerprint::fresh(&plan, &digest), None);
    fingerprint::save(&plan, &digest, &placed).unwrap();
    assert!(fingerprint::fresh(&plan, &digest).is_some());

    // An artifact removed.
    fs::remove_file(&bin).unwrap();
    assert_eq!(fingerprint::fresh(&plan, &digest), None);

    // Records of other target sets and profiles are kept apart.
    let release = make(
        ws.path(),
        "build --release --target x86_64-unknown-linux-gnu",
        &env,
    );
    assert_ne!(
        fingerprint::record_path(&plan),
        fingerprint::record_path(&release)
    );
    assert!(fingerprint::record_path(&plan).starts_with(ws.path().join("target/green-cross")));
}
