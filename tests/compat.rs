//! The compatibility suite: every key of cross's Cross.toml and every
//! environment variable cross documents, each with a case that shows it took
//! effect (in `green-cross plan --json` or the rendered Dockerfile) or that
//! it is reported as it should be, and the precedence between the
//! environment, Cross.toml and Cargo.toml's metadata. Run as a user would,
//! on a copy of the fixture workspace; no engine needed (the end-to-end
//! suite builds with these keys for real).
// The harness reads its own settings (GREEN_CROSS_E2E_*) from the
// process environment; green-cross itself is handed an Env.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const ARM64: &str = "aarch64-unknown-linux-gnu";

/// The fixture's sources in a temporary directory, with `cross_toml` as its
/// Cross.toml (when not empty) and `metadata` appended to its Cargo.toml.
fn workspace(cross_toml: &str, metadata: &str) -> tempfile::TempDir {
    let d = common::fixture_copy_of(&common::fixture());
    if !cross_toml.is_empty() {
        std::fs::write(d.path().join("Cross.toml"), cross_toml).unwrap();
    }
    if !metadata.is_empty() {
        let m = d.path().join("Cargo.toml");
        let text = std::fs::read_to_string(&m).unwrap();
        std::fs::write(&m, format!("{text}\n{metadata}")).unwrap();
    }
    d
}

fn green_cross(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_green-cross"));
    c.args(args).current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("CROSS_") || k.starts_with("GREEN_CROSS_") || k == "CARGO_BUILD_TARGET" {
            c.env_remove(k);
        }
    }
    c.env("GREEN_CROSS_TOOLCHAIN", "distro");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `green-cross plan --json <args>`: the plan.
fn plan(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut a = vec!["plan"];
    a.extend(args);
    let o = green_cross(dir, &a, env);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// `green-cross dockerfile <args>`: the Dockerfile and the warnings.
fn dockerfile(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let mut a = vec!["dockerfile"];
    a.extend(args);
    let o = green_cross(dir, &a, env);
    assert!(o.status.success(), "{}", stderr(&o));
    (String::from_utf8_lossy(&o.stdout).into_owned(), stderr(&o))
}

fn error_of(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let o = green_cross(dir, args, env);
    assert_eq!(o.status.code(), Some(101), "{}", stderr(&o));
    stderr(&o)
}

fn arm64_plan(dir: &Path, env: &[(&str, &str)]) -> Value {
    plan(dir, &["--target", ARM64], env)["targets"][0].clone()
}

// ---- Cross.toml keys

#[test]
fn env_passthrough_reaches_the_build_step() {
    let d = workspace(
        "[build.env]\npassthrough = [\"FROM_HOST\", \"FIXED=1\", \"UNSET_ON_HOST\", \"CARGO_HOME\"]\n\n[target.aarch64-unknown-linux-gnu.env]\npassthrough = [\"FIXED=2\"]\n",
        "",
    );
    let t = arm64_plan(d.path(), &[("FROM_HOST", "host value")]);
    let env = &t["build_env"];
    assert_eq!(env["FROM_HOST"], "host value");
    // [target] over [build].
    assert_eq!(env["FIXED"], "2");
    assert!(env.get("UNSET_ON_HOST").is_none(), "{env}");
    // Names green-cross sets itself are refused with a warning.
    assert!(env.get("CARGO_HOME").is_none(), "{env}");
    let (text, warnings) = dockerfile(d.path(), &["--target", ARM64], &[("FROM_HOST", "v")]);
    assert!(warnings.contains("cannot set CARGO_HOME"), "{warnings}");
    // The value is part of the build step, hence of its cache key.
    assert!(
        text.contains("FROM_HOST=v") && text.contains("FIXED=2"),
        "{text}"
    );
}

#[test]
fn cargo_and_rustc_variables_pass_through_by_themselves() {
    let d = workspace("[build.release]\nlto = \"fat\"\n", "");
    let t = plan(
        d.path(),
        &[
            "build",
            "--release",
            "--target",
            "x86_64-unknown-linux-musl",
        ],
        &[
            ("RUSTFLAGS", "-C target-cpu=native"),
            ("CARGO_PROFILE_RELEASE_LTO", "thin"),
            (
                "CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS",
                "-C debuginfo=1",
            ),
            (
                "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS",
                "-C other",
            ),
            ("CARGO_PKG_NAME", "not-passed"),
        ],
    )["targets"][0]
        .clone();
    let env = &t["build_env"];
    // The environment wins over Cross.toml's release settings.
    assert_eq!(env["CARGO_PROFILE_RELEASE_LTO"], "thin");
    // The target's own rustflags come after the recipe's (crt-static).
    let flags = env["CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS"]
        .as_str()
        .unwrap();
    let recipe = flags.strip_suffix(" -C debuginfo=1").unwrap_or_default();
    assert!(recipe.contains("+crt-static"), "{flags}");
    // RUSTFLAGS hides every target rustflags from cargo: the recipe's go
    // first in it.
    assert_eq!(
        env["RUSTFLAGS"],
        format!("{recipe} -C target-cpu=native").as_str()
    );
    assert!(
        env.get("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS")
            .is_none(),
        "{env}"
    );
    assert!(env.get("CARGO_PKG_NAME").is_none(), "{env}");
}

#[test]
fn env_volumes_are_named_contexts_mounted_at_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_string();
    // From the environment: any host directory.
    let d = workspace("", "");
    let env = [("CROSS_BUILD_ENV_VOLUMES", "MY_DATA"), ("MY_DATA", &path)];
    let t = arm64_plan(d.path(), &env);
    assert_eq!(t["volumes"][0]["var"], "MY_DATA");
    assert_eq!(t["volumes"][0]["context"], "green-cross-volume-my-data");
    assert_eq!(t["build_env"]["MY_DATA"], path.as_str());
    let (text, _) = dockerfile(d.path(), &["--target", ARM64], &env);
    assert!(
        text.contains(&format!(
            "--mount=type=bind,from=green-cross-volume-my-data,target={path},rw"
        )),
        "{text}"
    );
    // NAME=/path, and an unset NAME is an error that says what to do.
    let d = workspace("", "");
    let env = [(
        "CROSS_TARGET_AARCH64_UNKNOWN_LINUX_GNU_ENV_VOLUMES",
        "DATA=/srv/data",
    )];
    assert_eq!(
        arm64_plan(d.path(), &env)["volumes"][0]["path"],
        "/srv/data"
    );
    // The repository's Cross.toml names directories inside the workspace
    // only: the same settings there are refused, with where to put them.
    for toml in [
        "[build.env]\nvolumes = [\"MY_DATA\"]\n".to_string(),
        "[target.aarch64-unknown-linux-gnu.env]\nvolumes = [\"DATA=/srv/data\"]\n".to_string(),
    ] {
        let d = workspace(&toml, "");
        let e = error_of(
            d.path(),
            &["plan", "--target", ARM64],
            &[("MY_DATA", &path)],
        );
        assert!(
            e.contains("outside the workspace") && e.contains("CROSS_BUILD_ENV_VOLUMES"),
            "{e}"
        );
    }
    let d = workspace("[build.env]\nvolumes = [\"ASSETS\"]\n", "");
    let assets = d.path().join("assets");
    std::fs::create_dir(&assets).unwrap();
    let t = arm64_plan(d.path(), &[("ASSETS", assets.to_str().unwrap())]);
    assert_eq!(t["volumes"][0]["var"], "ASSETS");
    // An unset variable mounts nothing, as in cross, and says so.
    let d = workspace("[build.env]\nvolumes = [\"NOT_SET_ANYWHERE\"]\n", "");
    let (_, w) = dockerfile(d.path(), &["--target", ARM64], &[]);
    assert!(
        w.contains("names $NOT_SET_ANYWHERE, which is not set"),
        "{w}"
    );
    assert_eq!(arm64_plan(d.path(), &[])["volumes"], serde_json::json!([]));
}

#[test]
fn build_std_builds_std_from_source() {
    let d = workspace("[target.aarch64-unknown-linux-gnu]\nbuild-std = true\n", "");
    let t = arm64_plan(d.path(), &[]);
    assert_eq!(t["std"], "build-std");
    let cargo: Vec<&str> = t["cargo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(cargo.contains(&"-Zbuild-std=std,panic_abort"), "{cargo:?}");
    let d = workspace("[build]\nbuild-std = [\"core\", \"alloc\"]\n", "");
    let t = arm64_plan(d.path(), &[]);
    assert!(
        t["cargo"]
            .as_array()
            .unwrap()
            .contains(&Value::from("-Zbuild-std=core,alloc"))
    );
    // Off where std only comes from source: a warning, and still built.
    let d = workspace("[build]\nbuild-std = false\n", "");
    let (_, w) = dockerfile(
        d.path(),
        &["--target", "armv7-unknown-linux-gnueabihf"],
        &[],
    );
    assert!(w.contains("build-std cannot be turned off"), "{w}");
}

#[test]
fn xargo_is_retired_in_favour_of_build_std() {
    let d = workspace("[build]\nxargo = true\n", "");
    let (_, w) = dockerfile(d.path(), &["--target", ARM64], &[]);
    assert!(
        w.contains("Cross.toml:2: `xargo` in [build] is retired; use `build-std` instead"),
        "{w}"
    );
}

#[test]
fn zig_links_glibc_targets_for_a_glibc_version() {
    let d = workspace("[build]\nzig = \"2.17\"\n", "");
    let t = arm64_plan(d.path(), &[]);
    assert_eq!(t["zig"], "aarch64-linux-gnu.2.17");
    assert_eq!(t["from"], "zig");
    assert_eq!(
        t["sysroot_env"]["CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER"],
        "green-cross-zig-cc-aarch64-unknown-linux-gnu"
    );
    let (text, _) = dockerfile(
        d.path(),
        &["--target", "armv7-unknown-linux-gnueabihf"],
        &[],
    );
    assert!(
        text.contains("-target \"arm-linux-gnueabihf.2.17\""),
        "{text}"
    );
    // glibc's unwinder comes from zig's libunwind.
    assert!(
        text.contains("-lgcc_s) set -- \"$@\" -lunwind ;;"),
        "{text}"
    );
    // bool and table forms, and the mirrors.
    let d = workspace(
        "[target.aarch64-unknown-linux-gnu.zig]\nenable = true\nimage = \"x/zig\"\n",
        "",
    );
    // zig's image is the target's image when zig is on, as in cross.
    let (text, _) = dockerfile(d.path(), &["--target", ARM64], &[]);
    assert!(
        text.contains("x/zig AS toolchain-aarch64-unknown-linux-gnu"),
        "{text}"
    );
    assert!(
        text.contains("FROM zig-aarch64-unknown-linux-gnu AS sysroot-aarch64-unknown-linux-gnu"),
        "{text}"
    );
    assert_eq!(arm64_plan(d.path(), &[])["zig"], "aarch64-linux-gnu");
    assert_eq!(
        arm64_plan(
            d.path(),
            &[("CROSS_TARGET_AARCH64_UNKNOWN_LINUX_GNU_ZIG", "false")]
        )["zig"],
        Value::Null
    );
    let d = workspace("", "");
    assert_eq!(
        arm64_plan(
            d.path(),
            &[
                ("CROSS_BUILD_ZIG", "1"),
                ("CROSS_BUILD_ZIG_VERSION", "2.28")
            ]
        )["zig"],
        "aarch64-linux-gnu.2.28"
    );
    // Where zig cannot apply, it says so.
    let e = error_of(
        d.path(),
        &["plan", "--target", "x86_64-pc-windows-gnu"],
        &[("CROSS_BUILD_ZIG", "true")],
    );
    assert!(
        e.contains("zig links Linux targets (glibc or musl) here"),
        "{e}"
    );
    // cross's CI links aarch64 musl with zig: in rustup mode the target
    // leaves its Alpine stage for zig's, whose musl it links.
    let d = workspace(
        "[target.aarch64-unknown-linux-musl.zig]\nenable = true\n",
        "",
    );
    let rustup = [("GREEN_CROSS_TOOLCHAIN", "rustup")];
    let p = plan(
        d.path(),
        &["--target", "aarch64-unknown-linux-musl"],
        &rustup,
    );
    let t = &p["targets"][0];
    assert_eq!(t["zig"], "aarch64-linux-musl");
    assert_eq!(t["from"], "zig");
    assert!(
        t["build_env"]["CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS"]
            .as_str()
            .unwrap()
            .contains("-C link-self-contained=no"),
        "{t}"
    );
    let (text, _) = dockerfile(
        d.path(),
        &["--target", "aarch64-unknown-linux-musl"],
        &rustup,
    );
    assert!(
        !text.contains("alpine") && !text.contains("xx-apk"),
        "{text}"
    );
    let (_, w) = dockerfile(
        d.path(),
        &["--target", "aarch64-unknown-linux-musl"],
        &[("CROSS_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_ZIG", "false")],
    );
    assert!(w.contains("zig cannot be turned off"), "{w}");
}

#[test]
fn dockerfile_builds_on_the_target_base_and_becomes_the_sysroot_base() {
    let d = workspace(
        "[target.aarch64-unknown-linux-gnu.dockerfile]\nfile = \"docker/Dockerfile.arm64\"\ncontext = \"docker\"\nbuild-args = { FLAVOUR = \"full\" }\n",
        "",
    );
    let t = arm64_plan(d.path(), &[]);
    let c = &t["custom"];
    let root = d.path().canonicalize().unwrap();
    assert_eq!(
        c["file"],
        root.join("docker/Dockerfile.arm64").to_str().unwrap()
    );
    assert_eq!(c["context"], root.join("docker").to_str().unwrap());
    assert_eq!(c["base_stage"], "toolchain");
    assert_eq!(c["build_args"]["FLAVOUR"], "full");
    assert_eq!(c["build_args"]["CROSS_BASE_IMAGE"], c["base_tag"]);
    assert_eq!(c["build_args"]["CROSS_DEB_ARCH"], "arm64");
    assert_eq!(c["build_args"]["CROSS_TARGET"], ARM64);
    // The loaded image is the base of the target's own toolchain stage,
    // which brings Rust into it where it has none (a Dockerfile FROM one
    // of cross's images).
    assert_eq!(t["from"], "toolchain-aarch64-unknown-linux-gnu");
    let (text, _) = dockerfile(d.path(), &["--target", ARM64], &[]);
    let tag = c["tag"].as_str().unwrap();
    assert!(
        text.contains(&format!(
            "FROM --platform=$BUILDPLATFORM {tag} AS toolchain-aarch64-unknown-linux-gnu\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "FROM toolchain-aarch64-unknown-linux-gnu AS sysroot-aarch64-unknown-linux-gnu"
        ),
        "{text}"
    );
    // The string form and the mirror; a missing file is named before any build.
    // Cross.toml's [target] over the environment's [build] (cross's order);
    // the environment's [target] over both.
    let p = arm64_plan(d.path(), &[("CROSS_BUILD_DOCKERFILE", "Dockerfile.other")]);
    assert_eq!(
        p["custom"]["file"],
        root.join("docker/Dockerfile.arm64").to_str().unwrap()
    );
    let p = arm64_plan(
        d.path(),
        &[(
            "CROSS_TARGET_AARCH64_UNKNOWN_LINUX_GNU_DOCKERFILE",
            "Dockerfile.other",
        )],
    );
    assert_eq!(
        p["custom"]["file"],
        root.join("Dockerfile.other").to_str().unwrap()
    );
    // The context still comes from Cross.toml: each key resolves on its own.
    assert_eq!(
        p["custom"]["context"],
        root.join("docker").to_str().unwrap()
    );
    let d = workspace("", "");
    let p = arm64_plan(d.path(), &[("CROSS_BUILD_DOCKERFILE", "Dockerfile.other")]);
    assert!(
        p["custom"]["file"]
            .as_str()
            .unwrap()
            .ends_with("/Dockerfile.other")
    );
    let e = error_of(
        d.path(),
        &["build", "--target", ARM64],
        &[("CROSS_BUILD_DOCKERFILE", "Dockerfile.other")],
    );
    assert!(
        e.contains("dockerfile") && e.contains("no such file"),
        "{e}"
    );
}

#[test]
fn image_is_the_base_of_the_targets_own_toolchain_stage() {
    let d = workspace(
        "[target.aarch64-unknown-linux-gnu]\nimage = \"corp/debian:12\"\n",
        "",
    );
    let (text, _) = dockerfile(
        d.path(),
        &["--target", ARM64, "--target", "x86_64-unknown-linux-gnu"],
        &[],
    );
    assert!(
        text.contains(
            "FROM --platform=$BUILDPLATFORM corp/debian:12 AS toolchain-aarch64-unknown-linux-gnu"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "FROM toolchain-aarch64-unknown-linux-gnu AS sysroot-aarch64-unknown-linux-gnu"
        ),
        "{text}"
    );
    // Other targets keep the shared toolchain stage.
    assert!(
        text.contains("FROM toolchain AS sysroot-x86_64-unknown-linux-gnu"),
        "{text}"
    );
    // A zig-linked target gets zig on top of its own toolchain stage; the
    // table form's toolchain list is reported as ignored.
    let d = workspace(
        "[target.aarch64-unknown-linux-musl]\nimage = { name = \"corp/debian:12\", toolchain = [\"linux/amd64\"] }\n",
        "",
    );
    let (text, w) = dockerfile(d.path(), &["--target", "aarch64-unknown-linux-musl"], &[]);
    assert!(
        text.contains(
            "FROM toolchain-aarch64-unknown-linux-musl AS zig-aarch64-unknown-linux-musl"
        ),
        "{text}"
    );
    assert!(
        text.contains("FROM zig-aarch64-unknown-linux-musl AS sysroot-aarch64-unknown-linux-musl"),
        "{text}"
    );
    assert!(w.contains("image.toolchain is ignored"), "{w}");
    // The environment mirror, and a malformed table.
    let d = workspace("", "");
    let (text, _) = dockerfile(
        d.path(),
        &["--target", ARM64],
        &[(
            "CROSS_TARGET_AARCH64_UNKNOWN_LINUX_GNU_IMAGE",
            "env/image:1",
        )],
    );
    assert!(
        text.contains("env/image:1 AS toolchain-aarch64-unknown-linux-gnu"),
        "{text}"
    );
    let d = workspace(
        "[target.aarch64-unknown-linux-gnu]\nimage = { tag = \"x\" }\n",
        "",
    );
    let e = error_of(d.path(), &["plan", "--target", ARM64], &[]);
    assert!(
        e.contains("Cross.toml:2:1: `image` in [target.aarch64-unknown-linux-gnu] needs `name`"),
        "{e}"
    );
}

#[test]
fn default_target_is_used_without_target() {
    let d = workspace(
        "[build]\ndefault-target = \"aarch64-unknown-linux-gnu\"\n",
        "",
    );
    assert_eq!(plan(d.path(), &[], &[])["targets"][0]["triple"], ARM64);
}

#[test]
fn pre_build_commands_and_scripts_run_in_the_sysroot_stage() {
    let d = workspace(
        "[target.aarch64-unknown-linux-gnu]\npre-build = [\"dpkg --add-architecture $CROSS_DEB_ARCH\", \"apt-get update\"]\n",
        "",
    );
    let (text, _) = dockerfile(d.path(), &["--target", ARM64], &[]);
    let sysroot = text
        .split("AS sysroot-aarch64-unknown-linux-gnu")
        .nth(1)
        .unwrap();
    let sysroot = sysroot.split("\nFROM ").next().unwrap();
    assert!(
        sysroot.contains("COPY <<'GREEN_CROSS_EOF' /green-cross/pre-build-commands\ndpkg --add-architecture $CROSS_DEB_ARCH\napt-get update\nGREEN_CROSS_EOF\n"),
        "{sysroot}"
    );
    assert!(
        sysroot.contains("export CROSS_DEB_ARCH=arm64 CROSS_TARGET=aarch64-unknown-linux-gnu; { sh /green-cross/pre-build-commands; }"),
        "{sysroot}"
    );
    let d = workspace(
        "[target.aarch64-unknown-linux-gnu]\npre-build = \"./scripts/prepare.sh\"\n",
        "",
    );
    std::fs::create_dir_all(d.path().join("scripts")).unwrap();
    std::fs::write(d.path().join("scripts/prepare.sh"), "#!/bin/sh\ntrue\n").unwrap();
    let (text, _) = dockerfile(d.path(), &["--target", ARM64], &[]);
    assert!(
        text.contains("COPY --chmod=755 [\"scripts/prepare.sh\", \"/green-cross/pre-build\"]"),
        "{text}"
    );
    assert!(
        text.contains("/green-cross/pre-build aarch64-unknown-linux-gnu"),
        "{text}"
    );
}

#[test]
fn runner_chooses_how_binaries_run() {
    let d = workspace(
        "[target.aarch64-unknown-linux-gnu]\nrunner = \"native\"\n",
        "",
    );
    let p = plan(d.path(), &["test", "--target", ARM64], &[]);
    assert!(
        p["targets"][0]["runner"].is_null(),
        "native: no runner stage"
    );
    let d = workspace(
        "[target.aarch64-unknown-linux-gnu]\nrunner = \"my-emulator --fast\"\n",
        "",
    );
    let p = plan(d.path(), &["test", "--target", ARM64], &[]);
    assert_eq!(
        p["targets"][0]["runner"]["env"]["CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER"],
        "my-emulator --fast"
    );
    let p = plan(d.path(), &["run", "--target", ARM64], &[]);
    assert_eq!(
        p["run"]["image"]["program"],
        serde_json::json!(["my-emulator", "--fast"])
    );
    let d = workspace("[build]\nrunner = \"qemu-system\"\n", "");
    let e = error_of(d.path(), &["plan", "--target", ARM64], &[]);
    assert!(e.contains("qemu-system is not supported"), "{e}");
}

#[test]
fn packages_are_installed_for_the_target_architecture() {
    let d = workspace(
        "[target.aarch64-unknown-linux-gnu]\npackages = [\"libssl-dev\"]\n",
        "",
    );
    let t = arm64_plan(d.path(), &[]);
    assert!(
        t["install"]["target_packages"]
            .as_array()
            .unwrap()
            .contains(&Value::from("libssl-dev"))
    );
    let (text, _) = dockerfile(d.path(), &["--target", ARM64], &[]);
    assert!(text.contains("libssl-dev:arm64"), "{text}");
    // Distro mode cannot install Debian packages for a musl target.
    let d = workspace("[build]\npackages = [\"libssl-dev\"]\n", "");
    let e = error_of(
        d.path(),
        &["plan", "--target", "aarch64-unknown-linux-musl"],
        &[],
    );
    assert!(
        e.contains("`packages` for aarch64-unknown-linux-musl") && e.contains("pre-build"),
        "{e}"
    );
}

/// Rustup mode: xx-apt-get installs `libssl-dev:arm64` under Debian's
/// multiarch directory and xx-clang writes `<triple>-pkg-config` for an
/// Alpine sysroot; the pkg-config crate finds them through
/// PKG_CONFIG_PATH_<target> and PKG_CONFIG_<target>, and pre-build sees
/// CROSS_DEB_ARCH as it does in distro mode and in cross's images.
#[test]
fn rustup_mode_points_pkg_config_at_the_targets_packages() {
    let d = workspace(
        "[build]\npackages = [\"libssl-dev\"]\npre-build = [\"echo $CROSS_DEB_ARCH\"]\n",
        "",
    );
    let rustup = [("GREEN_CROSS_TOOLCHAIN", "rustup")];
    let (text, _) = dockerfile(d.path(), &["--target", ARM64], &rustup);
    // xx-apt-get's own `apt-get update` reads the CA from apt's config.
    assert!(
        text.contains(
            "99green-cross-ca; fi \\\n && TARGETPLATFORM=linux/arm64 xx-apt-get install -y binutils g++ gcc libc6-dev libssl-dev \\\n && rm -f /etc/apt/apt.conf.d/99green-cross-ca\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "PKG_CONFIG_PATH_aarch64_unknown_linux_gnu=/usr/lib/aarch64-linux-gnu/pkgconfig"
        ),
        "{text}"
    );
    assert!(text.contains("export CROSS_DEB_ARCH=arm64 "), "{text}");
    let (text, _) = dockerfile(
        d.path(),
        &["--target", "armv7-unknown-linux-musleabihf"],
        &rustup,
    );
    assert!(
        text.contains("xx-apk add --no-cache g++ gcc libssl-dev musl-dev"),
        "{text}"
    );
    assert!(
        text.contains(
            "PKG_CONFIG_armv7_unknown_linux_musleabihf=armv7-alpine-linux-musleabihf-pkg-config"
        ),
        "{text}"
    );
}

/// `cross build --locked` (CI's usual spelling): green-cross gives cargo
/// `--locked` and `--offline` itself, and cargo refuses either twice.
#[test]
fn locked_and_offline_from_the_user_reach_cargo_once() {
    let d = workspace("", "");
    std::fs::write(d.path().join("Cargo.lock"), "version = 4\n").unwrap();
    let args = [
        "build",
        "--locked",
        "--offline",
        "--frozen",
        "--target",
        ARM64,
        "--",
        "--locked",
    ];
    let (text, _) = dockerfile(d.path(), &args, &[]);
    let builds: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("cargo build --offline"))
        .collect();
    assert_eq!(builds.len(), 2, "deps and build steps:\n{text}");
    for line in builds {
        let cmd = line.split("cargo build ").nth(1).unwrap();
        let cmd = cmd.split(';').next().unwrap();
        let (cmd, program) = cmd.split_once(" -- ").unwrap_or((cmd, ""));
        assert_eq!(
            program.trim(),
            if program.is_empty() { "" } else { "--locked" }
        );
        assert_eq!(cmd.matches("--locked").count(), 1, "{cmd}");
        assert_eq!(cmd.matches("--offline").count(), 1, "{cmd}");
        assert!(cmd.contains("--frozen"), "{cmd}");
    }
}

#[test]
fn unknown_keys_name_file_table_and_the_closest_key() {
    let d = workspace("[target.aarch64-unknown-linux-gnu]\npre_build = []\n", "");
    let (_, w) = dockerfile(d.path(), &["--target", ARM64], &[]);
    assert!(
        w.contains("Cross.toml:2: unknown key `pre_build` in [target.aarch64-unknown-linux-gnu]; did you mean `pre-build`?"),
        "{w}"
    );
}

// ---- Cargo.toml metadata and precedence

#[test]
fn cargo_metadata_tables_are_read() {
    let d = workspace(
        "",
        "[workspace.metadata.cross.target.aarch64-unknown-linux-gnu]\nbuild-std = true\n",
    );
    assert_eq!(arm64_plan(d.path(), &[])["std"], "build-std");
    let d = workspace("", "[workspace.metadata.cross.build]\nbiuld-std = true\n");
    let (_, w) = dockerfile(d.path(), &["--target", ARM64], &[]);
    assert!(
        w.contains(
            "unknown key `biuld-std` in [workspace.metadata.cross.build]; did you mean `build-std`?"
        ),
        "{w}"
    );
}

#[test]
fn precedence_environment_then_cross_toml_then_cargo_metadata_and_target_over_build() {
    let meta = "[workspace.metadata.cross.target.aarch64-unknown-linux-gnu.env]\npassthrough = [\"V=metadata-target\", \"M=metadata\"]\n";
    let d = workspace("[build.env]\npassthrough = [\"V=toml-build\"]\n", meta);
    let env = |e: &[(&str, &str)]| arm64_plan(d.path(), e)["build_env"].clone();
    // The files merge first; the list is then [build]'s and [target]'s
    // together (cross's sum), so the target's later V wins.
    assert_eq!(env(&[])["V"], "metadata-target");
    assert_eq!(env(&[])["M"], "metadata");
    // The environment's lists replace the files' (cross: env over TOML).
    let e = env(&[("CROSS_BUILD_ENV_PASSTHROUGH", "V=env-build")]);
    assert_eq!(e["V"], "env-build");
    assert_eq!(e.get("M"), None);
    assert_eq!(
        env(&[
            ("CROSS_BUILD_ENV_PASSTHROUGH", "V=env-build"),
            (
                "CROSS_TARGET_AARCH64_UNKNOWN_LINUX_GNU_ENV_PASSTHROUGH",
                "V=env-target"
            ),
        ])["V"],
        "env-target"
    );
}

// ---- environment variables

#[test]
fn cross_config_names_the_config_file() {
    let d = workspace("", "");
    let other = d.path().join("elsewhere.toml");
    std::fs::write(
        &other,
        "[build]\ndefault-target = \"aarch64-unknown-linux-gnu\"\n",
    )
    .unwrap();
    let p = plan(d.path(), &[], &[("CROSS_CONFIG", other.to_str().unwrap())]);
    assert_eq!(p["targets"][0]["triple"], ARM64);
    let e = error_of(
        d.path(),
        &["plan"],
        &[("CROSS_CONFIG", "/no/such/Cross.toml")],
    );
    assert!(e.contains("/no/such/Cross.toml"), "{e}");
}

#[test]
fn cross_build_and_cross_target_mirror_every_key() {
    let d = workspace("", "");
    let t = arm64_plan(
        d.path(),
        &[
            ("CROSS_BUILD_BUILD_STD", "1"),
            (
                "CROSS_TARGET_AARCH64_UNKNOWN_LINUX_GNU_PRE_BUILD",
                "echo one\necho two",
            ),
            ("CROSS_BUILD_ENV_PASSTHROUGH", "A=1 B=2"),
            (
                "GREEN_CROSS_TARGET_AARCH64_UNKNOWN_LINUX_GNU_PACKAGES",
                "zlib1g-dev",
            ),
            ("GREEN_CROSS_BUILD_RELEASE_LTO", "thin"),
        ],
    );
    assert_eq!(t["std"], "build-std");
    assert_eq!(
        t["pre_build"]["commands"],
        serde_json::json!(["echo one\necho two"])
    );
    assert_eq!(t["build_env"]["A"], "1");
    assert_eq!(t["build_env"]["B"], "2");
    assert!(
        t["install"]["target_packages"]
            .as_array()
            .unwrap()
            .contains(&Value::from("zlib1g-dev"))
    );
    assert_eq!(t["release"]["lto"], "thin");
    // CROSS_BUILD_TARGET is cross's name for the default target, and it
    // comes before CARGO_BUILD_TARGET.
    let p = plan(
        d.path(),
        &[],
        &[
            ("CROSS_BUILD_TARGET", ARM64),
            ("CARGO_BUILD_TARGET", "x86_64-unknown-linux-musl"),
        ],
    );
    assert_eq!(p["targets"][0]["triple"], ARM64);
    // A value that does not fit names the variable.
    let e = error_of(
        d.path(),
        &["plan"],
        &[("CROSS_BUILD_RELEASE_PANIC", "sometimes")],
    );
    assert!(e.contains("CROSS_BUILD_RELEASE_PANIC"), "{e}");
}

#[test]
fn cross_no_warnings_makes_warnings_errors() {
    let d = workspace("[build]\nxargo = false\n", "");
    let e = error_of(
        d.path(),
        &["plan", "--target", ARM64],
        &[("CROSS_NO_WARNINGS", "1")],
    );
    assert!(
        e.contains("`xargo` in [build] is retired")
            && e.contains("CROSS_NO_WARNINGS makes warnings errors"),
        "{e}"
    );
    let o = green_cross(
        d.path(),
        &["plan", "--target", ARM64],
        &[("CROSS_NO_WARNINGS", "0")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn cross_debug_prints_what_green_cross_does() {
    let d = workspace("", "");
    let o = green_cross(
        d.path(),
        &["plan", "--target", ARM64],
        &[("CROSS_DEBUG", "1")],
    );
    assert!(o.status.success());
    assert!(stderr(&o).contains("DEBUG"), "{}", stderr(&o));
    let o = green_cross(d.path(), &["plan", "--target", ARM64], &[]);
    assert!(!stderr(&o).contains("DEBUG"), "{}", stderr(&o));
}

#[test]
fn cross_container_opts_and_cross_build_opts_must_be_option_lists() {
    // Their effect is checked by a real build and run (tests/e2e.rs); here,
    // that a malformed value is named. Both are read before the engine is
    // asked anything.
    let d = workspace("", "");
    for var in ["CROSS_CONTAINER_OPTS", "CROSS_BUILD_OPTS"] {
        let e = error_of(
            d.path(),
            &["build", "--target", ARM64],
            &[(var, "--env 'unterminated")],
        );
        assert!(
            e.contains(var) && e.contains("not a list of options"),
            "{e}"
        );
    }
}

#[test]
fn cross_container_uid_and_gid_are_read_together() {
    // Who `run` runs as in a runner container; the docker run arguments
    // are unit-tested in src/engine. Read before the engine is asked.
    let d = workspace("", "");
    let e = error_of(
        d.path(),
        &["build", "--target", ARM64],
        &[("CROSS_CONTAINER_UID", "1000")],
    );
    assert!(e.contains("set both, or neither"), "{e}");
    let e = error_of(
        d.path(),
        &["build", "--target", ARM64],
        &[
            ("CROSS_CONTAINER_UID", "me"),
            ("CROSS_CONTAINER_GID", "1000"),
        ],
    );
    assert!(
        e.contains("CROSS_CONTAINER_UID") && e.contains("a numeric id"),
        "{e}"
    );
}

#[test]
fn qemu_strace_reaches_the_build_step_and_the_program() {
    let d = workspace("", "");
    let p = plan(
        d.path(),
        &["run", "--target", ARM64],
        &[("QEMU_STRACE", "1")],
    );
    assert_eq!(p["targets"][0]["build_env"]["QEMU_STRACE"], "1");
    assert_eq!(p["run"]["env"]["QEMU_STRACE"], "1");
}

#[test]
fn cross_variables_without_meaning_here_say_so() {
    let d = workspace("", "");
    let (_, w) = dockerfile(
        d.path(),
        &["--target", ARM64],
        &[
            ("CROSS_REMOTE", "1"),
            ("XARGO_HOME", "/x"),
            ("CROSS_CUSTOM_TOOLCHAIN", "1"),
        ],
    );
    for v in ["CROSS_REMOTE", "XARGO_HOME", "CROSS_CUSTOM_TOOLCHAIN"] {
        assert!(
            w.contains(&format!("{v} has no effect with green-cross")),
            "{v}: {w}"
        );
    }
}

#[test]
fn glibc_targets_link_with_lld_unless_zig_links_and_user_flags_come_after() {
    let d = workspace("", "");
    let key = "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS";
    let t = arm64_plan(d.path(), &[]);
    assert_eq!(t["build_env"][key], "-C link-arg=-fuse-ld=lld");
    let packages = t["install"]["packages"].as_array().unwrap();
    assert!(packages.iter().any(|p| p == "lld"), "{packages:?}");
    // The last -fuse-ld wins: a user's choice of linker stands.
    let t = arm64_plan(d.path(), &[(key, "-C link-arg=-fuse-ld=bfd")]);
    assert_eq!(
        t["build_env"][key],
        "-C link-arg=-fuse-ld=lld -C link-arg=-fuse-ld=bfd"
    );
    // zig links by itself: no lld.
    let t = arm64_plan(d.path(), &[("CROSS_BUILD_ZIG", "2.17")]);
    assert!(t["build_env"].get(key).is_none(), "{}", t["build_env"]);
    let packages = t["install"]["packages"].as_array().unwrap();
    assert!(!packages.iter().any(|p| p == "lld"), "{packages:?}");
}

#[test]
fn verbosity_and_colour_do_not_change_the_dependencies_layer() {
    let d = workspace("", "");
    let plain = plan(d.path(), &["build", "--target", ARM64], &[])["targets"][0].clone();
    let loud = plan(
        d.path(),
        &["build", "-vv", "--color", "always", "--target", ARM64],
        &[],
    )["targets"][0]
        .clone();
    let cargo: Vec<&str> = loud["cargo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        cargo.contains(&"-vv") && cargo.contains(&"always"),
        "{cargo:?}"
    );
    assert_eq!(loud["deps_build"], plain["deps_build"]);
}

#[test]
fn the_target_s_own_rustflags_join_the_user_s_from_whichever_source_cargo_reads() {
    let d = workspace("", "");
    let key = "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS";
    let ours = "-C link-arg=-fuse-ld=lld";
    let env_of = |env: &[(&str, &str)]| arm64_plan(d.path(), env)["build_env"].clone();
    // cargo takes CARGO_ENCODED_RUSTFLAGS, else RUSTFLAGS, else the target's
    // rustflags, else build.rustflags: the first one set hides the rest.
    let e = env_of(&[("RUSTFLAGS", "-D warnings")]);
    assert_eq!(e["RUSTFLAGS"], format!("{ours} -D warnings").as_str());
    let e = env_of(&[("RUSTFLAGS", "")]);
    assert_eq!(e["RUSTFLAGS"], ours);
    let e = env_of(&[
        ("CARGO_ENCODED_RUSTFLAGS", "--cfg\x1fa b"),
        ("RUSTFLAGS", "-D warnings"),
    ]);
    assert_eq!(
        e["CARGO_ENCODED_RUSTFLAGS"],
        "-C\x1flink-arg=-fuse-ld=lld\x1f--cfg\x1fa b"
    );
    assert_eq!(e["RUSTFLAGS"], "-D warnings");
    // build.rustflags from the environment or the workspace's
    // .cargo/config.toml, which cargo drops for target rustflags.
    let e = env_of(&[("CARGO_BUILD_RUSTFLAGS", "--cfg from_env")]);
    assert_eq!(e[key], format!("{ours} --cfg from_env").as_str());
    std::fs::create_dir(d.path().join(".cargo")).unwrap();
    let config = d.path().join(".cargo/config.toml");
    std::fs::write(&config, "[build]\nrustflags = [\"--cfg\", \"from_file\"]\n").unwrap();
    assert_eq!(env_of(&[])[key], format!("{ours} --cfg from_file").as_str());
    // ... unless cargo would take a target's own rustflags anyway.
    let e = env_of(&[(key, "--cfg mine")]);
    assert_eq!(e[key], format!("{ours} --cfg mine").as_str());
    std::fs::write(
        &config,
        "[build]\nrustflags = [\"--cfg\", \"from_file\"]\n[target.'cfg(unix)']\nrustflags = []\n",
    )
    .unwrap();
    assert_eq!(env_of(&[])[key], ours);
}

#[test]
fn env_secrets_reach_cargo_as_buildkit_secrets_and_their_values_nowhere() {
    let d = workspace("[build.env]\nsecrets = [\"API_TOKEN\", \"NOT_SET\"]\n", "");
    let env = [("API_TOKEN", "s3cret-value")];
    let (text, err) = dockerfile(d.path(), &["--target", ARM64], &env);
    assert!(!text.contains("s3cret-value"), "{text}");
    assert!(
        text.contains("--mount=type=secret,id=green-cross-env-API_TOKEN"),
        "{text}"
    );
    assert!(
        text.contains("API_TOKEN=\"$(cat /run/secrets/green-cross-env-API_TOKEN)\""),
        "{text}"
    );
    // The build step only: the dependencies' layer is exported to the
    // cache, so nothing compiled there may have read a secret. The build
    // step is never served from cache while a secret is set (its value is
    // not in BuildKit's cache key).
    assert_eq!(
        text.matches("id=green-cross-env-API_TOKEN").count(),
        1,
        "{text}"
    );
    let deps = text.split(" AS deps-").nth(1).unwrap();
    let deps = deps.split("\nFROM ").next().unwrap();
    assert!(!deps.contains("green-cross-env-"), "{deps}");
    let build = text.split(" AS build-").nth(1).unwrap();
    assert!(build.contains("\nARG GREEN_CROSS_RUN_ID"), "{build}");
    assert!(
        err.contains("env.secrets names $NOT_SET, which is not set"),
        "{err}"
    );
    assert!(!text.contains("NOT_SET"), "{text}");
    let t = arm64_plan(d.path(), &env);
    assert_eq!(t["secrets"], serde_json::json!(["API_TOKEN"]));
    assert!(!t.to_string().contains("s3cret-value"));
    // The environment's mirror, and names checked like any variable name.
    let d = workspace("", "");
    let env = [("CROSS_BUILD_ENV_SECRETS", "API_TOKEN"), ("API_TOKEN", "x")];
    assert_eq!(
        arm64_plan(d.path(), &env)["secrets"],
        serde_json::json!(["API_TOKEN"])
    );
    let d = workspace("[build.env]\nsecrets = [\"A;id\"]\n", "");
    let e = error_of(d.path(), &["plan", "--target", ARM64], &[]);
    assert!(e.contains("not a variable name"), "{e}");
}

#[test]
fn the_checker_finds_what_buildkit_and_sh_would_refuse() {
    assert!(common::dockerfile::check("FROM a AS b\nRUN echo a \\\n && echo b\n").is_ok());
    assert!(common::dockerfile::check("FROM :edge AS b\n").is_err());
    assert!(common::dockerfile::check("FROM a AS b\nRUN for p in a b; do &&\n").is_err());
    assert!(common::dockerfile::check("FROM a AS b\nRUN echo a\n  && echo b\n").is_err());
    assert!(
        common::dockerfile::check(
            "FROM a AS b\nCOPY <<'EOF' /x/pre-build-commands\nif true; then\nEOF\n"
        )
        .is_err()
    );
    assert!(
        common::dockerfile::check("FROM a AS b\nCOPY <<'EOF' /x/pre-build-commands\necho ok\n")
            .is_err()
    );
}

// ---- cross's own unit tests on configuration, ported: the same names
// and the same assertions (cross-rs/cross src/config.rs and
// src/cross_toml.rs), on green-cross's resolver and, where the result
// shows there, its plan.

mod config {
    use green_cross::config::{CrossToml, Env, Settings, TargetSettings};

    pub const T1: &str = "aarch64-unknown-linux-gnu";
    pub const T2: &str = "armv7-unknown-linux-musleabihf";

    pub fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    pub fn toml(text: &str) -> CrossToml {
        let (c, unused) = CrossToml::parse("Cross.toml".as_ref(), text).unwrap();
        assert!(unused.is_empty(), "{unused:?}");
        c
    }

    pub fn target(text: &str, pairs: &[(&str, &str)], triple: &str) -> TargetSettings {
        Settings::resolve(&env(pairs), &toml(text))
            .unwrap()
            .for_target(triple)
    }

    mod test_environment {
        use super::*;
        use green_cross::config::BuildStd;

        #[test]
        fn parse_error_in_env() {
            let e = [
                ("CROSS_BUILD_STD", "false"),
                ("CROSS_BUILD_ZIG_IMAGE", "zig:local"),
            ];
            let t = target("", &e, T1);
            assert_eq!(t.build_std, Some(BuildStd::Enabled(false)));
            assert_eq!(t.zig.enable, None);
            assert_eq!(t.zig.version, None);
            assert_eq!(t.zig.image.unwrap().name.as_deref(), Some("zig:local"));
        }

        #[test]
        fn build_and_target_set_returns_tuple() {
            let e = [
                ("CROSS_BUILD_ZIG", "true"),
                ("CROSS_BUILD_ZIG_VERSION", "2.17"),
            ];
            let s = Settings::resolve(&env(&e), &CrossToml::default()).unwrap();
            let zig = s.environment.build.zig.clone().unwrap();
            assert_eq!(
                (zig.enable, zig.version.as_deref()),
                (Some(true), Some("2.17"))
            );
            assert!(s.environment.target.is_empty());
        }

        #[test]
        fn target_build_var_name() {
            let e = [("CROSS_TARGET_AARCH64_UNKNOWN_LINUX_GNU_IMAGE", "x/y:1")];
            let t = target("", &e, T1);
            assert_eq!(t.image.unwrap().name.as_deref(), Some("x/y:1"));
        }

        #[test]
        fn collect_passthrough() {
            let e = [
                ("CROSS_BUILD_ENV_PASSTHROUGH", "TEST1 TEST2"),
                (
                    "CROSS_TARGET_AARCH64_UNKNOWN_LINUX_GNU_ENV_PASSTHROUGH",
                    "PASS1 PASS2",
                ),
            ];
            let t = target("", &e, T1);
            for v in ["TEST1", "TEST2", "PASS1", "PASS2"] {
                assert!(t.passthrough.contains(&v.to_string()), "{v}");
            }
        }
    }

    mod test_config {
        use super::*;
        use green_cross::config::PreBuild;

        const TOML_BUILD_PRE_BUILD: &str =
            "[build]\npre-build = [\"apt-get update && apt-get install zlib-dev\"]\n";
        const TOML_BUILD_DOCKERFILE: &str = "[build]\ndockerfile = \"Dockerfile1\"\n[target.aarch64-unknown-linux-gnu]\ndockerfile = \"Dockerfile2\"\n";
        const TOML_BUILD_VOLUMES: &str = "[build.env]\nvolumes = [\"VOLUME3\", \"VOLUME4\"]\n[target.aarch64-unknown-linux-gnu]\n";
        const TOML_ARRAYS_BOTH: &str = "[build.env]\npassthrough = [\"VAR1\", \"VAR2\"]\nvolumes = [\"VOLUME1\", \"VOLUME2\"]\n\n[target.aarch64-unknown-linux-gnu.env]\npassthrough = [\"VAR3\", \"VAR4\"]\nvolumes = [\"VOLUME3\", \"VOLUME4\"]\n";
        const TOML_ARRAYS_BUILD: &str = "[build.env]\npassthrough = [\"VAR1\", \"VAR2\"]\nvolumes = [\"VOLUME1\", \"VOLUME2\"]\n";
        const TOML_ARRAYS_TARGET: &str = "[target.aarch64-unknown-linux-gnu.env]\npassthrough = [\"VAR3\", \"VAR4\"]\nvolumes = [\"VOLUME3\", \"VOLUME4\"]\n";
        const TOML_DEFAULT_TARGET: &str =
            "[build]\ndefault-target = \"aarch64-unknown-linux-gnu\"\n";

        fn strings(v: &[&str]) -> Vec<String> {
            v.iter().map(|s| s.to_string()).collect()
        }

        #[test]
        fn env_target_and_toml_build_pre_build_then_use_env() {
            let e = [(
                "CROSS_TARGET_AARCH64_UNKNOWN_LINUX_GNU_PRE_BUILD",
                "dpkg --add-architecture arm64",
            )];
            let t = target(TOML_BUILD_PRE_BUILD, &e, T1);
            // cross: a single line from the environment is a command.
            let p = t.pre_build.unwrap();
            assert_eq!(
                p.commands(),
                Some(&strings(&["dpkg --add-architecture arm64"])[..])
            );
            assert!(!matches!(p, PreBuild::Script(_)));
        }

        #[test]
        fn env_target_then_toml_target_then_env_build_then_toml_build() {
            let file = |t: TargetSettings| t.dockerfile.unwrap().file.unwrap();
            let e = [
                ("CROSS_BUILD_DOCKERFILE", "Dockerfile3"),
                (
                    "CROSS_TARGET_AARCH64_UNKNOWN_LINUX_GNU_DOCKERFILE",
                    "Dockerfile4",
                ),
            ];
            assert_eq!(file(target(TOML_BUILD_DOCKERFILE, &e, T1)), "Dockerfile4");
            assert_eq!(file(target(TOML_BUILD_DOCKERFILE, &e, T2)), "Dockerfile3");
            assert_eq!(file(target(TOML_BUILD_DOCKERFILE, &[], T1)), "Dockerfile2");
            assert_eq!(file(target(TOML_BUILD_DOCKERFILE, &[], T2)), "Dockerfile1");
        }

        #[test]
        fn toml_build_passthrough_then_use_target_passthrough_both() {
            let t = target(TOML_ARRAYS_BOTH, &[], T1);
            assert_eq!(t.passthrough, strings(&["VAR1", "VAR2", "VAR3", "VAR4"]));
            assert_eq!(t.volumes, strings(&["VOLUME3", "VOLUME4"]));
        }

        #[test]
        fn toml_build_passthrough() {
            let t = target(TOML_ARRAYS_BUILD, &[], T1);
            assert_eq!(t.passthrough, strings(&["VAR1", "VAR2"]));
            assert_eq!(t.volumes, strings(&["VOLUME1", "VOLUME2"]));
        }

        #[test]
        fn toml_target_passthrough() {
            let t = target(TOML_ARRAYS_TARGET, &[], T1);
            assert_eq!(t.passthrough, strings(&["VAR3", "VAR4"]));
            assert_eq!(t.volumes, strings(&["VOLUME3", "VOLUME4"]));
        }

        #[test]
        fn volumes_use_env_over_toml() {
            let e = [("CROSS_BUILD_ENV_VOLUMES", "VOLUME1 VOLUME2")];
            let result = target(TOML_BUILD_VOLUMES, &e, T1).volumes;
            assert_eq!(result.len(), 2);
            assert!(result.contains(&"VOLUME1".to_string()));
            assert!(result.contains(&"VOLUME2".to_string()));
        }

        #[test]
        fn volumes_use_toml_when_no_env() {
            let result = target(TOML_BUILD_VOLUMES, &[], T1).volumes;
            assert_eq!(result.len(), 2);
            assert!(result.contains(&"VOLUME3".to_string()));
            assert!(result.contains(&"VOLUME4".to_string()));
        }

        #[test]
        fn no_env_and_no_toml_default_target_then_none() {
            let s = Settings::resolve(&env(&[]), &CrossToml::default()).unwrap();
            assert_eq!((s.env_default_target, s.default_target), (None, None));
        }

        #[test]
        fn env_and_toml_default_target_then_use_env() {
            let e = [("CROSS_BUILD_TARGET", T2)];
            let s = Settings::resolve(&env(&e), &toml(TOML_DEFAULT_TARGET)).unwrap();
            assert_eq!(s.env_default_target.as_deref(), Some(T2));
            // And the plan builds that one.
            let d = super::super::workspace(TOML_DEFAULT_TARGET, "");
            let p = super::super::plan(d.path(), &[], &e);
            assert_eq!(p["targets"][0]["triple"], T2);
        }

        #[test]
        fn no_env_but_toml_default_target_then_use_toml() {
            let s = Settings::resolve(&env(&[]), &toml(TOML_DEFAULT_TARGET)).unwrap();
            assert_eq!(s.default_target.as_deref(), Some(T1));
            let d = super::super::workspace(TOML_DEFAULT_TARGET, "");
            let p = super::super::plan(d.path(), &[], &[]);
            assert_eq!(p["targets"][0]["triple"], T1);
        }
    }
}

mod cross_toml {
    use super::config::{T1, toml};
    use green_cross::config::{
        BuildStd, CargoMetadata, CrossToml, Image, Merge, PreBuild, Section, Zig,
    };

    fn strings(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    fn image(name: &str, toolchain: Option<&[&str]>) -> Option<Image> {
        Some(Image {
            name: Some(name.into()),
            toolchain: toolchain.and_then(strings),
        })
    }

    #[test]
    fn parse_empty_toml() {
        assert_eq!(toml(""), CrossToml::default());
    }

    #[test]
    fn parse_build_toml() {
        let c = toml(
            "[build]\npre-build = [\"echo 'Hello World!'\"]\n\n[build.env]\nvolumes = [\"VOL1_ARG\", \"VOL2_ARG\"]\npassthrough = [\"VAR1\", \"VAR2\"]\n",
        );
        assert!(c.target.is_empty());
        let mut expected = Section::default();
        expected.env.volumes = strings(&["VOL1_ARG", "VOL2_ARG"]);
        expected.env.passthrough = strings(&["VAR1", "VAR2"]);
        expected.pre_build = Some(PreBuild::Lines(vec!["echo 'Hello World!'".into()]));
        assert_eq!(c.build, expected);
    }

    #[test]
    fn parse_target_toml() {
        let c = toml(
            "[target.aarch64-unknown-linux-gnu.env]\nvolumes = [\"VOL1_ARG\", \"VOL2_ARG\"]\npassthrough = [\"VAR1\", \"VAR2\"]\n[target.aarch64-unknown-linux-gnu]\nbuild-std = true\nimage = \"test-image\"\npre-build = []\n\n[target.aarch64-unknown-linux-musl.zig]\nenable = true\nversion = \"2.17\"\nimage = \"zig:local\"\n",
        );
        assert_eq!(c.build, Section::default());
        let gnu = &c.target[T1];
        assert_eq!(gnu.env.passthrough, strings(&["VAR1", "VAR2"]));
        assert_eq!(gnu.env.volumes, strings(&["VOL1_ARG", "VOL2_ARG"]));
        assert_eq!(gnu.build_std, Some(BuildStd::Enabled(true)));
        assert_eq!(gnu.image, image("test-image", None));
        assert_eq!(gnu.pre_build, Some(PreBuild::Lines(vec![])));
        let musl = &c.target["aarch64-unknown-linux-musl"];
        assert_eq!(
            musl.zig,
            Some(Zig {
                enable: Some(true),
                version: Some("2.17".into()),
                image: image("zig:local", None),
            })
        );
        assert_eq!(
            (musl.env.passthrough.as_ref(), musl.image.as_ref()),
            (None, None)
        );
    }

    #[test]
    fn parse_mixed_toml() {
        let text = "[build]\npre-build = []\n\n[build.zig.image]\nname = \"zig:local\"\ntoolchain = [\"aarch64-unknown-linux-gnu\"]\n\n[build.env]\npassthrough = []\n\n[target.aarch64-unknown-linux-gnu]\ndockerfile = \"Dockerfile.test\"\npre-build = [\"echo 'Hello'\"]\nimage.name = \"test-image\"\nimage.toolchain = [\"aarch64-unknown-linux-musl\"]\n\n[target.aarch64-unknown-linux-gnu.env]\nvolumes = [\"VOL\"]\n";
        let c = toml(text);
        assert_eq!(c.build.pre_build, Some(PreBuild::Lines(vec![])));
        assert_eq!(
            c.build.zig,
            Some(Zig {
                enable: None,
                version: None,
                image: image("zig:local", Some(&["aarch64-unknown-linux-gnu"])),
            })
        );
        assert_eq!(c.build.env.passthrough, strings(&[]));
        let t = &c.target[T1];
        assert_eq!(
            t.image,
            image("test-image", Some(&["aarch64-unknown-linux-musl"]))
        );
        assert_eq!(
            t.dockerfile.as_ref().unwrap().file.as_deref(),
            Some("Dockerfile.test")
        );
        assert_eq!(
            t.pre_build,
            Some(PreBuild::Lines(vec!["echo 'Hello'".into()]))
        );
        assert_eq!(t.env.volumes, strings(&["VOL"]));
        // And it plans: a zig image alone does not turn zig on.
        let d = super::workspace(text, "");
        let p = super::arm64_plan(d.path(), &[]);
        assert_eq!(p["zig"], serde_json::Value::Null);
        assert_eq!(
            p["pre_build"]["commands"],
            serde_json::json!(["echo 'Hello'"])
        );
    }

    #[test]
    fn parse_from_empty_cargo_toml() {
        let (m, w) = CargoMetadata::parse(
            "Cargo.toml".as_ref(),
            "[package]\nname = \"cargo_toml_test_package\"\nversion = \"0.1.0\"\n\n[dependencies]\ncross = \"1.2.3\"\n",
        )
        .unwrap();
        assert!(w.is_empty());
        assert_eq!((m.package, m.workspace), (None, None));
    }

    #[test]
    fn parse_from_cargo_toml() {
        let (m, _) = CargoMetadata::parse(
            "Cargo.toml".as_ref(),
            "[package]\nname = \"cargo_toml_test_package\"\nversion = \"0.1.0\"\n\n[dependencies]\ncross = \"1.2.3\"\n\n[package.metadata.cross.build]\nbuild-std = true\n",
        )
        .unwrap();
        let mut expected = CrossToml::default();
        expected.build.build_std = Some(BuildStd::Enabled(true));
        assert_eq!(m.package, Some(expected));
    }

    #[test]
    fn fully_populated_roundtrip() {
        let c = toml(
            "[target.a]\nbuild-std = true\nimage.name = \"local\"\nimage.toolchain = [\"x86_64-unknown-linux-gnu\"]\ndockerfile.file = \"Dockerfile\"\ndockerfile.context = \"..\"\npre-build = [\"sh\"]\nzig = true\n\n[target.b]\npre-build = \"sh\"\nzig = \"2.17\"\n",
        );
        let back: CrossToml = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn merge() {
        let cfg1 = toml(
            "[target.aarch64-unknown-linux-gnu]\nbuild-std = true\nimage = \"test-image1\"\n\n[target.aarch64-unknown-linux-gnu.env]\nvolumes = [\"VOL1_ARG\"]\npassthrough = [\"VAR1\"]\n\n[target.target2]\nbuild-std = true\nimage = \"test-image2\"\n\n[target.target2.env]\nvolumes = [\"VOL2_ARG\"]\npassthrough = [\"VAR2\"]\n\n[build]\nbuild-std = true\n\n[build.env]\nvolumes = []\npassthrough = [\"VAR1\", \"VAR2\"]\n",
        );
        let cfg2 = toml(
            "[target.target2]\nbuild-std = false\nimage = \"test-image2-precedence\"\n\n[target.target2.env]\nvolumes = [\"VOL2_ARG_PRECEDENCE\"]\npassthrough = [\"VAR2_PRECEDENCE\"]\n\n[target.target3]\nbuild-std = true\nimage = \"@sha256:test-image3\"\n\n[target.target3.env]\nvolumes = [\"VOL3_ARG\"]\npassthrough = [\"VAR3\"]\n\n[build]\nbuild-std = [\"core\", \"alloc\"]\ndefault-target = \"aarch64-unknown-linux-gnu\"\n\n[build.env]\nvolumes = []\npassthrough = [\"VAR3\", \"VAR4\"]\n",
        );
        let expected = toml(
            "[target.aarch64-unknown-linux-gnu]\nbuild-std = true\nimage = \"test-image1\"\n\n[target.aarch64-unknown-linux-gnu.env]\nvolumes = [\"VOL1_ARG\"]\npassthrough = [\"VAR1\"]\n\n[target.target2]\nbuild-std = false\nimage = \"test-image2-precedence\"\n\n[target.target2.env]\nvolumes = [\"VOL2_ARG_PRECEDENCE\"]\npassthrough = [\"VAR2_PRECEDENCE\"]\n\n[target.target3]\nbuild-std = true\nimage = \"@sha256:test-image3\"\n\n[target.target3.env]\nvolumes = [\"VOL3_ARG\"]\npassthrough = [\"VAR3\"]\n\n[build]\nbuild-std = [\"core\", \"alloc\"]\ndefault-target = \"aarch64-unknown-linux-gnu\"\n\n[build.env]\nvolumes = []\npassthrough = [\"VAR3\", \"VAR4\"]\n",
        );
        // cfg2 has precedence.
        let merged = cfg2.merge(cfg1);
        assert_eq!(merged, expected);
        let b = &expected.build;
        assert_eq!(
            b.build_std,
            Some(BuildStd::Crates(vec!["core".into(), "alloc".into()]))
        );
        assert_eq!(b.default_target.as_deref(), Some(T1));
        assert_eq!((b.pre_build.as_ref(), b.dockerfile.as_ref()), (None, None));
        assert_eq!(b.env.passthrough, strings(&["VAR3", "VAR4"]));
        assert_eq!(b.env.volumes, strings(&[]));
        let a = &expected.target[T1];
        assert_eq!(a.build_std, Some(BuildStd::Enabled(true)));
        assert_eq!(a.image, image("test-image1", None));
        assert_eq!((a.pre_build.as_ref(), a.dockerfile.as_ref()), (None, None));
        assert_eq!(a.env.passthrough, strings(&["VAR1"]));
        assert_eq!(a.env.volumes, strings(&["VOL1_ARG"]));
        let t2 = &expected.target["target2"];
        assert_eq!(t2.build_std, Some(BuildStd::Enabled(false)));
        assert_eq!(t2.image, image("test-image2-precedence", None));
        assert_eq!(t2.env.passthrough, strings(&["VAR2_PRECEDENCE"]));
        assert_eq!(t2.env.volumes, strings(&["VOL2_ARG_PRECEDENCE"]));
        let t3 = &expected.target["target3"];
        assert_eq!(t3.build_std, Some(BuildStd::Enabled(true)));
        assert_eq!(t3.image, image("@sha256:test-image3", None));
        assert_eq!(t3.env.passthrough, strings(&["VAR3"]));
        assert_eq!(t3.env.volumes, strings(&["VOL3_ARG"]));
    }

    #[test]
    fn pre_build_script() {
        let c = toml(
            "[target.aarch64-unknown-linux-gnu]\npre-build = \"./my-script.sh\"\n\n[build]\npre-build = [\"echo Hello World\"]\n",
        );
        assert!(matches!(c.build.pre_build, Some(PreBuild::Lines(_))));
        assert!(matches!(c.target[T1].pre_build, Some(PreBuild::Single(_))));
    }
}

// ---- every ```toml example of cross's docs (docs/config_file.md,
// custom_images.md, environment_variables.md, recipes.md), as a user would
// paste it: it parses without unknown keys, plans in both modes, and
// renders a Dockerfile whose instructions parse and whose shell passes
// `sh -n`; what the docs say it does is asserted in the rustup-mode file.

/// (where, Cross.toml, extra arguments, what the rustup-mode Dockerfile has)
type DocCase = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

const CROSS_DOCS: &[DocCase] = &[
    (
        "config_file.md: build",
        "[build]\nbuild-std = false\nzig = false\ndefault-target = \"x86_64-unknown-linux-gnu\"\npre-build = [\n    \"dpkg --add-architecture $CROSS_DEB_ARCH\",\n    \"apt-get update && apt-get --assume-yes install libssl-dev:$CROSS_DEB_ARCH\"\n]\n",
        &[],
        &[
            "AS sysroot-x86_64-unknown-linux-gnu",
            "dpkg --add-architecture $CROSS_DEB_ARCH\napt-get update && apt-get --assume-yes install libssl-dev:$CROSS_DEB_ARCH\n",
            "export CROSS_DEB_ARCH=amd64 CROSS_TARGET=x86_64-unknown-linux-gnu",
        ],
    ),
    (
        "config_file.md: build.env",
        "[build.env]\nvolumes = [\"VOL1_ARG\", \"VOL2_ARG=/path/to/volume\"]\npassthrough = [\"VAR1_ARG\", \"VAR2_ARG=VALUE\"]\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &["target=/path/to/volume", "VAR2_ARG=VALUE"],
    ),
    (
        "config_file.md: build.dockerfile (string)",
        "[build]\ndockerfile = \"./Dockerfile\"\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &["FROM --platform=$BUILDPLATFORM green-cross-custom:aarch64-unknown-linux-gnu-"],
    ),
    (
        "config_file.md: build.dockerfile (table)",
        "[build.dockerfile]\nfile = \"./Dockerfile\"\ncontext = \".\"\nbuild-args = { ARG1 = \"foo\" }\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &["FROM --platform=$BUILDPLATFORM green-cross-custom:aarch64-unknown-linux-gnu-"],
    ),
    (
        "config_file.md: build.zig (version)",
        "[build]\nzig = \"2.17\"\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &["-target \"aarch64-linux-gnu.2.17\""],
    ),
    (
        "config_file.md: build.zig (bool)",
        "[build]\nzig = true\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &["-target \"aarch64-linux-gnu\""],
    ),
    (
        "config_file.md: build.zig (table)",
        "[build.zig]\nenable = true\nversion = \"2.17\"\nimage = \"myimage\"\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &[
            "myimage AS toolchain-aarch64-unknown-linux-gnu",
            "-target \"aarch64-linux-gnu.2.17\"",
        ],
    ),
    (
        "config_file.md: target.TARGET",
        "[target.aarch64-unknown-linux-gnu]\nbuild-std = [\"core\", \"alloc\"]\nimage = \"test-image\"\nrunner = \"qemu-user\"\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &[
            "test-image AS toolchain-aarch64-unknown-linux-gnu",
            "-Zbuild-std=core,alloc",
        ],
    ),
    (
        "config_file.md: target.TARGET.pre-build (a script that does not exist: a command)",
        "[target.aarch64-unknown-linux-gnu]\npre-build = \"./scripts/my-script.sh\"\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &["/green-cross/pre-build-commands\n./scripts/my-script.sh\n"],
    ),
    (
        "config_file.md: target.TARGET.pre-build (lines)",
        "[target.aarch64-unknown-linux-gnu]\npre-build = [\n    \"dpkg --add-architecture $CROSS_DEB_ARCH\",\n    \"apt-get update\",\n    \"apt-get install --assume-yes libfoo:$CROSS_DEB_ARCH\"\n]\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &["export CROSS_DEB_ARCH=arm64"],
    ),
    (
        "config_file.md: target.TARGET.image",
        "[target.aarch64-unknown-linux-gnu]\nimage = \"my/image:latest\"\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &[
            "FROM --platform=$BUILDPLATFORM my/image:latest AS toolchain-aarch64-unknown-linux-gnu\nCOPY --from=toolchain-aarch64-unknown-linux-gnu-rust /usr/local/rustup",
        ],
    ),
    (
        "config_file.md: target.TARGET.image (tag and digest shorthands)",
        "[target.aarch64-unknown-linux-gnu]\n# Translates to `ghcr.io/cross-rs/aarch64-unknown-linux-gnu:edge`\nimage = \":edge\"\n\n[target.x86_64-unknown-linux-musl]\nimage = \"@sha256:77db671d8356a64ae72a3e1415e63f547f26d374fbe3c4762c1cd36c7eac7b99\"\n",
        &[
            "--target",
            "aarch64-unknown-linux-gnu",
            "--target",
            "x86_64-unknown-linux-musl",
        ],
        &[
            "ghcr.io/cross-rs/aarch64-unknown-linux-gnu:edge AS toolchain-aarch64-unknown-linux-gnu",
            "ghcr.io/cross-rs/x86_64-unknown-linux-musl@sha256:77db671d8356a64ae72a3e1415e63f547f26d374fbe3c4762c1cd36c7eac7b99 AS toolchain-x86_64-unknown-linux-musl",
        ],
    ),
    (
        "config_file.md: target.TARGET.image (subtarget shorthand)",
        "[target.x86_64-unknown-linux-gnu]\nimage = \"-centos\"\n",
        &["--target", "x86_64-unknown-linux-gnu"],
        &[
            "ghcr.io/cross-rs/x86_64-unknown-linux-gnu:0.2.5-centos AS toolchain-x86_64-unknown-linux-gnu",
        ],
    ),
    (
        "config_file.md: target.TARGET.image (table)",
        "[target.aarch64-unknown-linux-gnu]\nimage.name = \"alpine:edge\"\nimage.toolchain = [\"x86_64-unknown-linux-musl\", \"linux/arm64=aarch64-unknown-linux-musl\"]\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &["alpine:edge AS toolchain-aarch64-unknown-linux-gnu"],
    ),
    (
        "config_file.md: target.TARGET.env",
        "[target.x86_64-unknown-linux-gnu.env]\nvolumes = [\"VOL1_ARG\", \"VOL2_ARG=/path/to/volume\"]\npassthrough = [\"VAR1_ARG\", \"VAR2_ARG=VALUE\"]\n",
        &["--target", "x86_64-unknown-linux-gnu"],
        &["target=/path/to/volume", "VAR2_ARG=VALUE"],
    ),
    (
        "config_file.md: target.TARGET.dockerfile (string)",
        "[target.aarch64-unknown-linux-gnu]\ndockerfile = \"./Dockerfile\"\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &["FROM --platform=$BUILDPLATFORM green-cross-custom:aarch64-unknown-linux-gnu-"],
    ),
    (
        "config_file.md: target.TARGET.dockerfile (table)",
        "[target.aarch64-unknown-linux-gnu.dockerfile]\nfile = \"./Dockerfile\"\ncontext = \".\"\nbuild-args = { ARG1 = \"foo\" }\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &["FROM --platform=$BUILDPLATFORM green-cross-custom:aarch64-unknown-linux-gnu-"],
    ),
    (
        "config_file.md: target.TARGET.zig (version)",
        "[target.aarch64-unknown-linux-gnu]\nzig = \"2.17\"\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &["-target \"aarch64-linux-gnu.2.17\""],
    ),
    (
        "config_file.md: target.TARGET.zig (bool)",
        "[target.aarch64-unknown-linux-gnu]\nzig = true\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &["-target \"aarch64-linux-gnu\""],
    ),
    (
        "config_file.md: target.TARGET.zig (table)",
        "[target.aarch64-unknown-linux-gnu.zig]\nenable = true\nversion = \"2.17\"\nimage = \"myimage\"\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &[
            "myimage AS toolchain-aarch64-unknown-linux-gnu",
            "aarch64-linux-gnu.2.17",
        ],
    ),
    (
        "custom_images.md: automatic target architecture",
        "[target.x86_64-unknown-linux-gnu]\npre-build = [\n    \"dpkg --add-architecture $CROSS_DEB_ARCH\",\n    \"apt-get update && apt-get install --assume-yes libssl-dev:$CROSS_DEB_ARCH\"\n]\n",
        &["--target", "x86_64-unknown-linux-gnu"],
        &["export CROSS_DEB_ARCH=amd64"],
    ),
    (
        "custom_images.md: a multi-line entry (FreeBSD's, on a target built here)",
        "[target.x86_64-unknown-linux-gnu]\npre-build = [\"\"\"\nexport FREEBSD_MIRROR=$(/freebsd-fetch-best-mirror.sh) &&\n/freebsd-setup-packagesite.sh &&\n/freebsd-install-package.sh xen-tools\n\"\"\"]\n",
        &["--target", "x86_64-unknown-linux-gnu"],
        &[
            "export FREEBSD_MIRROR=$(/freebsd-fetch-best-mirror.sh) &&\n/freebsd-setup-packagesite.sh &&\n/freebsd-install-package.sh xen-tools\n",
        ],
    ),
    (
        "custom_images.md: FreeBSD's table as written (a target green-cross does not build)",
        "[target.x86_64-unknown-freebsd]\npre-build = [\"\"\"\nexport FREEBSD_MIRROR=$(/freebsd-fetch-best-mirror.sh) &&\n/freebsd-setup-packagesite.sh &&\n/freebsd-install-package.sh xen-tools\n\"\"\"]\n",
        &["--target", "x86_64-unknown-linux-gnu"],
        &[],
    ),
    (
        "environment_variables.md: build.env",
        "[build.env]\npassthrough = [\n    \"RUST_BACKTRACE\",\n    \"RUST_LOG\",\n    \"TRAVIS\",\n]\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &[],
    ),
    (
        "environment_variables.md: target.TARGET.env",
        "[target.aarch64-unknown-linux-gnu.env]\npassthrough = [\n    \"RUST_DEBUG\",\n]\n",
        &["--target", "aarch64-unknown-linux-gnu"],
        &[],
    ),
    (
        "recipes.md: OpenSSL",
        "[target.x86_64-unknown-linux-gnu]\npre-build = [\n    \"dpkg --add-architecture $CROSS_DEB_ARCH\",\n    \"apt-get update && apt-get install --assume-yes libssl-dev:$CROSS_DEB_ARCH\"\n]\n",
        &["--target", "x86_64-unknown-linux-gnu"],
        &["libssl-dev:$CROSS_DEB_ARCH"],
    ),
    (
        "recipes.md: sccache (${target} as cross's docs test reads it)",
        "[target.x86_64-unknown-linux-gnu]\nimage = \"x86_64-unknown-linux-gnu:sccache\"\n\n[build.env]\npassthrough = [\n    \"SCCACHE_ERROR_LOG\",\n    \"SCCACHE_LOG\",\n    \"SCCACHE_AZURE_CONNECTION_STRING\",\n    \"SCCACHE_AZURE_BLOB_CONTAINER\",\n    \"SCCACHE_DIR\",\n]\n",
        &["--target", "x86_64-unknown-linux-gnu"],
        &["x86_64-unknown-linux-gnu:sccache AS toolchain-x86_64-unknown-linux-gnu"],
    ),
];

/// Each case's Dockerfile in both modes (rustup first), checked.
fn docs_case_dockerfiles(case: &DocCase) -> Vec<String> {
    let (name, toml, args, expect) = case;
    let (_, unknown) = green_cross::config::CrossToml::parse("Cross.toml".as_ref(), toml)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(unknown.is_empty(), "{name}: {unknown:?}");
    // A repository's Cross.toml may not mount host paths outside the
    // workspace (a difference from cross, kept on purpose): the examples
    // that do are given as the user's own file, outside it.
    let outside = tempfile::tempdir().unwrap();
    let user_file = outside.path().join("Cross.toml");
    let (d, config) = if toml.contains("=/path/to/volume") {
        std::fs::write(&user_file, toml).unwrap();
        (workspace("", ""), user_file.to_str().unwrap())
    } else {
        (workspace(toml, ""), "")
    };
    let mut out = Vec::new();
    for mode in ["rustup", "distro"] {
        let mut env = vec![("GREEN_CROSS_TOOLCHAIN", mode)];
        if !config.is_empty() {
            env.push(("CROSS_CONFIG", config));
        }
        let (text, warnings) = dockerfile(d.path(), args, &env);
        assert!(!warnings.contains("unknown key"), "{name}: {warnings}");
        common::dockerfile::check(&text).unwrap_or_else(|e| panic!("{name} ({mode}): {e}"));
        if mode == "rustup" {
            for e in *expect {
                assert!(text.contains(e), "{name}: no `{e}` in\n{text}");
            }
        }
        out.push(text);
    }
    out
}

#[test]
fn every_toml_example_of_cross_s_docs_parses_plans_and_renders_valid_dockerfiles() {
    for case in CROSS_DOCS {
        docs_case_dockerfiles(case);
    }
}

/// The same Dockerfiles through BuildKit's own parser (`--print=targets`
/// parses and lists the stages without building anything).
#[test]
#[ignore = "needs a Docker engine with buildx (ci/test.sh starts one)"]
fn every_docs_example_s_dockerfile_parses_in_buildkit() {
    let dir = tempfile::tempdir().unwrap();
    for case in CROSS_DOCS {
        for (i, text) in docs_case_dockerfiles(case).into_iter().enumerate() {
            let file = dir.path().join(format!("Dockerfile.{i}"));
            std::fs::write(&file, &text).unwrap();
            let o = Command::new("docker")
                .args(["buildx", "build", "--print=targets", "-f"])
                .arg(&file)
                .arg(dir.path())
                .env("BUILDX_EXPERIMENTAL", "1")
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(o.status.success(), "{}: {err}\n{text}", case.0);
            let stages = String::from_utf8_lossy(&o.stdout);
            assert!(stages.contains("sysroot-"), "{}: {stages}", case.0);
        }
    }
}

#[test]
fn a_custom_target_specification_is_a_target_named_by_its_file() {
    // cross takes `--target path/to/name.json` with build-std; its
    // `[target.<name>]` table applies.
    let d = workspace("[target.my-board]\nbuild-std = [\"core\", \"alloc\"]\n", "");
    std::fs::create_dir_all(d.path().join("specs")).unwrap();
    std::fs::write(d.path().join("specs/my-board.json"), "{}").unwrap();
    let o = green_cross(d.path(), &["plan", "--target", "specs/my-board.json"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("[target.my-board]"), "{}", stderr(&o));
    let p: Value = serde_json::from_slice(&o.stdout).unwrap();
    let t = &p["targets"][0];
    assert_eq!(t["triple"], "my-board");
    assert_eq!(t["std"], "build-std");
    assert_eq!(t["sysroot_env"]["CARGO_UNSTABLE_JSON_TARGET_SPEC"], "true");
    let cargo: Vec<&str> = t["cargo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let i = cargo.iter().position(|a| *a == "--target").unwrap();
    assert!(cargo[i + 1].ends_with("/specs/my-board.json"), "{cargo:?}");
    assert!(cargo.contains(&"-Zbuild-std=core,alloc"), "{cargo:?}");
    // The dependencies stage reads it too.
    assert!(
        p["skeleton"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "specs/my-board.json"),
        "{}",
        p["skeleton"]
    );
    // Outside the workspace, or a name cargo would not take: said first.
    let e = error_of(
        d.path(),
        &["plan", "--target", "/elsewhere/board.json"],
        &[],
    );
    assert!(e.contains("must be inside the workspace"), "{e}");
    let e = error_of(d.path(), &["plan", "--target", "specs/My Board.json"], &[]);
    assert!(e.contains("the file's name is the target's name"), "{e}");
    // `packages` has no architecture to install for.
    let d = workspace("[target.my-board]\npackages = [\"zlib1g-dev\"]\n", "");
    let e = error_of(d.path(), &["plan", "--target", "my-board.json"], &[]);
    assert!(
        e.contains("has no architecture to install packages for"),
        "{e}"
    );
}

#[test]
fn a_lowercase_cross_toml_is_named_not_read() {
    let d = workspace("", "");
    std::fs::write(
        d.path().join("cross.toml"),
        "[build]\ndefault-target = \"aarch64-unknown-linux-gnu\"\n",
    )
    .unwrap();
    let (_, w) = dockerfile(d.path(), &["--target", ARM64], &[]);
    assert!(
        w.contains("cross.toml exists but the configuration file is Cross.toml"),
        "{w}"
    );
    // And a table named with underscores is pointed at its triple.
    let d = workspace("[target.aarch64_unknown_linux_gnu]\nbuild-std = true\n", "");
    let (_, w) = dockerfile(d.path(), &["--target", ARM64], &[]);
    assert!(
        w.contains("did you mean `aarch64-unknown-linux-gnu`?"),
        "{w}"
    );
}
