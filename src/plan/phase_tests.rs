//! Each phase of the planner on its own, from a small builder of inputs.

use super::inputs::Inputs;
use super::*;

#[test]
fn targets_come_from_the_command_line_then_the_environment_then_the_files_then_the_host() {
    let toml = "[build]\ndefault-target = \"aarch64-unknown-linux-gnu\"\n";
    let pick = |args: &str, env: &[(&str, &str)]| {
        let i = Inputs::new(args, toml, env);
        select_targets(&i.inv, &i.settings, &i.host)
    };
    assert_eq!(
        pick("build --target x86_64-unknown-linux-musl", &[]),
        ["x86_64-unknown-linux-musl"]
    );
    let both = [
        ("CROSS_BUILD_TARGET", "armv7-unknown-linux-gnueabihf"),
        ("CARGO_BUILD_TARGET", "x86_64-pc-windows-gnu"),
    ];
    assert_eq!(pick("build", &both), ["armv7-unknown-linux-gnueabihf"]);
    assert_eq!(pick("build", &both[1..]), ["x86_64-pc-windows-gnu"]);
    assert_eq!(pick("build", &[]), ["aarch64-unknown-linux-gnu"]);
    let i = Inputs::new("build", "", &[]);
    assert_eq!(
        select_targets(&i.inv, &i.settings, &i.host),
        ["x86_64-unknown-linux-gnu"]
    );
}

#[test]
fn a_target_specification_must_be_in_the_workspace_and_name_a_target() {
    let i = Inputs::new("build", "", &[]);
    let (name, rel) = custom_spec("specs/board.json", &i.ws).unwrap().unwrap();
    assert_eq!(
        (name.as_str(), rel.to_str().unwrap()),
        ("board", "specs/board.json")
    );
    assert!(
        custom_spec("aarch64-unknown-linux-gnu", &i.ws)
            .unwrap()
            .is_none()
    );
    assert!(custom_spec("../elsewhere/board.json", &i.ws).is_err());
    assert!(custom_spec("specs/Board.json", &i.ws).is_err());
}

#[test]
fn the_toolchain_phase_makes_one_stage_per_flavour_and_one_per_user_image() {
    let i = Inputs::new(
        "build",
        "[target.aarch64-unknown-linux-gnu]\nimage = \":edge\"\n",
        &[],
    );
    let r = i.recipes(&[
        "aarch64-unknown-linux-gnu",
        "x86_64-unknown-linux-musl",
        "aarch64-apple-darwin",
    ]);
    let mut w = vec![];
    let tc = toolchains(&i.input(), &r, 0, &mut w).unwrap();
    let names: Vec<String> = tc.stages.iter().map(|s| s.name.to_string()).collect();
    assert_eq!(
        names,
        [
            "toolchain",
            "toolchain-alpine",
            "toolchain-aarch64-unknown-linux-gnu"
        ]
    );
    let user = &tc.stages[2];
    assert_eq!(
        user.image,
        "ghcr.io/cross-rs/aarch64-unknown-linux-gnu:edge"
    );
    assert_eq!(
        user.rust_from.as_ref().unwrap().image,
        "rust:1.95.0-slim-bookworm"
    );
    assert_eq!(tc.zig_of(r[2]).as_deref(), Some("aarch64-macos"));
    assert_eq!(tc.flavour_of(r[1]), ImageFlavour::Alpine);
    // Distro mode: one Debian toolchain for every target.
    let i = Inputs::new("build", "", &[("GREEN_CROSS_TOOLCHAIN", "distro")]);
    let r = i.recipes(&["aarch64-unknown-linux-gnu", "x86_64-unknown-linux-musl"]);
    let tc = toolchains(&i.input(), &r, 0, &mut w).unwrap();
    assert_eq!(tc.stages.len(), 1);
    assert!(tc.stages[0].packages.contains(&"rustc-web".to_string()));
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn the_dependencies_stage_runs_where_the_skeleton_has_a_manifest() {
    let i = Inputs::new("build", "", &[]);
    assert_eq!(skeleton_dir_for(&i.ws.skeleton, Path::new("")), SRC_DIR);
    assert_eq!(
        skeleton_dir_for(&i.ws.skeleton, Path::new("src/bin")),
        SRC_DIR
    );
    let nested = [SkeletonFile::Copy("crates/a/Cargo.toml".into())];
    assert_eq!(
        skeleton_dir_for(&nested, Path::new("crates/a/src")),
        format!("{SRC_DIR}/crates/a")
    );
}

#[test]
fn the_shared_cache_is_tagged_with_the_branch_github_names_first() {
    let toml = "[build]\ncache = \"registry.example/org/cache\"\n";
    let triples = ["aarch64-unknown-linux-gnu".to_string()];
    let tags = |env: &[(&str, &str)]| {
        let mut i = Inputs::new("build", toml, env);
        i.ws.git_branch = Some("feature".into());
        let rust = RustupToolchain::Image("1.95.0".into());
        shared_cache(&i.input(), &rust, &triples, &mut vec![]).unwrap()
    };
    let git = tags(&[]);
    assert!(git.to.iter().any(|t| t.contains("feature")), "{git:?}");
    assert!(git.from.iter().any(|t| t.contains("-main")), "{git:?}");
    let gha = tags(&[("GITHUB_HEAD_REF", "pr-branch")]);
    assert!(gha.to.iter().any(|t| t.contains("pr-branch")), "{gha:?}");
    // --cache on the command line over the settings' key.
    let i = Inputs::new("build --cache registry.example/org/other", toml, &[]);
    let rust = RustupToolchain::Image("1.95.0".into());
    let cli = shared_cache(&i.input(), &rust, &triples, &mut vec![]).unwrap();
    assert!(cli.to.iter().all(|t| t.contains("org/other")), "{cli:?}");
}

#[test]
fn one_target_s_plan_joins_its_phases() {
    let i = Inputs::new(
        "test --target aarch64-unknown-linux-gnu",
        "",
        &[("GREEN_CROSS_TOOLCHAIN", "distro")],
    );
    let p = plan(&i.input()).unwrap();
    let t = &p.targets[0];
    assert_eq!(t.from, Stage::Toolchain(Toolchain::Shared));
    assert!(t.runner.is_some(), "test runs its binaries under qemu-user");
    assert_eq!(t.build_from, Stage::Runner(t.triple.clone()));
    assert!(t.fresh);
    let cargo: Vec<&str> = t.cargo.iter().map(String::as_str).collect();
    assert_eq!(&cargo[..3], ["cargo", "test", "--offline"]);
    assert!(cargo.contains(&"--locked"));
}

#[test]
fn the_build_step_starts_from_the_runner_stage_only_where_it_runs_binaries() {
    let build_from = |args: &str| {
        let i = Inputs::new(args, "", &[]);
        let p = plan(&i.input()).unwrap();
        p.targets[0].build_from.clone()
    };
    let arm = "aarch64-unknown-linux-gnu";
    let runner = Stage::Runner(arm.into());
    let deps = Stage::Deps(arm.into());
    assert_eq!(build_from(&format!("test --target {arm}")), runner);
    assert_eq!(build_from(&format!("bench --target {arm}")), runner);
    assert_eq!(build_from(&format!("build --target {arm}")), deps);
    assert_eq!(build_from(&format!("test --target {arm} --no-run")), deps);
    // `run` runs in an image of its own, on the sysroot stage.
    assert_eq!(build_from(&format!("run --target {arm}")), deps);
    // Nothing here runs a macOS binary: its tests are built only.
    let mac = "aarch64-apple-darwin";
    assert_eq!(
        build_from(&format!("test --target {mac}")),
        Stage::Deps(mac.into())
    );
}

#[test]
fn a_build_with_env_secrets_is_never_served_from_cache() {
    let fresh = |args: &str, env: &[(&str, &str)]| {
        let toml = "[build.env]\nsecrets = [\"API_TOKEN\"]\n";
        let i = Inputs::new(args, toml, env);
        plan(&i.input()).unwrap().targets[0].fresh
    };
    let arm = "build --target aarch64-unknown-linux-gnu";
    assert!(fresh(arm, &[("API_TOKEN", "t")]));
    // Named but not set: nothing is handed over, the cache serves as usual.
    assert!(!fresh(arm, &[]));
}

#[test]
fn a_changed_private_package_is_cleaned_from_the_build_step_s_cached_target_dir() {
    let mut i = Inputs::new("build --target aarch64-unknown-linux-gnu", "", &[]);
    let none = plan(&i.input()).unwrap();
    assert!(none.targets[0].private_clean.is_empty());
    i.ws.private = vec![crate::lockfile::PrivatePackage {
        name: "tool".into(),
        version: "0.1.0".into(),
        source: "git+ssh://git@example.invalid/tool#0123abcd".into(),
    }];
    let p = plan(&i.input()).unwrap();
    let clean = p.targets[0].private_clean.join(" ");
    assert!(clean.starts_with("cargo clean"), "{clean}");
    assert!(
        clean.contains(&format!("--target-dir {TARGET_DIR}")),
        "{clean}"
    );
    assert!(clean.ends_with("-p tool@0.1.0"), "{clean}");
    // In the build step, before the dependencies are copied and cargo runs,
    // and only when the vendored packages' id is not the one recorded.
    let text = crate::dockerfile::render(&p);
    let build = text.split(" AS build-").nth(1).unwrap();
    let check = build.find("if ! cmp -s /green-cross/vendor/id").unwrap();
    assert!(check < build.find("cargo build").unwrap(), "{build}");
    assert!(build.contains("cargo clean --quiet --offline"), "{build}");
    // The commit is not written anywhere.
    assert!(!text.contains("0123abcd"), "{text}");
}
