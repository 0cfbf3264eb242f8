//! Golden Dockerfiles: one snapshot per target recipe in each toolchain
//! mode, plus a multi-target file. Rendering must be byte-identical run to
//! run and independent of the order recipes are read in.

mod common;

use std::path::{Path, PathBuf};

use green_cross::dockerfile::render;
use green_cross::plan::inputs::Inputs;
use green_cross::plan::{BuildPlan, Host};
use green_cross::target::Recipes;
use green_cross::workspace::{Package, PinnedToolchain, SkeletonFile, Workspace};

fn workspace() -> Workspace {
    common::app_workspace(Path::new("/work/app"), Some("main"))
}

fn host() -> Host {
    green_cross::plan::inputs::stable_host()
}

fn make(args: &str, mode: &str, cross_toml: &str, recipes: &Recipes) -> BuildPlan {
    try_make(args, mode, cross_toml, recipes).unwrap()
}

fn try_make(
    args: &str,
    mode: &str,
    cross_toml: &str,
    recipes: &Recipes,
) -> green_cross::error::Result<BuildPlan> {
    try_make_in(&workspace(), args, mode, cross_toml, recipes)
}

fn try_make_in(
    ws: &Workspace,
    args: &str,
    mode: &str,
    cross_toml: &str,
    recipes: &Recipes,
) -> green_cross::error::Result<BuildPlan> {
    try_make_on(&host(), ws, args, mode, cross_toml, recipes)
}

/// The plan on a build machine other than the default x86_64 stable one.
fn try_make_on(
    h: &Host,
    ws: &Workspace,
    args: &str,
    mode: &str,
    cross_toml: &str,
    recipes: &Recipes,
) -> green_cross::error::Result<BuildPlan> {
    let mut i = Inputs::new(args, cross_toml, &[("GREEN_CROSS_TOOLCHAIN", mode)]);
    assert!(i.toml_warnings.is_empty(), "{:?}", i.toml_warnings);
    i.ws = ws.clone();
    i.host = h.clone();
    i.recipes = recipes.clone();
    i.ca_bundle = Some("/etc/ssl/certs/ca-certificates.crt".into());
    i.plan()
}

#[test]
fn every_recipe_in_both_modes() {
    let recipes = Recipes::embedded().unwrap();
    assert_eq!(recipes.len(), 9);
    for mode in ["rustup", "distro"] {
        for r in recipes.iter() {
            let p = make(
                &format!("build --release --target {}", r.triple),
                mode,
                "",
                &recipes,
            );
            let text = render(&p);
            assert_eq!(text, render(&p), "rendering is deterministic");
            common::dockerfile::check(&text).unwrap();
            insta::assert_snapshot!(format!("{mode}__{}", r.triple), text);
        }
    }
}

#[test]
fn several_targets_share_one_toolchain_stage() {
    let recipes = Recipes::embedded().unwrap();
    for mode in ["rustup", "distro"] {
        let p = make(
            "build --release --target x86_64-unknown-linux-musl --target aarch64-unknown-linux-gnu --target aarch64-apple-darwin",
            mode,
            "[build.release]\npreset = \"size\"\n",
            &recipes,
        );
        let text = render(&p);
        common::dockerfile::check(&text).unwrap();
        assert_eq!(text.matches(" AS toolchain\n").count(), 1, "{text}");
        insta::assert_snapshot!(format!("{mode}__three_targets_size_preset"), text);
    }
}

#[test]
fn rendering_does_not_depend_on_recipe_order() {
    let embedded = Recipes::embedded().unwrap();
    let files: Vec<(String, String)> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/targets"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect();
    let mut reversed = files.clone();
    reversed.sort();
    reversed.reverse();
    let from_files =
        Recipes::from_files(reversed.iter().map(|(n, t)| (n.as_str(), t.as_str()))).unwrap();
    let args = "build --target armv7-unknown-linux-musleabihf --target x86_64-pc-windows-gnu";
    assert_eq!(
        render(&make(args, "distro", "", &embedded)),
        render(&make(args, "distro", "", &from_files))
    );
}

#[test]
fn compile_step_has_no_network_and_secrets_are_mounts_only() {
    let recipes = Recipes::embedded().unwrap();
    for mode in ["rustup", "distro"] {
        for r in recipes.iter() {
            let text = render(&make(
                &format!("build --target {}", r.triple),
                mode,
                "",
                &recipes,
            ));
            let build_stage = text
                .split(&format!("AS build-{}\n", r.triple))
                .nth(1)
                .unwrap();
            let build_run = build_stage.split("\n\n").next().unwrap();
            assert!(build_run.contains("RUN --network=none"), "{build_run}");
            // The CA bundle reaches builds only as a secret mount.
            assert!(!text.contains("ca-certificates.crt"), "{text}");
            assert!(!text.contains("ARG "), "{text}");
        }
    }
}

#[test]
fn dependencies_compile_in_their_own_layer_with_the_build_steps_flags() {
    let recipes = Recipes::embedded().unwrap();
    let mut ws = workspace();
    // A workspace of two packages, and a user in a directory the skeleton
    // does not have.
    ws.skeleton = vec![
        SkeletonFile::Copy("Cargo.lock".into()),
        SkeletonFile::Copy("Cargo.toml".into()),
        SkeletonFile::Copy("app/Cargo.toml".into()),
        SkeletonFile::StubMain("app/src/main.rs".into()),
        SkeletonFile::Copy("lib/Cargo.toml".into()),
        SkeletonFile::StubLib("lib/src/lib.rs".into()),
    ];
    ws.workdir = "app/src/bin".into();
    ws.packages.push(Package {
        name: "lib".into(),
        dir: "lib".into(),
        bins: vec![],
        default_run: None,
    });
    let p = try_make_in(
        &ws,
        "test --release --target aarch64-unknown-linux-gnu --features fast -- --nocapture",
        "distro",
        "[build.release]\nlto = \"thin\"\n",
        &recipes,
    )
    .unwrap();
    let t = &p.targets[0];
    assert_eq!(t.workdir, "/src/app/src/bin");
    assert_eq!(t.deps_workdir, "/src/app");
    // The build step's command, into the dependencies dir, never running
    // anything, without the test binaries' arguments.
    let expected: Vec<String> = t
        .cargo
        .iter()
        .take_while(|a| *a != "--")
        .map(|a| match a.as_str() {
            "/green-cross/target" => "/green-cross/deps".to_string(),
            _ => a.clone(),
        })
        .chain(["--no-run".to_string()])
        .collect();
    assert_eq!(t.deps_build, expected);
    assert!(t.cargo.contains(&"--nocapture".to_string()));
    assert_eq!(
        t.deps_clean.join(" "),
        "cargo clean --quiet --offline --target aarch64-unknown-linux-gnu --target-dir /green-cross/deps --profile release -p app -p lib"
    );
    // Rendered: the fetch has network and no compile flags; the compile has
    // the build step's flags and no network.
    let text = render(&p);
    let deps = text
        .split("AS deps-aarch64-unknown-linux-gnu\n")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap();
    let runs: Vec<&str> = deps.split("\nRUN ").skip(1).collect();
    assert_eq!(runs.len(), 2, "{deps}");
    assert!(runs[0].contains("cargo fetch") && !runs[0].contains("CARGO_PROFILE"));
    assert!(!runs[0].contains("--network=none"));
    assert!(runs[1].starts_with("--network=none"), "{}", runs[1]);
    assert!(
        runs[1].contains("CARGO_PROFILE_RELEASE_LTO=thin"),
        "{}",
        runs[1]
    );
    assert!(runs[1].contains("cargo clean --quiet"), "{}", runs[1]);
    assert!(deps.starts_with("WORKDIR /src/app\n"), "{deps}");
}

#[test]
fn release_settings_reach_the_compile_steps_not_the_sysroot() {
    let recipes = Recipes::embedded().unwrap();
    let p = make(
        "build --release --target aarch64-unknown-linux-gnu",
        "distro",
        "[build.release]\nlto = \"thin\"\ncodegen-units = 4\n[target.aarch64-unknown-linux-gnu.release]\ncrt-static = true\nstrip = \"symbols\"\n",
        &recipes,
    );
    let t = &p.targets[0];
    assert_eq!(t.build_env["CARGO_PROFILE_RELEASE_LTO"], "thin");
    assert_eq!(t.build_env["CARGO_PROFILE_RELEASE_CODEGEN_UNITS"], "4");
    assert_eq!(t.build_env["CARGO_PROFILE_RELEASE_STRIP"], "symbols");
    assert!(
        t.build_env["CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS"]
            .contains("target-feature=+crt-static")
    );
    assert!(!t.sysroot_env.keys().any(|k| k.starts_with("CARGO_PROFILE")));
    // A dev build gets no release settings.
    let p = make(
        "build --target aarch64-unknown-linux-gnu",
        "distro",
        "[build.release]\nlto = true\n",
        &recipes,
    );
    assert!(
        !p.targets[0]
            .build_env
            .keys()
            .any(|k| k.starts_with("CARGO_PROFILE"))
    );
}

#[test]
fn darwin_strip_is_refused_with_a_warning() {
    let recipes = Recipes::embedded().unwrap();
    let p = make(
        "build --release --target aarch64-apple-darwin",
        "distro",
        "[build.release]\npreset = \"size\"\n",
        &recipes,
    );
    assert_eq!(
        p.targets[0].build_env["CARGO_PROFILE_RELEASE_STRIP"],
        "false"
    );
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("strip is not supported")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn rustup_mode_maps_plus_toolchain_to_an_image_and_distro_mode_warns_about_it() {
    let recipes = Recipes::embedded().unwrap();
    let p = make(
        "+1.80 build --target aarch64-unknown-linux-gnu",
        "rustup",
        "",
        &recipes,
    );
    assert_eq!(p.toolchains[0].image, "rust:1.80-slim-bookworm");
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    // Distro mode builds with Debian's rustc: `+1.80` and a pinned
    // rust-toolchain file are both warned about, and the build goes on.
    let p = make("+1.80 build", "distro", "", &recipes);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.starts_with("`+1.80` is not honoured in distro mode")
                && w.contains("help: GREEN_CROSS_TOOLCHAIN=rustup builds with 1.80")),
        "{:?}",
        p.warnings
    );
    let pinned = |channel: &str| Workspace {
        pinned_toolchain: Some(PinnedToolchain {
            file: "rust-toolchain.toml".into(),
            channel: channel.into(),
        }),
        ..workspace()
    };
    let p = try_make_in(&pinned("1.80"), "build", "distro", "", &recipes).unwrap();
    assert!(
        p.warnings.iter().any(|w| w
            .starts_with("rust-toolchain.toml (channel `1.80`) is not honoured in distro mode")),
        "{:?}",
        p.warnings
    );
    // `stable` pins nothing a stable Debian rustc does not give.
    let p = try_make_in(&pinned("stable"), "build", "distro", "", &recipes).unwrap();
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let p = try_make_in(&pinned("1.80"), "build", "rustup", "", &recipes).unwrap();
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

/// No image is tagged with a nightly or beta: the stable image gets the
/// dated toolchain the host's compiler came from (the day after its
/// commit), pinned for every later step; `+nightly` asks for it by name.
#[test]
fn a_nightly_host_or_plus_nightly_installs_that_toolchain_with_rustup() {
    let recipes = Recipes::embedded().unwrap();
    let nightly = Host {
        rustc_version: "1.97.0-nightly".into(),
        commit_date: Some("2026-11-30".into()),
        ..host()
    };
    let args = "build --target aarch64-unknown-linux-musl";
    let p = try_make_on(&nightly, &workspace(), args, "rustup", "", &recipes).unwrap();
    assert_eq!(p.toolchains[0].image, "rust:alpine");
    let text = render(&p);
    assert!(
        text.contains(
            "rustup toolchain install nightly-2026-12-01 --profile minimal --component clippy\nENV RUSTUP_TOOLCHAIN=nightly-2026-12-01\n"
        ),
        "{text}"
    );
    assert!(!text.contains("${RUST_VERSION}"), "{text}");
    // `+beta` on a stable host; a name that is no toolchain is refused.
    let p = make("+beta build", "rustup", "", &recipes);
    assert_eq!(p.toolchains[0].image, "rust:slim-bookworm");
    assert_eq!(p.toolchains[0].rustup_install.as_deref(), Some("beta"));
    let e = try_make("+nightly;true build", "rustup", "", &recipes).unwrap_err();
    assert!(
        e.to_string().contains("`+nightly;true`: rustup mode takes"),
        "{e}"
    );
}

#[test]
fn test_has_a_runner_stage_and_always_runs() {
    let recipes = Recipes::embedded().unwrap();
    let p = make(
        "test --target x86_64-pc-windows-gnu -- --nocapture",
        "distro",
        "",
        &recipes,
    );
    let text = render(&p);
    assert!(text.contains("FROM runner-x86_64-pc-windows-gnu AS build-x86_64-pc-windows-gnu\nARG GREEN_CROSS_RUN_ID\n"), "{text}");
    assert!(p.targets[0].fresh);
    insta::assert_snapshot!("distro__test_windows_under_wine", text);
    // A native target needs no runner stage.
    let p = make(
        "test --target x86_64-unknown-linux-musl",
        "distro",
        "",
        &recipes,
    );
    assert!(p.targets[0].runner.is_none() && p.targets[0].fresh);
}

/// On an arm64 build machine (Apple Silicon, Graviton), x86_64 Linux is a
/// foreign architecture: its tests run under qemu-user, not natively.
#[test]
fn x86_64_targets_run_under_qemu_on_an_arm64_machine() {
    let recipes = Recipes::embedded().unwrap();
    let arm64 = Host {
        triple: "aarch64-unknown-linux-gnu".into(),
        ..host()
    };
    let plan_on = |h: &Host, args: &str, mode: &str| {
        try_make_on(h, &workspace(), args, mode, "", &recipes).unwrap()
    };
    let p = plan_on(&arm64, "test --target x86_64-unknown-linux-musl", "rustup");
    let text = render(&p);
    assert!(text.contains("apk add --no-cache qemu-x86_64"), "{text}");
    assert!(
        text.contains("CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUNNER=qemu-x86_64"),
        "{text}"
    );
    let p = plan_on(&arm64, "test --target x86_64-unknown-linux-gnu", "distro");
    let text = render(&p);
    assert!(
        text.contains("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=qemu-x86_64-static"),
        "{text}"
    );
    // On x86_64 itself they run natively: no runner stage.
    let p = plan_on(&host(), "test --target x86_64-unknown-linux-gnu", "distro");
    assert!(p.targets[0].runner.is_none());
}

#[test]
fn test_for_darwin_is_built_only_and_qemu_targets_run_under_qemu_unless_no_run() {
    let recipes = Recipes::embedded().unwrap();
    let p = make(
        "test --target aarch64-apple-darwin -- --nocapture",
        "distro",
        "",
        &recipes,
    );
    let t = &p.targets[0];
    assert!(
        t.cargo.contains(&"--no-run".to_string()) && !t.cargo.contains(&"--nocapture".to_string()),
        "{:?}",
        t.cargo
    );
    assert!(!t.fresh && t.runner.is_none());
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("built only (--no-run)"))
    );

    // qemu-user: a multiarch glibc target uses the system's loader (the
    // cross sysroot's loader would pair with the multiarch libc of another
    // build); a target with only the cross sysroot's libc uses that sysroot.
    let p = make(
        "test --target aarch64-unknown-linux-gnu --target armv7-unknown-linux-gnueabihf",
        "distro",
        "",
        &recipes,
    );
    let arm64 = p.targets[0].runner.as_ref().unwrap();
    assert_eq!(
        arm64
            .env
            .get("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER")
            .map(String::as_str),
        Some("qemu-aarch64-static")
    );
    assert!(!arm64.env.contains_key("QEMU_LD_PREFIX"), "{:?}", arm64.env);
    let armhf = p.targets[1].runner.as_ref().unwrap();
    assert_eq!(
        armhf.env.get("QEMU_LD_PREFIX").map(String::as_str),
        Some("/usr/arm-linux-gnueabihf")
    );
    assert!(p.targets.iter().all(|t| t.fresh));
    let p = make(
        "test --no-run --target aarch64-unknown-linux-gnu",
        "distro",
        "",
        &recipes,
    );
    assert!(p.targets[0].runner.is_none() && !p.targets[0].fresh);
}

#[test]
fn run_builds_the_binary_then_runs_it_natively_or_in_a_runner_image() {
    let recipes = Recipes::embedded().unwrap();
    // Native: the host runs the binary; cargo builds just that binary.
    let p = make(
        "run --release --target x86_64-unknown-linux-musl -- a 'b c'",
        "distro",
        "",
        &recipes,
    );
    let t = &p.targets[0];
    assert_eq!(&t.cargo[..2], ["cargo", "build"]);
    assert!(
        t.cargo.ends_with(&["--bin".to_string(), "app".to_string()]),
        "{:?}",
        t.cargo
    );
    assert!(
        !t.cargo.contains(&"a".to_string()),
        "run's arguments are not cargo's"
    );
    assert!(!t.fresh && t.runner.is_none());
    let run = p.run.as_ref().unwrap();
    assert_eq!(
        run.binary,
        PathBuf::from("/work/app/target/x86_64-unknown-linux-musl/release/app")
    );
    assert_eq!(run.args, ["a", "b c"]);
    assert!(run.image.is_none());

    // qemu-user: a runner stage beside the build (not under it), loaded as
    // an image; --bin is passed through as given.
    let p = make(
        "run --target aarch64-unknown-linux-gnu --bin app",
        "distro",
        "",
        &recipes,
    );
    let run = p.run.as_ref().unwrap();
    let image = run.image.as_ref().unwrap();
    assert_eq!(image.stage.to_string(), "runner-aarch64-unknown-linux-gnu");
    assert!(
        image
            .tag
            .starts_with("green-cross-runner:aarch64-unknown-linux-gnu-")
    );
    assert_eq!(image.program, ["qemu-aarch64-static"]);
    assert_eq!(
        p.targets[0].cargo.iter().filter(|a| *a == "--bin").count(),
        1
    );
    let text = render(&p);
    assert!(
        text.contains("FROM deps-aarch64-unknown-linux-gnu AS build-aarch64-unknown-linux-gnu")
    );
    // The binary comes from the target dir: the runner image is the
    // sysroot's, and the same whatever the dependencies.
    assert!(
        text.contains("FROM sysroot-aarch64-unknown-linux-gnu AS runner-aarch64-unknown-linux-gnu")
    );
    insta::assert_snapshot!("distro__run_aarch64_under_qemu", text);

    // wine, and the .exe suffix.
    let p = make("run --target x86_64-pc-windows-gnu", "distro", "", &recipes);
    let run = p.run.as_ref().unwrap();
    assert!(run.binary.ends_with("x86_64-pc-windows-gnu/debug/app.exe"));
    assert_eq!(
        run.image.as_ref().unwrap().program,
        ["/usr/lib/wine/wine64"]
    );
}

#[test]
fn run_refuses_what_it_cannot_do_with_a_way_forward() {
    let recipes = Recipes::embedded().unwrap();
    let err = |args: &str| {
        try_make(args, "distro", "", &recipes)
            .unwrap_err()
            .to_string()
    };
    let e = err("run --target aarch64-apple-darwin");
    assert!(
        e.contains("binaries cannot run on this host") && e.contains("green-cross build"),
        "{e}"
    );
    let e = err("run --target x86_64-unknown-linux-gnu --target aarch64-unknown-linux-gnu");
    assert!(e.contains("`run` takes one target"), "{e}");
    let e = err("run --target x86_64-unknown-linux-gnu --example demo");
    assert!(
        e.contains("not supported yet") && e.contains("green-cross build --example"),
        "{e}"
    );
    let e = err("run --target x86_64-unknown-linux-gnu -p nope");
    assert!(e.contains("no package named nope"), "{e}");
}

#[test]
fn bench_runs_like_test_with_the_bench_profile() {
    let recipes = Recipes::embedded().unwrap();
    let p = make(
        "bench --target aarch64-unknown-linux-gnu",
        "distro",
        "[build.release]\nlto = \"thin\"\n",
        &recipes,
    );
    let t = &p.targets[0];
    assert_eq!(&t.cargo[..2], ["cargo", "bench"]);
    assert!(t.fresh && t.runner.is_some());
    assert_eq!(p.profile_dir, "release");
    assert_eq!(
        t.build_env
            .get("CARGO_PROFILE_BENCH_LTO")
            .map(String::as_str),
        Some("thin")
    );
}

/// A monorepo: the workspace in `apps/ws`, a path dependency in
/// `shared/units`. Inside the build their common directory is /src, so the
/// relative path between them holds; the dependency is its own context,
/// mounted at its place, and its stub is cleaned from the dependencies
/// layer like the workspace's own packages.
#[test]
fn path_dependencies_outside_the_workspace_keep_their_relative_place() {
    use green_cross::workspace::{OutsidePackage, SkeletonFile};
    let mut ws = common::app_workspace(Path::new("/m/apps/ws"), Some("main"));
    ws.prefix = "apps/ws".into();
    ws.outside = vec![OutsidePackage {
        name: "units".into(),
        dir: "/m/shared/units".into(),
        rel: "shared/units".into(),
    }];
    ws.skeleton = vec![
        SkeletonFile::Copy("apps/ws/Cargo.lock".into()),
        SkeletonFile::Copy("apps/ws/Cargo.toml".into()),
        SkeletonFile::Copy("shared/units/Cargo.toml".into()),
        SkeletonFile::StubMain("apps/ws/src/main.rs".into()),
        SkeletonFile::StubLib("shared/units/src/lib.rs".into()),
    ];
    let recipes = Recipes::embedded().unwrap();
    let p = try_make_in(
        &ws,
        "build --target aarch64-unknown-linux-gnu",
        "distro",
        "",
        &recipes,
    )
    .unwrap();
    assert_eq!(p.mount_root, Path::new("/m"));
    let t = &p.targets[0];
    assert_eq!(t.workdir, "/src/apps/ws");
    assert_eq!(t.deps_workdir, "/src/apps/ws");
    assert!(
        t.deps_clean
            .ends_with(&["-p".into(), "app".into(), "-p".into(), "units".into()])
    );
    let text = green_cross::dockerfile::render(&p);
    assert!(
        text.contains("--mount=type=bind,target=/src/apps/ws,rw"),
        "{text}"
    );
    assert!(
        text.contains("--mount=type=bind,from=green-cross-path-0,target=/src/shared/units,rw"),
        "{text}"
    );
    assert!(text.contains("WORKDIR /src/apps/ws\n"), "{text}");
}

#[test]
fn a_user_image_gets_the_official_image_s_rust_in_rustup_mode() {
    // cross's images have no Rust: rustup mode copies the official image's
    // rustup and cargo homes in, with cross's shorthand for its own image.
    let recipes = Recipes::embedded().unwrap();
    let p = make(
        "build --target aarch64-unknown-linux-gnu",
        "rustup",
        "[target.aarch64-unknown-linux-gnu]\nimage = \":edge\"\n",
        &recipes,
    );
    let text = render(&p);
    assert!(
        text.contains(
            "FROM --platform=$BUILDPLATFORM ghcr.io/cross-rs/aarch64-unknown-linux-gnu:edge AS toolchain-aarch64-unknown-linux-gnu\nCOPY --from=toolchain-aarch64-unknown-linux-gnu-rust /usr/local/rustup /usr/local/rustup\n"
        ),
        "{text}"
    );
    insta::assert_snapshot!("rustup__cross_image_shorthand", text);
    // Distro mode installs Debian's Rust on the image instead.
    let p = make(
        "build --target aarch64-unknown-linux-gnu",
        "distro",
        "[target.aarch64-unknown-linux-gnu]\nimage = \"corp/cross-arm64:1\"\n",
        &recipes,
    );
    let text = render(&p);
    assert!(!text.contains("/usr/local/rustup"), "{text}");
    assert!(text.contains("rustc-web"), "{text}");
}
