//! The pure planner: from the invocation, the workspace, the settings and
//! the recipes to a [`BuildPlan`] that says every detail of the build. No
//! I/O: the environment and the host's facts are inputs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cache::{CacheFacts, CachePlan, cache_plan};
use crate::cli::Invocation;
use crate::config::{
    BuildStd, Dockerfile, Env, Image, PreBuild, ReleaseSettings, Settings, ToolchainMode, Zig,
};
use crate::error::{Error, Result};
use crate::target::{ImageFlavour, Recipe, Recipes, Runner, StdSource, env_lower, env_upper};
use crate::workspace::{OutsidePackage, SkeletonFile, Workspace, stable_hash};

/// tonistiigi/xx, pinned by digest.
pub const XX_IMAGE: &str =
    "tonistiigi/xx:1.6.1@sha256:923441d7c25f1e2eb5789f82d987693c47b8ed987c4ab3b075d6ed2b5d6779a3";
/// The ziglang release installed from PyPI where zig links. 0.14.1's
/// Mach-O linker crashed (SIGSEGV) on AWS-LC's arm64 assembly, whose
/// compact unwind entries start inside a function (rustls' default
/// provider on macOS); 0.17.1 links it, and reads the stubs as 0.14 did.
pub const ZIG_VERSION: &str = "0.17.1";
/// The id of the BuildKit secret that carries the CA bundle.
pub const CA_SECRET_ID: &str = "green-cross-ca";
/// The named build context that carries the workspace skeleton.
pub const SKELETON_CONTEXT: &str = "green-cross-skeleton";
/// Where the workspace is mounted inside the build.
pub const SRC_DIR: &str = "/src";
/// Where cargo's target dir is mounted inside the build.
pub const TARGET_DIR: &str = "/green-cross/target";
/// Where the dependencies stage leaves compiled dependencies, in a layer.
pub const DEPS_DIR: &str = "/green-cross/deps";
/// A file beside [`DEPS_DIR`] that names its content: a fresh id each time
/// the dependencies stage runs, so that the build step copies a layer's
/// dependencies into its target dir once.
pub const DEPS_ID: &str = "/green-cross/deps-id";
/// The final stage, whose file system is exported.
pub const OUT_STAGE: &str = "green-cross-out";
/// Printed by the build step, followed by cargo's exit status, when cargo
/// fails.
pub const CARGO_STATUS_MARKER: &str = "green-cross: cargo exited with status ";
/// Where the sysroot stage of a macOS target keeps the stubs of the
/// libraries and frameworks a Mac has (see [`crate::darwin`]).
pub const MACOS_STUBS: &str = "/opt/green-cross/macos-sdk";
/// The named build context that carries the user's macOS SDK.
pub const MACOS_SDK_CONTEXT: &str = "green-cross-macos-sdk";
/// Where the user's macOS SDK is mounted in the compile steps.
pub const MACOS_SDK_MOUNT: &str = "/opt/green-cross/user-sdk";
/// The directory, at the root of the exported outputs, where each target's
/// build step reports: `<triple>/status` (cargo's exit status) and, with
/// `--message-format json*`, `<triple>/messages` (cargo's stdout). A
/// failing cargo does not fail the step, so that one target's failure does
/// not cancel the others' builds and their artifacts are still exported.
pub const REPORT_DIR: &str = ".green-cross";
/// `-Zbuild-std` as used for targets whose std is built from source.
pub const BUILD_STD_FLAG: &str = "-Zbuild-std=std,panic_abort";

/// Facts about the host, gathered by the shell and injected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Host {
    /// The host rustc's version, e.g. `1.95.0` (selects the Rust image in
    /// rustup mode).
    pub rustc_version: String,
    /// The host's target triple (the default target).
    pub triple: String,
    /// The date of the host rustc's commit (`2026-11-20`), for nightly and
    /// beta compilers: the dated rustup toolchain it came from.
    pub commit_date: Option<String>,
}

/// Everything `plan` reads.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    pub invocation: &'a Invocation,
    pub workspace: &'a Workspace,
    pub settings: &'a Settings,
    pub recipes: &'a Recipes,
    pub env: &'a Env,
    pub host: &'a Host,
    /// The CA bundle that will be handed to the build as a secret, if any.
    pub ca_bundle: Option<PathBuf>,
}

/// How packages are installed in a sysroot stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "tool")]
pub enum PackageInstall {
    /// Plain apt-get; target packages as `name:<deb-arch>` after
    /// `dpkg --add-architecture`.
    Apt {
        deb_arch: Option<String>,
        packages: Vec<String>,
        target_packages: Vec<String>,
    },
    /// tonistiigi/xx on Debian: apt-get for the build platform, xx-apt-get
    /// for the target.
    XxApt {
        platform: String,
        packages: Vec<String>,
        target_packages: Vec<String>,
    },
    /// tonistiigi/xx on Alpine: apk for the build platform, xx-apk for the
    /// target.
    XxApk {
        platform: String,
        packages: Vec<String>,
        target_packages: Vec<String>,
    },
}

impl PackageInstall {
    pub fn is_empty(&self) -> bool {
        match self {
            PackageInstall::Apt {
                packages,
                target_packages,
                ..
            }
            | PackageInstall::XxApt {
                packages,
                target_packages,
                ..
            }
            | PackageInstall::XxApk {
                packages,
                target_packages,
                ..
            } => packages.is_empty() && target_packages.is_empty(),
        }
    }
}

/// A toolchain stage: the image the sysroot stages start from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolchainStage {
    pub name: String,
    pub image: String,
    pub flavour: ImageFlavour,
    /// Packages for the build platform, sorted.
    pub packages: Vec<String>,
    /// Copy tonistiigi/xx's helpers in.
    pub xx: bool,
    /// On an official Rust image: rustup components to add, and the
    /// image's own toolchain pinned with RUSTUP_TOOLCHAIN (so that a
    /// rust-toolchain.toml naming `stable` or `1.95` does not make rustup
    /// install a second toolchain without the target's std).
    pub rustup_components: Vec<String>,
    /// A toolchain no image is tagged with (nightly, beta), installed with
    /// rustup on the stable image and pinned instead of the image's own.
    pub rustup_install: Option<String>,
    /// Rustup mode on a user's image (cross's images have no Rust): the
    /// official image whose rustup and cargo homes are copied in.
    pub rust_from: Option<RustCopy>,
}

/// Rust copied into a user's image from an official one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RustCopy {
    /// The stage that holds the official image.
    pub stage: String,
    pub image: String,
    /// The toolchain's full version, when known before the build: it is
    /// pinned as the official image pins its own (RUST_VERSION).
    pub version: Option<String>,
}

/// Rustup mode: which Rust the toolchain stage has.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RustupToolchain {
    /// The official image of that version (`1.95.0`, `1.80`, `stable`).
    Image(String),
    /// A channel rustup installs on the stable image (`nightly-2026-11-21`).
    Install(String),
}

impl RustupToolchain {
    /// The name in cache tags and image tags.
    fn label(&self) -> &str {
        match self {
            RustupToolchain::Image(v) | RustupToolchain::Install(v) => v,
        }
    }
}

/// The toolchain for `+toolchain`, or for the host's rustc: a release by
/// its image, a nightly or beta by the dated rustup toolchain it came from
/// (the day after its commit, which is how rustup dates them).
fn rustup_toolchain(asked: Option<&str>, host: &Host) -> Result<RustupToolchain> {
    let Some(tc) = asked else {
        let v = &host.rustc_version;
        let Some((_, pre)) = v.split_once('-') else {
            return Ok(RustupToolchain::Image(v.clone()));
        };
        let channel = if pre.starts_with("beta") {
            "beta"
        } else {
            "nightly"
        };
        let dated = host.commit_date.as_deref().and_then(next_day);
        return Ok(RustupToolchain::Install(match dated {
            Some(d) => format!("{channel}-{d}"),
            None => channel.to_string(),
        }));
    };
    let release = tc == "stable" || is_dotted_number(tc);
    let channel = (tc.starts_with("nightly") || tc.starts_with("beta"))
        && tc
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    match (release, channel) {
        (true, _) => Ok(RustupToolchain::Image(tc.to_string())),
        (_, true) => Ok(RustupToolchain::Install(tc.to_string())),
        _ => Err(Error::Usage(format!(
            "`+{tc}`: rustup mode takes a version (`+1.80`, `+1.80.1`), `+stable`, `+beta` or `+nightly` (dated or not: `+nightly-2026-11-01`)\n  help: for another toolchain set `[build] base-image` to an image that has it"
        ))),
    }
}

/// `YYYY-MM-DD` plus one day, in the proleptic Gregorian calendar.
fn next_day(date: &str) -> Option<String> {
    let mut it = date.split('-').map(|p| p.parse::<u32>().ok());
    let (y, m, d) = (it.next()??, it.next()??, it.next()??);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d == 0 || d > days || it.next().is_some() {
        return None;
    }
    let (y, m, d) = match (d == days, m == 12) {
        (false, _) => (y, m, d + 1),
        (true, false) => (y, m + 1, 1),
        (true, true) => (y + 1, 1, 1),
    };
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// How the build step runs binaries for the target (`test`): the tools a
/// `runner-<triple>` stage installs and the environment cargo reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunnerPlan {
    pub kind: Runner,
    pub install: Option<PackageInstall>,
    /// Files written into the runner stage: (path, contents).
    pub files: Vec<(String, String)>,
    /// Shell commands run once in the runner stage.
    pub setup: Vec<String>,
    pub env: BTreeMap<String, String>,
}

/// The source of the `bcryptprimitives.dll` shim that wine 8 needs to run
/// binaries built by Rust 1.78 and later.
const WINE_SHIM_C: &str = "wine/bcryptprimitives.c";
const WINE_SHIM_DEF: &str = "wine/bcryptprimitives.def";
/// The build argument whose fresh value keeps `test` steps out of the cache.
pub const FRESH_ARG: &str = "GREEN_CROSS_RUN_ID";

/// The runner in force for a target: the recipe's, or `runner` from the
/// configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunnerChoice {
    pub kind: Runner,
    /// For [`Runner::Command`]: the command, as written.
    pub command: Option<String>,
    /// Named by the configuration rather than the recipe.
    pub configured: bool,
}

/// `pre-build`, as it runs at the end of the sysroot stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreBuildPlan {
    /// Shell commands, run in one step, in order, stopping at the first failure.
    pub commands: Vec<String>,
    /// A script from the workspace (path relative to its root), copied in
    /// and run with the target triple as its argument.
    pub script: Option<String>,
    /// Exported for the commands: CROSS_TARGET, CROSS_DEB_ARCH.
    pub env: BTreeMap<String, String>,
}

/// A host directory from `env.volumes`, handed to BuildKit as a named
/// context and mounted in the build step at its own path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Volume {
    /// The variable that names it (set to the path in the build step).
    pub var: String,
    pub path: PathBuf,
    /// The named build context.
    pub context: String,
}

/// Variables that `env.passthrough` may not set: green-cross sets them
/// itself, or they would point the build at host paths.
pub const PASSTHROUGH_RESERVED: &[&str] = &[
    "CARGO_HOME",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_RUSTC",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTDOC",
    "RUSTC",
    "RUSTC_WRAPPER",
    "RUSTDOC",
    "PATH",
    "HOME",
];

/// `dockerfile`: the user's Dockerfile, built on top of the stage the
/// target's sysroot would start from (passed as the build argument
/// CROSS_BASE_IMAGE), loaded into the engine, and used as the sysroot
/// stage's base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomImage {
    /// The stage loaded as CROSS_BASE_IMAGE.
    pub base_stage: String,
    pub base_tag: String,
    /// The user's Dockerfile and its context, on the host.
    pub file: PathBuf,
    pub context: PathBuf,
    /// `build-args`, plus CROSS_BASE_IMAGE, CROSS_TARGET and CROSS_DEB_ARCH.
    pub build_args: BTreeMap<String, String>,
    /// The tag the result is loaded as, which the sysroot stage starts from.
    pub tag: String,
}

/// `dockerfile`: the file and its context, on the host (relative to the
/// workspace root), and the build arguments.
fn dockerfile_setting(d: &Dockerfile, root: &Path) -> (PathBuf, PathBuf, BTreeMap<String, String>) {
    let context = d
        .context
        .as_deref()
        .map_or(root.to_path_buf(), |c| root.join(c));
    let file = root.join(d.file.as_deref().unwrap_or_default());
    (file, context, d.build_args.clone().unwrap_or_default())
}

/// The zig target a target links with: the recipe's (musl, darwin), or,
/// when the configuration turns `zig` on for a glibc Linux target,
/// `<arch>-linux-<abi>[.<glibc version>]`. `zig` is `true`/`false`, a glibc
/// version, or `{ enable, version, image }`.
fn zig_target(
    r: &Recipe,
    recipe: Option<&str>,
    zig: &Zig,
    warnings: &mut Vec<String>,
) -> Result<Option<String>> {
    if *zig == Zig::default() {
        return Ok(recipe.map(String::from));
    }
    let bad = |message: &str| Error::InvalidSetting {
        key: format!("zig ({})", r.triple),
        value: serde_json::to_string(zig).unwrap_or_default(),
        message: message.into(),
    };
    let version = zig.version.clone();
    if let Some(v) = &version
        && !is_dotted_number(v)
    {
        return Err(bad("the version is a glibc version, e.g. \"2.17\""));
    }
    if let Some(z) = recipe {
        if zig.enable == Some(false) {
            warnings.push(format!(
                "{}: zig cannot be turned off: it is this target's only linker here",
                r.triple
            ));
        } else if version.is_some() {
            warnings.push(format!(
                "{}: zig's glibc version is ignored: this target does not link glibc",
                r.triple
            ));
        }
        return Ok(Some(z.to_string()));
    }
    if zig.enable == Some(false) {
        return Ok(None);
    }
    if zig.enable.is_none() {
        warnings.push(format!(
            "{}: zig's version or image is set but zig is not enabled, so it does not link (as with cross)\n  help: set `enable = true` in the zig table (or `zig = true`)",
            r.triple
        ));
        return Ok(None);
    }
    let libc = r.libc;
    if !matches!(libc, crate::target::Libc::Gnu | crate::target::Libc::Musl) {
        return Err(bad(&format!(
            "zig links Linux targets (glibc or musl) here, and {} is not one",
            r.triple
        )));
    }
    if libc == crate::target::Libc::Musl && version.is_some() {
        warnings.push(format!(
            "{}: zig's glibc version is ignored: this target links musl",
            r.triple
        ));
    }
    let arch = match r.triple.split('-').next().unwrap_or_default() {
        a if a.starts_with("armv7") => "arm",
        a => a,
    };
    let abi = r.triple.rsplit('-').next().unwrap_or("gnu");
    Ok(Some(match version {
        Some(v) if libc == crate::target::Libc::Gnu => format!("{arch}-linux-{abi}.{v}"),
        _ => format!("{arch}-linux-{abi}"),
    }))
}

/// A stage that adds zig to a toolchain stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZigStage {
    pub name: String,
    pub from: String,
}

/// `zig` for the default toolchain stage, `zig-<suffix>` for the others.
fn zig_stage_name(toolchain: &str) -> String {
    match toolchain.strip_prefix("toolchain-") {
        Some(suffix) => format!("zig-{suffix}"),
        None => "zig".into(),
    }
}

/// Where cross's images are, and the release of cross whose images a
/// subtarget shorthand (`image = "-centos"`) names.
pub const CROSS_IMAGES: &str = "ghcr.io/cross-rs";
pub const CROSS_IMAGES_VERSION: &str = "0.2.5";

/// `image`: the reference, with cross's shorthands expanded as cross does
/// (`:edge` and `@sha256:...` name the target's cross image by tag or
/// digest, `-centos` its subtarget image of cross's release), checked; and
/// whether a toolchain list was given.
fn image_setting(image: &Image, triple: &str) -> Result<(String, bool)> {
    let name = image.name.clone().unwrap_or_default();
    let name = if name.starts_with(':') || name.starts_with('@') {
        format!("{CROSS_IMAGES}/{triple}{name}")
    } else if name.starts_with('-') {
        format!("{CROSS_IMAGES}/{triple}:{CROSS_IMAGES_VERSION}{name}")
    } else {
        name
    };
    crate::guard::image(&name, format!("image ({triple})"))?;
    Ok((name, image.toolchain.is_some()))
}

/// What build scripts of C dependencies commonly run, on a Debian
/// toolchain stage: openssl-src (perl with its modules, make), cmake
/// (aws-lc-sys, zstd, libgit2 builds), pkg-config, and libclang for
/// bindgen.
const BUILD_TOOLS_DEBIAN: [&str; 5] = ["cmake", "libclang-dev", "make", "perl", "pkg-config"];

/// The toolchain stage of a mode and image flavour, on `image` when the
/// configuration names one for a target.
fn toolchain_stage(
    mode: ToolchainMode,
    flavour: ImageFlavour,
    image: Option<String>,
    stage_name: &str,
    settings: &Settings,
    rust: &RustupToolchain,
) -> ToolchainStage {
    let rust_version = match rust {
        RustupToolchain::Image(v) => v.as_str(),
        RustupToolchain::Install(_) => "stable",
    };
    let (name, default_image, packages, xx) = match (mode, flavour) {
        (ToolchainMode::Distro, _) => {
            // The same for every invocation, so that every build shares
            // one toolchain layer (and one registry cache entry).
            let mut p = vec![
                "ca-certificates",
                "cargo-web",
                "rustc-web",
                "gcc",
                "libc6-dev",
                "rust-web-src",
                "rust-web-clippy",
            ];
            p.extend(BUILD_TOOLS_DEBIAN);
            let image = settings
                .base_image
                .clone()
                .unwrap_or_else(|| crate::config::DEFAULT_DISTRO_BASE.into());
            ("toolchain", image, p, false)
        }
        (ToolchainMode::Rustup, ImageFlavour::Debian) => {
            let mut p = vec!["clang", "lld"];
            p.extend(BUILD_TOOLS_DEBIAN);
            let image = settings
                .base_image
                .clone()
                .unwrap_or_else(|| rust_image(rust_version, flavour));
            ("toolchain", image, p, true)
        }
        (ToolchainMode::Rustup, ImageFlavour::Alpine) => (
            "toolchain-alpine",
            rust_image(rust_version, flavour),
            vec!["clang", "lld", "llvm", "pkgconf", "make", "perl", "cmake"],
            true,
        ),
    };
    // A user's image gets the official image's Rust: cross's images have
    // none, and cross never uses an image's own.
    let rust_from = match (&image, mode) {
        (Some(_), ToolchainMode::Rustup) => Some(RustCopy {
            stage: format!("{stage_name}-rust"),
            image: rust_image(rust_version, flavour),
            version: (rust_version.split('.').count() == 3 && is_dotted_number(rust_version))
                .then(|| rust_version.to_string()),
        }),
        _ => None,
    };
    // The official images install rustup's minimal profile: no clippy.
    let official = rust_from.is_some()
        || (image.is_none() && (flavour == ImageFlavour::Alpine || settings.base_image.is_none()));
    let rustup_components = if mode == ToolchainMode::Rustup && official {
        vec!["clippy".to_string()]
    } else {
        vec![]
    };
    let rustup_install = match rust {
        RustupToolchain::Install(t) if !rustup_components.is_empty() => Some(t.clone()),
        _ => None,
    };
    ToolchainStage {
        name: if image.is_some() {
            stage_name.to_string()
        } else {
            name.to_string()
        },
        image: image.unwrap_or(default_image),
        flavour,
        packages: sorted(packages.into_iter().map(str::to_string)),
        xx,
        rustup_components,
        rustup_install,
        rust_from,
    }
}

/// How `run` runs the binary after the build has placed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunPlan {
    pub triple: String,
    /// The binary on the host, where the build places it.
    pub binary: PathBuf,
    /// The arguments after `--`.
    pub args: Vec<String>,
    /// The directory it runs in (the user's, when inside the workspace).
    pub cwd: PathBuf,
    /// `env.passthrough` and `env.volumes` variables, set for the program.
    pub env: BTreeMap<String, String>,
    /// `env.volumes` directories, mounted in the runner container.
    pub volumes: Vec<PathBuf>,
    /// The runner image; None when the host runs the binary itself.
    pub image: Option<RunnerImage>,
}

/// A `runner-<triple>` stage, loaded into the engine as an image in which
/// `run` executes the binary (with the workspace mounted at its own path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunnerImage {
    pub stage: String,
    pub tag: String,
    /// The runner program, before the binary and its arguments.
    pub program: Vec<String>,
    pub runner: RunnerPlan,
}

/// What the build step leaves in /out/files for the artifacts stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outputs {
    /// The files cargo places in target/<triple>/<profile>/.
    ProfileDir,
    /// target/<triple>/doc.
    Doc,
    /// Nothing (check, clippy).
    Nothing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetPlan {
    pub triple: String,
    pub platform: String,
    /// The stage the sysroot stage starts from.
    pub from: String,
    pub install: Option<PackageInstall>,
    pub std: StdSource,
    /// zig's target, when zig links.
    pub zig: Option<String>,
    /// Files the sysroot stage writes (absolute path, contents): the macOS
    /// library and framework stubs.
    pub sysroot_files: Vec<(String, String)>,
    /// The user's macOS SDK on this machine (SDKROOT), handed to BuildKit as
    /// the named context [`MACOS_SDK_CONTEXT`] and mounted at
    /// [`MACOS_SDK_MOUNT`] in the compile steps.
    pub macos_sdk: Option<PathBuf>,
    /// Shell commands from the recipe, run once in the sysroot stage.
    pub setup: Vec<String>,
    /// ENV of the sysroot stage: linker, C toolchain, pkg-config.
    pub sysroot_env: BTreeMap<String, String>,
    /// Environment of cargo's compile steps: rustflags and profile settings
    /// (kept off the sysroot stage and the fetch step, so changing them
    /// neither reinstalls packages nor refetches dependencies; the
    /// dependencies stage compiles with them, as the build step does).
    pub build_env: BTreeMap<String, String>,
    /// `env.secrets` set on the host: each reaches cargo's steps as a
    /// BuildKit secret (see [`secret_id`]), its value never in the plan.
    pub secrets: Vec<String>,
    /// The dependency fetch command (network on).
    pub fetch: Vec<String>,
    /// Where the dependencies stage runs: the build's directory, or the
    /// nearest one above it that the skeleton has.
    pub deps_workdir: String,
    /// The dependencies stage's cargo command (network off): the build
    /// step's command on the skeleton, into [`DEPS_DIR`], never running
    /// anything.
    pub deps_build: Vec<String>,
    /// Removes what `deps_build` compiled of the workspace's own (stub)
    /// packages: their outputs would be newer than the real sources and
    /// cargo would take them as fresh.
    pub deps_clean: Vec<String>,
    /// The cargo command of the build step (network off).
    pub cargo: Vec<String>,
    /// Where cargo runs inside the build.
    pub workdir: String,
    /// cargo's stdout is kept in the report (`--message-format json*`).
    pub json_messages: bool,
    pub outputs: Outputs,
    /// The BuildKit cache mount id of cargo's target dir for this target.
    pub cache_id: String,
    /// The release settings in force, after layering and the preset.
    pub release: ReleaseSettings,
    /// For `test`: the runner stage between deps and build.
    pub runner: Option<RunnerPlan>,
    /// Never serve the build step from cache (`test`): a build argument
    /// with a fresh value per invocation.
    pub fresh: bool,
    /// `pre-build`, at the end of the sysroot stage.
    pub pre_build: Option<PreBuildPlan>,
    /// `env.volumes`, mounted in the build step.
    pub volumes: Vec<Volume>,
    /// `dockerfile`: built and loaded before the build; `from` is its tag.
    pub custom: Option<CustomImage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildPlan {
    pub mode: ToolchainMode,
    pub subcommand: String,
    /// target/<triple>/<profile_dir> is where artifacts land.
    pub profile_dir: String,
    pub xx_image: Option<String>,
    pub toolchains: Vec<ToolchainStage>,
    /// The ziglang version, when some target links with zig.
    pub zig_version: Option<String>,
    /// The zig stages, one per toolchain stage that zig targets start from.
    pub zig_stages: Vec<ZigStage>,
    pub targets: Vec<TargetPlan>,
    pub workspace_root: PathBuf,
    /// The directory on the host that is [`SRC_DIR`] inside the build: the
    /// workspace root, or the directory that holds it and its path
    /// dependencies outside it.
    pub mount_root: PathBuf,
    /// The workspace root's path below `mount_root`.
    pub workspace_prefix: PathBuf,
    /// Path dependencies outside the workspace root, each handed to
    /// BuildKit as a named context ([`outside_context`]) and mounted at
    /// its place below [`SRC_DIR`].
    pub outside: Vec<OutsidePackage>,
    pub target_dir: PathBuf,
    /// The skeleton handed to BuildKit as the named context `green-cross-skeleton`.
    pub skeleton: Vec<SkeletonFile>,
    /// The host file handed to the build as the secret `green-cross-ca`.
    pub ca_bundle: Option<PathBuf>,
    /// For `run`: what runs after the build.
    pub run: Option<RunPlan>,
    /// The shared build cache's `--cache-from` / `--cache-to`.
    pub cache: CachePlan,
    /// Things the user should know that do not stop the build.
    pub warnings: Vec<String>,
}

/// The targets to build: --target, else `default-target` from the
/// environment (CROSS_BUILD_TARGET), else CARGO_BUILD_TARGET, else
/// `default-target` from Cross.toml or Cargo.toml, else the host.
pub fn select_targets(inv: &Invocation, settings: &Settings, host: &Host) -> Vec<String> {
    if !inv.targets.is_empty() {
        return inv.targets.clone();
    }
    if let Some(t) = &settings.env_default_target {
        return vec![t.clone()];
    }
    if !settings.cargo_build_target.is_empty() {
        return settings.cargo_build_target.clone();
    }
    if let Some(t) = &settings.default_target {
        return vec![t.clone()];
    }
    vec![host.triple.clone()]
}

/// The Rust image tag for a rustup-mode toolchain.
fn rust_image(version: &str, flavour: ImageFlavour) -> String {
    let v = if version == "stable" {
        String::new()
    } else {
        format!("{version}-")
    };
    match flavour {
        ImageFlavour::Debian => format!("rust:{v}slim-bookworm"),
        ImageFlavour::Alpine => format!("rust:{v}alpine"),
    }
}

/// The macOS stubs for a zig target, at their place under [`MACOS_STUBS`].
fn macos_stub_files(zig_target: &str) -> Vec<(String, String)> {
    crate::darwin::stub_files(zig_target)
        .into_iter()
        .chain(crate::darwin::header_files())
        .map(|(p, c)| (format!("{MACOS_STUBS}/{p}"), c))
        .collect()
}

fn sorted(items: impl IntoIterator<Item = String>) -> Vec<String> {
    items
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn asset(name: &str) -> String {
    crate::target::asset_text(name)
        .expect("support files are embedded")
        .to_string()
}

/// The runner stage for a target, or None when its binaries run natively
/// or not at all.
fn runner_plan(
    r: &Recipe,
    choice: &RunnerChoice,
    mode: ToolchainMode,
    flavour: ImageFlavour,
    m: &crate::target::ModeRecipe,
    multiarch: bool,
) -> Option<RunnerPlan> {
    let up = env_upper(&r.triple);
    let apt = |packages: Vec<&str>| PackageInstall::Apt {
        deb_arch: None,
        packages: sorted(packages.into_iter().map(str::to_string)),
        target_packages: vec![],
    };
    let mut env = BTreeMap::new();
    match choice.kind {
        Runner::Native | Runner::None => None,
        Runner::Command => {
            let cmd = choice.command.clone().unwrap_or_default();
            env.insert(format!("CARGO_TARGET_{up}_RUNNER"), cmd);
            Some(RunnerPlan {
                kind: Runner::Command,
                install: None,
                files: vec![],
                setup: vec![],
                env,
            })
        }
        Runner::QemuUser => {
            let arch = r.qemu.as_deref().expect("validated recipe");
            let (install, program) = match (mode, flavour) {
                (ToolchainMode::Rustup, ImageFlavour::Alpine) => (
                    PackageInstall::XxApk {
                        platform: r.platform.clone(),
                        packages: vec![format!("qemu-{arch}")],
                        target_packages: vec![],
                    },
                    format!("qemu-{arch}"),
                ),
                _ => (apt(vec!["qemu-user-static"]), format!("qemu-{arch}-static")),
            };
            env.insert(format!("CARGO_TARGET_{up}_RUNNER"), program);
            // Dynamically linked binaries find the target's loader and libc
            // in the cross sysroot, unless the target's own libc is installed
            // through multiarch: then /etc/ld.so.cache lists the multiarch
            // libraries, and the cross sysroot's loader would pair with a
            // libc of another build (a mismatch that hangs in
            // pthread_create), so the guest uses the system's loader.
            if r.libc == crate::target::Libc::Gnu
                && !multiarch
                && let Some(sysroot) = &m.sysroot
            {
                env.insert("QEMU_LD_PREFIX".into(), sysroot.clone());
            }
            Some(RunnerPlan {
                kind: Runner::QemuUser,
                install: Some(install),
                files: vec![],
                setup: vec![],
                env,
            })
        }
        Runner::Wine => {
            let dir = "/opt/green-cross/wine";
            env.insert(
                format!("CARGO_TARGET_{up}_RUNNER"),
                "/usr/lib/wine/wine64".into(),
            );
            env.insert("WINEPREFIX".into(), "/tmp/green-cross-wine".into());
            env.insert("WINEDEBUG".into(), "-all".into());
            env.insert("WINEDLLOVERRIDES".into(), "mscoree,mshtml=".into());
            env.insert("WINEPATH".into(), "Z:\\opt\\green-cross\\wine".into());
            Some(RunnerPlan {
                kind: Runner::Wine,
                install: Some(apt(vec!["wine", "wine64"])),
                files: vec![
                    (format!("{dir}/bcryptprimitives.c"), asset(WINE_SHIM_C)),
                    (format!("{dir}/bcryptprimitives.def"), asset(WINE_SHIM_DEF)),
                ],
                setup: vec![format!(
                    "x86_64-w64-mingw32-gcc -shared -O2 -o {dir}/bcryptprimitives.dll {dir}/bcryptprimitives.c {dir}/bcryptprimitives.def -ladvapi32"
                )],
                env,
            })
        }
    }
}

/// Distro mode builds with the base image's Rust (Debian's packages): a
/// toolchain asked for with `+toolchain` or pinned by a rust-toolchain file
/// is not the one that builds, which the user hears about (both alike).
fn distro_toolchain_warning(inv: &Invocation, ws: &Workspace) -> Option<String> {
    let (asked, channel) = match (&inv.toolchain, &ws.pinned_toolchain) {
        (Some(tc), _) => (format!("`+{tc}`"), tc),
        (None, Some(p)) if p.channel != "stable" => {
            (format!("{} (channel `{}`)", p.file, p.channel), &p.channel)
        }
        _ => return None,
    };
    Some(format!(
        "{asked} is not honoured in distro mode: it builds with the base image's Rust (Debian's rustc), not {channel}\n  help: GREEN_CROSS_TOOLCHAIN=rustup builds with {channel}; or name an image that has it in `[build] base-image`"
    ))
}

pub fn plan(input: &PlanInput) -> Result<BuildPlan> {
    let inv = input.invocation;
    let settings = input.settings;
    let mode = settings.toolchain;
    let mut warnings = Vec::new();
    crate::guard::invocation(inv)?;
    crate::guard::workspace(input.workspace)?;
    warnings.extend(unknown_target_tables(settings, input.recipes, &inv.targets));
    if let Some(image) = &settings.base_image {
        crate::guard::image(image, "base-image (or GREEN_CROSS_BASE_IMAGE)")?;
    }

    let triples = select_targets(inv, settings, input.host);
    // Custom target specifications: a recipe of their own, by name.
    let mut specs: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut owned: Vec<std::borrow::Cow<Recipe>> = Vec::new();
    for t in &triples {
        match custom_spec(t, input.workspace)? {
            Some((name, rel)) => {
                owned.push(std::borrow::Cow::Owned(Recipe::custom_spec(&name)));
                specs.insert(name, rel);
            }
            None => owned.push(std::borrow::Cow::Borrowed(input.recipes.get(t)?)),
        }
    }
    let recipes: Vec<&Recipe> = owned.iter().map(|c| c.as_ref()).collect();

    if mode == ToolchainMode::Distro {
        warnings.extend(distro_toolchain_warning(inv, input.workspace));
    }
    let rust_version = match mode {
        ToolchainMode::Rustup => rustup_toolchain(inv.toolchain.as_deref(), input.host)?,
        ToolchainMode::Distro => RustupToolchain::Image(input.host.rustc_version.clone()),
    };

    // zig: the recipe's, or `zig` from the configuration for glibc targets.
    let mut zig_targets: BTreeMap<String, Option<String>> = BTreeMap::new();
    for r in &recipes {
        let z = zig_target(
            r,
            r.mode(mode).zig.as_deref(),
            &settings.for_target(&r.triple).zig,
            &mut warnings,
        )?;
        zig_targets.insert(r.triple.clone(), z);
    }
    let zig_of = |r: &Recipe| zig_targets.get(&r.triple).cloned().flatten();
    let any_zig = recipes.iter().any(|r| zig_of(r).is_some());
    // `image` per target: that target's own toolchain stage, on the user's image.
    let mut images: BTreeMap<String, String> = BTreeMap::new();
    for r in &recipes {
        // With zig on, zig's image replaces `image`, as in cross.
        let ts = settings.for_target(&r.triple);
        let zig_image = ts.zig.image.filter(|_| ts.zig.enable == Some(true));
        if let Some(v) = zig_image.or(ts.image) {
            let (name, toolchain) = image_setting(&v, &r.triple)?;
            if mode == ToolchainMode::Distro && name.starts_with(CROSS_IMAGES) {
                warnings.push(format!(
                    "{}: {name} is one of cross's images (Ubuntu), and distro mode installs Debian's Rust on the image with apt, which Ubuntu does not have\n  help: use rustup mode, which copies the official image's Rust in, or a Debian bookworm-based image",
                    r.triple
                ));
            }
            if toolchain {
                warnings.push(format!(
                    "{}: image.toolchain is ignored: the image runs on the build platform",
                    r.triple
                ));
            }
            images.insert(r.triple.clone(), name);
        }
    }
    // zig is added to a Debian stage: a target it links is built there.
    let flavour_of = |r: &Recipe| match mode {
        ToolchainMode::Rustup if zig_of(r).is_none() => {
            r.rustup.image.unwrap_or(ImageFlavour::Debian)
        }
        _ => ImageFlavour::Debian,
    };
    let flavours: BTreeSet<ImageFlavour> = recipes
        .iter()
        .filter(|r| !images.contains_key(&r.triple))
        .map(|r| flavour_of(r))
        .chain(
            recipes
                .iter()
                .any(|r| zig_of(r).is_some() && !images.contains_key(&r.triple))
                .then_some(ImageFlavour::Debian),
        )
        .collect();

    // `dockerfile`: the user's image, built on the stage the target would
    // start from and loaded under this tag, becomes the base of the
    // target's own toolchain stage, which brings Rust into it when it has
    // none (a Dockerfile FROM one of cross's images).
    let ws = input.workspace;
    let ws_hash = stable_hash(ws.root.to_string_lossy().as_bytes());
    let custom_tag = |r: &Recipe| format!("green-cross-custom:{}-{ws_hash:016x}", r.triple);
    let custom_stage = |r: &Recipe| match images.contains_key(&r.triple) {
        true => format!("toolchain-{}-custom", r.triple),
        false => format!("toolchain-{}", r.triple),
    };
    let has_dockerfile: BTreeSet<&str> = recipes
        .iter()
        .filter(|r| settings.for_target(&r.triple).dockerfile.is_some())
        .map(|r| r.triple.as_str())
        .collect();

    let mut toolchains = Vec::new();
    for flavour in &flavours {
        toolchains.push(toolchain_stage(
            mode,
            *flavour,
            None,
            "",
            settings,
            &rust_version,
        ));
    }
    for r in &recipes {
        if let Some(image) = images.get(&r.triple) {
            toolchains.push(toolchain_stage(
                mode,
                flavour_of(r),
                Some(image.clone()),
                &format!("toolchain-{}", r.triple),
                settings,
                &rust_version,
            ));
        }
        if has_dockerfile.contains(r.triple.as_str()) {
            toolchains.push(toolchain_stage(
                mode,
                flavour_of(r),
                Some(custom_tag(r)),
                &custom_stage(r),
                settings,
                &rust_version,
            ));
        }
    }

    let profile_dir = inv.profile_dir();
    // test and bench run what they build, through the target's runner.
    let runs_binaries = matches!(inv.subcommand.as_str(), "test" | "bench");
    let is_run = inv.subcommand == "run";
    if is_run && recipes.len() != 1 {
        return Err(Error::Usage(format!(
            "`run` takes one target, not {}\n  help: run once per target",
            recipes.len()
        )));
    }
    let outputs = match inv.subcommand.as_str() {
        "build" | "run" => Outputs::ProfileDir,
        "doc" => Outputs::Doc,
        _ => Outputs::Nothing,
    };
    let workdir = ws_dir(ws)
        .join(&ws.workdir)
        .to_string_lossy()
        .trim_end_matches('/')
        .to_string();

    let deps_workdir = skeleton_dir_for(&ws.skeleton, &ws.prefix.join(&ws.workdir));
    let mut targets = Vec::new();
    let mut run = None;
    let mut zig_stages: Vec<ZigStage> = Vec::new();
    // The variables that pass through by themselves, checked once.
    let automatic = automatic_passthrough(input.env)?;
    for r in &recipes {
        let m = r.mode(mode);
        let zig = zig_of(r);
        let ts = settings.for_target(&r.triple);
        crate::guard::target_settings(&ts, &r.triple)?;
        let recipe_std = m.std.expect("validated recipe");
        // build-std: on (std, or the crates named), or off when the recipe
        // can do without.
        let (std, build_std_flag) = match &ts.build_std {
            Some(BuildStd::Enabled(true)) => (StdSource::BuildStd, BUILD_STD_FLAG.to_string()),
            Some(BuildStd::Crates(c)) if !c.is_empty() => {
                (StdSource::BuildStd, format!("-Zbuild-std={}", c.join(",")))
            }
            Some(_) if recipe_std == StdSource::BuildStd => {
                warnings.push(format!(
                    "{}: build-std cannot be turned off: std for this target is only built from source here",
                    r.triple
                ));
                (recipe_std, BUILD_STD_FLAG.to_string())
            }
            _ => (recipe_std, BUILD_STD_FLAG.to_string()),
        };
        let runner_choice = runner_choice(r, ts.runner.as_deref(), &input.host.triple)?;
        let up = env_upper(&r.triple);
        let lo = env_lower(&r.triple);
        let flavour = flavour_of(r);
        // zig turned on for a musl target whose recipe links without it
        // (rustup mode's Alpine stage): zig brings musl, as in distro mode.
        let zig_musl = zig.is_some() && m.zig.is_none() && r.libc == crate::target::Libc::Musl;

        // The stage the target starts from without `dockerfile` (the
        // Dockerfile's CROSS_BASE_IMAGE), and with it.
        let plain_base = if images.contains_key(&r.triple) {
            format!("toolchain-{}", r.triple)
        } else if flavour == ImageFlavour::Alpine && zig.is_none() {
            "toolchain-alpine".to_string()
        } else {
            "toolchain".to_string()
        };
        let base = match ts.dockerfile {
            Some(_) => custom_stage(r),
            None => plain_base.clone(),
        };
        let from = if zig.is_some() {
            let name = zig_stage_name(&base);
            if !zig_stages.iter().any(|z: &ZigStage| z.name == name) {
                zig_stages.push(ZigStage {
                    name: name.clone(),
                    from: base.clone(),
                });
            }
            name
        } else {
            base
        };

        let lld = m.lld && zig.is_none();
        let packages = sorted(
            m.packages
                .iter()
                .cloned()
                .chain(lld.then(|| "lld".to_string())),
        );
        // The recipe's target packages are its Alpine stage's (musl's own
        // headers and libraries), which zig replaces.
        let mut target_packages: Vec<String> = match zig_musl {
            true => vec![],
            false => m.target_packages.clone(),
        };
        if mode == ToolchainMode::Distro && std == StdSource::Multiarch {
            target_packages.push("libstd-rust-web-dev".into());
        }
        if !ts.packages.is_empty() && r.libc == crate::target::Libc::Other {
            return Err(Error::Usage(format!(
                "`packages` for {}: a custom target specification has no architecture to install packages for\n  help: install what the build needs with `pre-build`",
                r.triple
            )));
        }
        if !ts.packages.is_empty() && mode == ToolchainMode::Distro && m.deb_arch.is_none() {
            return Err(Error::Usage(format!(
                "`packages` for {}: distro mode installs them as <name>:<Debian architecture>, and this target has none\n  help: install what the build needs with `pre-build`, or use rustup mode (xx-apt-get / xx-apk)",
                r.triple
            )));
        }
        target_packages.extend(ts.packages.iter().cloned());
        let target_packages = sorted(target_packages);
        let install = match (mode, flavour) {
            (ToolchainMode::Distro, _) => PackageInstall::Apt {
                deb_arch: if target_packages.is_empty() {
                    None
                } else {
                    m.deb_arch.clone()
                },
                packages,
                target_packages,
            },
            (ToolchainMode::Rustup, ImageFlavour::Debian) => PackageInstall::XxApt {
                platform: r.platform.clone(),
                packages,
                target_packages,
            },
            (ToolchainMode::Rustup, ImageFlavour::Alpine) => PackageInstall::XxApk {
                platform: r.platform.clone(),
                packages,
                target_packages,
            },
        };
        let install = (!install.is_empty()).then_some(install);

        // The C toolchain and linker.
        let mut sysroot_env = BTreeMap::new();
        let (linker, cc, cxx, ar) = match &zig {
            Some(_) => (
                Some(format!("green-cross-zig-cc-{}", r.triple)),
                Some(format!("green-cross-zig-cc-{}", r.triple)),
                Some(format!("green-cross-zig-cxx-{}", r.triple)),
                Some("green-cross-zig-ar".to_string()),
            ),
            None => (m.linker.clone(), m.cc.clone(), m.cxx.clone(), m.ar.clone()),
        };
        if let Some(l) = linker {
            sysroot_env.insert(format!("CARGO_TARGET_{up}_LINKER"), l);
        }
        if let Some(v) = cc {
            sysroot_env.insert(format!("CC_{lo}"), v);
        }
        if let Some(v) = cxx {
            sysroot_env.insert(format!("CXX_{lo}"), v);
        }
        if let Some(v) = ar {
            sysroot_env.insert(format!("AR_{lo}"), v);
        }
        if zig.is_some() {
            sysroot_env.insert(format!("RANLIB_{lo}"), "green-cross-zig-ranlib".into());
        }
        if let Some(sysroot) = &m.sysroot {
            sysroot_env.insert("CROSS_SYSROOT".into(), sysroot.clone());
            if let (Some(_), Some(multiarch)) = (&m.deb_arch, Path::new(sysroot).file_name()) {
                sysroot_env.insert(
                    format!("PKG_CONFIG_PATH_{lo}"),
                    format!("/usr/lib/{}/pkgconfig", multiarch.to_string_lossy()),
                );
            }
        }
        sysroot_env.extend(r.env.clone());
        if let Some(pc) = m.pkg_config.as_ref().filter(|_| !zig_musl) {
            sysroot_env.insert(format!("PKG_CONFIG_{lo}"), pc.clone());
        }
        sysroot_env.insert("PKG_CONFIG_ALLOW_CROSS".into(), "1".into());
        if std == StdSource::BuildStd {
            sysroot_env.insert("RUSTC_BOOTSTRAP".into(), "1".into());
        }
        if specs.contains_key(&r.triple) {
            // Newer cargo reads a target specification only with
            // -Zjson-target-spec; older cargo ignores the variable.
            sysroot_env.insert("CARGO_UNSTABLE_JSON_TARGET_SPEC".into(), "true".into());
        }
        if zig.is_some() {
            sysroot_env.insert(
                "ZIG_GLOBAL_CACHE_DIR".into(),
                "/opt/green-cross/zig-cache".into(),
            );
        }
        // macOS: stubs of the libraries and frameworks a Mac has, or the
        // user's SDK (SDKROOT on this machine) mounted into the compile
        // steps only, never into a layer.
        let macos = zig.as_deref().filter(|z| z.contains("macos"));
        let sysroot_files = macos.map(macos_stub_files).unwrap_or_default();
        let macos_sdk = macos
            .and_then(|_| input.env.get("SDKROOT"))
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        if macos.is_some() {
            sysroot_env.insert("SDKROOT".into(), MACOS_STUBS.into());
        }

        // Release settings and rustflags: build step only.
        let release = settings.release_for(&r.triple);
        let mut build_env = BTreeMap::new();
        let mut rustflags: Vec<String> = r.rustflags.iter().chain(&m.rustflags).cloned().collect();
        if zig_musl {
            // zig links its own musl C runtime, not the one rustup ships.
            rustflags.extend(["-C".into(), "link-self-contained=no".into()]);
        }
        if lld {
            rustflags.extend(["-C".into(), "link-arg=-fuse-ld=lld".into()]);
        }
        let crt_static = release.crt_static.unwrap_or(r.crt_static);
        if crt_static != r.crt_static || r.crt_static {
            rustflags.push("-C".into());
            rustflags.push(format!(
                "target-feature={}crt-static",
                if crt_static { '+' } else { '-' }
            ));
        }
        if !rustflags.is_empty() {
            build_env.insert(format!("CARGO_TARGET_{up}_RUSTFLAGS"), rustflags.join(" "));
        }
        if macos_sdk.is_some() {
            build_env.insert("SDKROOT".into(), MACOS_SDK_MOUNT.into());
        }
        let profile = inv.profile_name();
        let prof_up = profile.to_uppercase().replace('-', "_");
        if !matches!(profile.as_str(), "dev" | "test") {
            let p = |k: &str| format!("CARGO_PROFILE_{prof_up}_{k}");
            if let Some(v) = &release.lto {
                build_env.insert(p("LTO"), v.clone());
            }
            if let Some(v) = release.codegen_units {
                build_env.insert(p("CODEGEN_UNITS"), v.to_string());
            }
            if let Some(v) = &release.strip {
                build_env.insert(p("STRIP"), v.clone());
            }
            if let Some(v) = release.panic {
                build_env.insert(p("PANIC"), v.as_str().into());
            }
            if let Some(v) = &release.opt_level {
                build_env.insert(p("OPT_LEVEL"), v.clone());
            }
        }
        if !r.strip {
            let key = format!("CARGO_PROFILE_{prof_up}_STRIP");
            if build_env
                .get(&key)
                .is_some_and(|v| v != "false" && v != "none")
            {
                warnings.push(format!(
                    "{}: strip is not supported inside the build for this target; the binary is left unstripped",
                    r.triple
                ));
            }
            build_env.insert(key, "false".into());
        }

        // env.passthrough: the build step's environment (so, part of its
        // cache key); env.volumes: host directories as named contexts.
        // Variables cargo and rustc read pass through by themselves, as they
        // do with cross: the environment wins over Cross.toml's release
        // settings, and target rustflags are added after the recipe's.
        let rustflags_key = format!("CARGO_TARGET_{up}_RUSTFLAGS");
        for (k, v) in automatic.iter().cloned() {
            if k == rustflags_key {
                let merged = match build_env.get(&k) {
                    Some(ours) if !v.trim().is_empty() => format!("{ours} {v}"),
                    Some(ours) => ours.clone(),
                    None => v.clone(),
                };
                build_env.insert(k, merged);
            } else if !k.starts_with("CARGO_TARGET_") {
                build_env.insert(k, v);
            }
        }
        place_rustflags(
            &rustflags,
            &rustflags_key,
            input.env,
            ws.config_build_rustflags.as_deref(),
            &mut build_env,
        );
        let passthrough =
            resolve_passthrough(&ts.passthrough, input.env, &r.triple, &mut warnings)?;
        let volumes = resolve_volumes(&ts.volumes, input.env, &r.triple, &mut warnings)?;
        let secrets = resolve_secrets(&ts.secrets, input.env, &r.triple, &mut warnings);
        let mut program_env = passthrough.clone();
        for (k, v) in automatic.iter().cloned() {
            program_env.entry(k).or_insert(v);
        }
        for (k, v) in &passthrough {
            build_env.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for v in &volumes {
            let p = v.path.to_string_lossy().into_owned();
            build_env.insert(v.var.clone(), p.clone());
            program_env.insert(v.var.clone(), p);
        }

        let cross_deb_arch = r.cross_deb_arch.clone().or_else(|| m.deb_arch.clone());
        let custom = ts.dockerfile.as_ref().map(|v| {
            let (file, context, mut build_args) = dockerfile_setting(v, &ws.root);
            let base_tag = format!("green-cross-base:{}-{ws_hash:016x}", r.triple);
            build_args.insert("CROSS_BASE_IMAGE".into(), base_tag.clone());
            build_args.insert("CROSS_TARGET".into(), r.triple.clone());
            if let Some(a) = &cross_deb_arch {
                build_args.insert("CROSS_DEB_ARCH".into(), a.clone());
            }
            CustomImage {
                base_stage: plain_base.clone(),
                base_tag,
                file,
                context,
                build_args,
                tag: custom_tag(r),
            }
        });

        // pre-build: at the end of the sysroot stage.
        if from == "toolchain-alpine"
            && let Some(cmds) = ts.pre_build.as_ref().and_then(PreBuild::commands)
            && cmds
                .iter()
                .any(|c| c.contains("apt-get") || c.contains("dpkg"))
        {
            warnings.push(format!(
                "{}: pre-build runs apt-get or dpkg, but in rustup mode this target's stages are Alpine (the official rust:alpine image), which has apk instead\n  help: install with `packages` (xx-apk), with apk in pre-build, or use distro mode",
                r.triple
            ));
        }
        let pre_build = ts
            .pre_build
            .as_ref()
            .filter(|p| !matches!(p, PreBuild::Lines(l) if l.is_empty()))
            .map(|p| {
                let mut env = BTreeMap::new();
                env.insert("CROSS_TARGET".to_string(), r.triple.clone());
                if let Some(a) = &cross_deb_arch {
                    env.insert("CROSS_DEB_ARCH".to_string(), a.clone());
                }
                match p {
                    PreBuild::Script(path) => PreBuildPlan {
                        commands: vec![],
                        script: Some(path.trim_start_matches("./").to_string()),
                        env,
                    },
                    other => PreBuildPlan {
                        commands: other.commands().unwrap_or_default().to_vec(),
                        script: None,
                        env,
                    },
                }
            });

        // Commands.
        let build_std = std == StdSource::BuildStd;
        let mut fetch = vec!["cargo".to_string(), "fetch".into()];
        if ws.has_lockfile {
            fetch.push("--locked".into());
        }
        // cargo's --target: the triple, or the specification's path.
        let cargo_target = specs.get(&r.triple).map_or(r.triple.clone(), |rel| {
            ws_dir(ws).join(rel).to_string_lossy().into_owned()
        });
        fetch.extend(["--target".into(), cargo_target.clone()]);
        if build_std {
            fetch.push(build_std_flag.clone());
        }
        let user_no_run = inv.cargo_args.iter().any(|a| a == "--no-run");
        let runner = if runs_binaries && !user_no_run {
            runner_plan(
                r,
                &runner_choice,
                mode,
                flavour,
                m,
                installs_multiarch(install.as_ref()),
            )
        } else {
            None
        };
        let no_run = runs_binaries && (user_no_run || runner_choice.kind == Runner::None);
        if runs_binaries && !user_no_run && runner_choice.kind == Runner::None {
            warnings.push(format!(
                "{}: test binaries for this target cannot run on this host; they are built only (--no-run)",
                r.triple
            ));
        }
        let cargo_sub = if is_run {
            "build"
        } else {
            inv.subcommand.as_str()
        };
        let mut cargo = vec!["cargo".to_string(), cargo_sub.into(), "--offline".into()];
        if ws.has_lockfile {
            cargo.push("--locked".into());
        }
        cargo.extend([
            "--target".into(),
            cargo_target.clone(),
            "--target-dir".into(),
            TARGET_DIR.into(),
        ]);
        if let Some(mp) = &ws.manifest {
            let p = ws_dir(ws).join(mp);
            cargo.push(format!("--manifest-path={}", p.to_string_lossy()));
            fetch.push(format!("--manifest-path={}", p.to_string_lossy()));
        }
        if build_std {
            cargo.push(build_std_flag.clone());
        }
        extend_with_user_args(&mut cargo, &inv.cargo_args);
        if no_run && !inv.cargo_args.iter().any(|a| a == "--no-run") {
            cargo.push("--no-run".into());
        }
        if is_run {
            let (bin, given) = run_binary(inv, ws)?;
            if !given {
                cargo.extend(["--bin".into(), bin.clone()]);
            }
            run = Some(run_plan(
                r,
                &runner_choice,
                mode,
                flavour,
                m,
                install.as_ref(),
                ws,
                &profile_dir,
                bin,
                inv,
                input.host,
            )?);
            if let Some(run) = &mut run {
                run.env = program_env.clone();
                run.volumes = volumes.iter().map(|v| v.path.clone()).collect();
            }
        } else if !inv.trailing.is_empty() && !no_run {
            cargo.push("--".into());
            cargo.extend(inv.trailing.iter().cloned());
        }
        let (deps_build, deps_clean) = deps_commands(&cargo, runs_binaries, &cargo_target, inv, ws);
        // `-fuse-ld=lld` makes a cross gcc look for `<prefix>ld.lld` on PATH
        // (the plain name only in its own directories).
        let mut setup = m.setup.clone();
        if lld
            && let Some(prefix) = m
                .linker
                .as_deref()
                .and_then(|l| l.strip_suffix("gcc"))
                .filter(|p| !p.is_empty())
        {
            setup.insert(0, format!("ln -sf ld.lld /usr/bin/{prefix}ld.lld"));
        }

        targets.push(TargetPlan {
            triple: r.triple.clone(),
            platform: r.platform.clone(),
            from,
            install,
            std,
            zig: zig.clone(),
            sysroot_files,
            macos_sdk,
            setup,
            sysroot_env,
            build_env,
            fetch,
            deps_workdir: deps_workdir.clone(),
            deps_build,
            deps_clean,
            cargo,
            workdir: workdir.clone(),
            json_messages: inv.json_messages,
            outputs,
            cache_id: format!("green-cross-target-{ws_hash:016x}-{}", r.triple),
            release,
            runner,
            fresh: runs_binaries && !no_run,
            pre_build,
            volumes,
            secrets,
            custom,
        });
    }

    // The shared cache: tags from the triples, the toolchain and the branch
    // (GitHub Actions' own names first: its checkouts are detached).
    let mut cache_settings = settings.cache.clone();
    if let Some(c) = &inv.cache {
        cache_settings.cache = Some(c.clone());
    }
    if let Some(w) = crate::cache::unusable_repository(&cache_settings) {
        warnings.push(w);
        cache_settings.cache = None;
    }
    let env_nonempty = |k: &str| input.env.get(k).filter(|v| !v.is_empty()).cloned();
    let branch = env_nonempty("GITHUB_HEAD_REF")
        .or_else(|| env_nonempty("GITHUB_REF_NAME"))
        .or_else(|| ws.git_branch.clone());
    let default_branch =
        env_nonempty("GREEN_CROSS_CACHE_DEFAULT_BRANCH").or_else(|| ws.git_default_branch.clone());
    let toolchain_label = match mode {
        ToolchainMode::Distro => "distro".to_string(),
        ToolchainMode::Rustup => rust_version.label().to_string(),
    };
    let triples: Vec<String> = targets.iter().map(|t| t.triple.clone()).collect();
    let cache = cache_plan(
        &cache_settings,
        &CacheFacts {
            triples: &triples,
            toolchain: &toolchain_label,
            branch: branch.as_deref(),
            default_branch: default_branch.as_deref(),
        },
    )?;

    Ok(BuildPlan {
        cache,
        mode,
        subcommand: inv.subcommand.clone(),
        profile_dir,
        xx_image: toolchains
            .iter()
            .any(|t| t.xx)
            .then(|| XX_IMAGE.to_string()),
        toolchains,
        zig_version: any_zig.then(|| ZIG_VERSION.to_string()),
        zig_stages,
        targets,
        workspace_root: ws.root.clone(),
        mount_root: ws.mount_root(),
        workspace_prefix: ws.prefix.clone(),
        outside: ws.outside.clone(),
        target_dir: ws.target_dir.clone(),
        skeleton: {
            // The specifications are read in the dependencies stage too.
            let mut sk = ws.skeleton.clone();
            sk.extend(specs.values().cloned().map(SkeletonFile::Copy));
            sk.sort();
            sk.dedup();
            sk
        },
        ca_bundle: input.ca_bundle.clone(),
        run,
        warnings,
    })
}

/// The user's cargo arguments after green-cross's own: `--locked` and
/// `--offline`, which the build always gives, once (cargo refuses them
/// twice). Arguments after `--` belong to the program and are kept.
fn extend_with_user_args(cargo: &mut Vec<String>, user: &[String]) {
    let end = user.iter().position(|a| a == "--").unwrap_or(user.len());
    let ours = |a: &String| matches!(a.as_str(), "--locked" | "--offline") && cargo.contains(a);
    let kept: Vec<String> = user[..end].iter().filter(|a| !ours(a)).cloned().collect();
    cargo.extend(kept);
    cargo.extend(user[end..].iter().cloned());
}

/// A cargo flag that changes only what cargo prints (verbosity, colour).
fn is_output_flag(a: &str) -> bool {
    matches!(a, "--verbose" | "--quiet" | "-q")
        || a.starts_with("--color=")
        || a.starts_with("--message-format=")
        || (a.len() > 1 && a.starts_with('-') && a[1..].chars().all(|c| c == 'v'))
}

/// The dependencies stage's commands, from the build step's cargo command:
/// the same cargo subcommand and arguments (so that dependencies compile
/// with the same features, profile and flags, and the build step finds
/// them fresh) without the flags that change only what cargo prints,
/// `--no-run` where the build step runs binaries, no arguments after `--`,
/// and [`DEPS_DIR`] as the target dir. Then `cargo clean` of the
/// workspace's packages for the same target and profile.
fn deps_commands(
    cargo: &[String],
    runs_binaries: bool,
    triple: &str,
    inv: &Invocation,
    ws: &Workspace,
) -> (Vec<String>, Vec<String>) {
    // Up to `--`; how much cargo says changes nothing it builds, so `-v`
    // must not make a new dependencies layer.
    let end = cargo.iter().position(|a| a == "--").unwrap_or(cargo.len());
    let mut build: Vec<String> = Vec::with_capacity(end);
    let mut args = cargo[..end].iter();
    while let Some(a) = args.next() {
        if a == "--color" {
            args.next();
        } else if !is_output_flag(a) {
            build.push(a.clone());
        }
    }
    if let Some(i) = build.iter().position(|a| a == "--target-dir") {
        build[i + 1] = DEPS_DIR.into();
    }
    if runs_binaries && !build.iter().any(|a| a == "--no-run") {
        build.push("--no-run".into());
    }
    let mut clean: Vec<String> = [
        "cargo",
        "clean",
        "--quiet",
        "--offline",
        "--target",
        triple,
        "--target-dir",
        DEPS_DIR,
        "--profile",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    clean.push(inv.profile_name());
    if let Some(mp) = &ws.manifest {
        clean.push(format!(
            "--manifest-path={}",
            ws_dir(ws).join(mp).to_string_lossy()
        ));
    }
    // Path dependencies outside the workspace are stubs in the skeleton
    // too.
    let mut names: Vec<&str> = ws
        .packages
        .iter()
        .map(|p| p.name.as_str())
        .chain(ws.outside.iter().map(|p| p.name.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    for n in names {
        clean.extend(["-p".to_string(), n.to_string()]);
    }
    (build, clean)
}

/// The workspace root inside the build.
fn ws_dir(ws: &Workspace) -> PathBuf {
    Path::new(SRC_DIR).join(&ws.prefix)
}

/// The named build context of the `i`th path dependency outside the
/// workspace.
pub fn outside_context(i: usize) -> String {
    format!("green-cross-path-{i}")
}

/// The directory, under [`SRC_DIR`], where the dependencies stage runs
/// cargo: the build's own directory when the skeleton has it, else the
/// nearest directory above it with a manifest in the skeleton.
fn skeleton_dir_for(skeleton: &[SkeletonFile], workdir: &Path) -> String {
    let best = skeleton
        .iter()
        .filter_map(|f| match f {
            SkeletonFile::Copy(p) if p.file_name().is_some_and(|n| n == "Cargo.toml") => {
                p.parent().map(Path::to_path_buf)
            }
            _ => None,
        })
        .filter(|d| workdir.starts_with(d))
        .max_by_key(|d| d.components().count())
        .unwrap_or_default();
    Path::new(SRC_DIR)
        .join(best)
        .to_string_lossy()
        .trim_end_matches('/')
        .to_string()
}

/// Whether the plan installs target-architecture packages through
/// multiarch (then the target's own loader and libc are in the system).
fn installs_multiarch(install: Option<&PackageInstall>) -> bool {
    match install {
        Some(
            PackageInstall::Apt {
                target_packages, ..
            }
            | PackageInstall::XxApt {
                target_packages, ..
            }
            | PackageInstall::XxApk {
                target_packages, ..
            },
        ) => !target_packages.is_empty(),
        None => false,
    }
}

/// The binary `run` runs, and whether the user named it with `--bin`.
fn run_binary(inv: &Invocation, ws: &Workspace) -> Result<(String, bool)> {
    let mut bin = None;
    let mut it = inv.cargo_args.iter();
    while let Some(a) = it.next() {
        if a == "--example" || a.starts_with("--example=") {
            return Err(Error::Usage(
                "`run --example` is not supported yet\n  help: build it with `green-cross build --example <name> --target <triple>`".into(),
            ));
        }
        if a == "--bin" {
            bin = it.next().cloned();
        } else if let Some(b) = a.strip_prefix("--bin=") {
            bin = Some(b.to_string());
        }
    }
    let given = bin.is_some();
    let name =
        crate::workspace::select_binary(ws, bin.as_deref(), &inv.packages).map_err(Error::Usage)?;
    Ok((name, given))
}

#[allow(clippy::too_many_arguments)]
fn run_plan(
    r: &Recipe,
    choice: &RunnerChoice,
    mode: ToolchainMode,
    flavour: ImageFlavour,
    m: &crate::target::ModeRecipe,
    install: Option<&PackageInstall>,
    ws: &Workspace,
    profile_dir: &str,
    bin: String,
    inv: &Invocation,
    host: &Host,
) -> Result<RunPlan> {
    let exe = if r.triple.contains("windows") {
        format!("{bin}.exe")
    } else {
        bin
    };
    let binary = ws.target_dir.join(&r.triple).join(profile_dir).join(exe);
    let image = match choice.kind {
        Runner::None => {
            return Err(Error::Usage(format!(
                "{} binaries cannot run on this host\n  help: build it with `green-cross build --target {}` and run it on a {} machine",
                r.triple, r.triple, r.platform
            )));
        }
        Runner::Native if choice.configured || arch(&host.triple) == arch(&r.triple) => None,
        Runner::Native => {
            return Err(Error::Usage(format!(
                "{} binaries run natively on {} hosts only, and this host is {}",
                r.triple,
                arch(&r.triple),
                host.triple
            )));
        }
        Runner::QemuUser | Runner::Wine | Runner::Command => {
            let runner = runner_plan(r, choice, mode, flavour, m, installs_multiarch(install))
                .expect("qemu-user, wine and commands have a runner stage");
            let command = runner
                .env
                .get(&format!("CARGO_TARGET_{}_RUNNER", env_upper(&r.triple)))
                .cloned()
                .unwrap_or_default();
            let program = shell_words::split(&command).map_err(|e| Error::InvalidSetting {
                key: "runner".into(),
                value: command.clone(),
                message: format!("not a command line: {e}"),
            })?;
            let ws_hash = stable_hash(ws.root.to_string_lossy().as_bytes());
            Some(RunnerImage {
                stage: format!("runner-{}", r.triple),
                tag: format!("green-cross-runner:{}-{ws_hash:016x}", r.triple),
                program,
                runner,
            })
        }
    };
    Ok(RunPlan {
        triple: r.triple.clone(),
        binary,
        args: inv.trailing.clone(),
        cwd: ws.root.join(&ws.workdir),
        env: BTreeMap::new(),
        volumes: vec![],
        image,
    })
}

/// The recipe's runner, except that a target which runs natively on its
/// own architecture runs under qemu-user on another (x86_64 Linux on an
/// arm64 machine), when the recipe names its emulator.
fn default_runner(r: &Recipe, host: &str) -> Runner {
    match r.runner {
        Runner::Native if arch(&r.triple) != arch(host) && r.qemu.is_some() => Runner::QemuUser,
        other => other,
    }
}

/// The runner for a target: `runner` from the configuration when set
/// (`native`, `qemu-user`, `wine`, or a command), else the recipe's
/// ([`default_runner`]).
fn runner_choice(r: &Recipe, configured: Option<&str>, host: &str) -> Result<RunnerChoice> {
    let choice = |kind| RunnerChoice {
        kind,
        command: None,
        configured: true,
    };
    match configured.map(str::trim) {
        None => Ok(RunnerChoice {
            kind: default_runner(r, host),
            command: None,
            configured: false,
        }),
        Some("native") => Ok(choice(Runner::Native)),
        Some("qemu-user") if r.qemu.is_some() => Ok(choice(Runner::QemuUser)),
        Some("qemu-user") => Err(Error::InvalidSetting {
            key: "runner".into(),
            value: "qemu-user".into(),
            message: format!(
                "{} has no qemu-user emulator; use `native`, `wine` or a command",
                r.triple
            ),
        }),
        Some("wine") if r.libc == crate::target::Libc::Mingw => Ok(choice(Runner::Wine)),
        Some("wine") => Err(Error::InvalidSetting {
            key: "runner".into(),
            value: "wine".into(),
            message: format!(
                "wine runs Windows binaries, and {} is not Windows",
                r.triple
            ),
        }),
        Some("qemu-system") => Err(Error::InvalidSetting {
            key: "runner".into(),
            value: "qemu-system".into(),
            message: "qemu-system is not supported; use `qemu-user`, `native` or a command".into(),
        }),
        Some("") => Err(Error::InvalidSetting {
            key: "runner".into(),
            value: String::new(),
            message: "empty; use `native`, `qemu-user`, `wine` or a command".into(),
        }),
        Some(cmd) => Ok(RunnerChoice {
            kind: Runner::Command,
            command: Some(cmd.to_string()),
            configured: true,
        }),
    }
}

/// `env.passthrough` entries (lowest precedence first) as the variables
/// they set: `NAME=VALUE` as written, `NAME` from the environment when it is
/// set there. Reserved names are dropped with a warning.
fn resolve_passthrough(
    entries: &[String],
    env: &Env,
    triple: &str,
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for e in entries {
        let (name, value) = match e.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.to_string())),
            None => (e.trim(), None),
        };
        if PASSTHROUGH_RESERVED.contains(&name) {
            let w = format!(
                "{triple}: env.passthrough cannot set {name} (green-cross sets it inside the build); ignored"
            );
            if !warnings.contains(&w) {
                warnings.push(w);
            }
            continue;
        }
        let host = env.get(name);
        if let (None, Some(v)) = (&value, host) {
            crate::guard::env_value(name, v)?;
        }
        match value.or_else(|| host.cloned()) {
            Some(v) => {
                out.insert(name.to_string(), v);
            }
            None => {
                out.remove(name);
            }
        }
    }
    Ok(out)
}

/// Make cargo use the target's own rustflags (the recipe's, lld,
/// crt-static) together with the user's. cargo takes the first that is set
/// of CARGO_ENCODED_RUSTFLAGS, RUSTFLAGS, the target's rustflags (the
/// environment's and the configuration files' joined) and build.rustflags,
/// and drops the rest; so green-cross's flags go first into the one the
/// user's flags are in. `build_env` already holds the user's variables
/// passed through as they are, and the target's rustflags (green-cross's,
/// then the user's CARGO_TARGET_<TRIPLE>_RUSTFLAGS).
fn place_rustflags(
    ours: &[String],
    target_key: &str,
    env: &Env,
    config_build: Option<&[String]>,
    build_env: &mut BTreeMap<String, String>,
) {
    if ours.is_empty() {
        return;
    }
    let joined = |first: String, sep: &str, then: &str| {
        if then.is_empty() {
            first
        } else {
            format!("{first}{sep}{then}")
        }
    };
    if let Some(encoded) = env.get("CARGO_ENCODED_RUSTFLAGS") {
        build_env.insert(
            "CARGO_ENCODED_RUSTFLAGS".into(),
            joined(ours.join("\x1f"), "\x1f", encoded),
        );
    } else if let Some(flags) = env.get("RUSTFLAGS") {
        build_env.insert(
            "RUSTFLAGS".into(),
            joined(ours.join(" "), " ", flags.trim()),
        );
    } else if !env.contains_key(target_key) {
        // build.rustflags, which cargo would drop for the target's.
        let build = env
            .get("CARGO_BUILD_RUSTFLAGS")
            .map(|f| f.split_whitespace().map(String::from).collect::<Vec<_>>())
            .or_else(|| config_build.map(<[String]>::to_vec))
            .unwrap_or_default();
        if !build.is_empty() {
            build_env.insert(
                target_key.to_string(),
                ours.iter()
                    .chain(&build)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
    }
}

/// Variables passed to the build step without being named in
/// `env.passthrough`: the flags and profile settings cargo and rustc read,
/// and the test harness's own.
pub const AUTOMATIC_PASSTHROUGH: &[&str] = &[
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_BUILD_RUSTDOCFLAGS",
    "CARGO_INCREMENTAL",
    "CARGO_TERM_COLOR",
    "CARGO_TERM_VERBOSE",
    "RUST_BACKTRACE",
    "RUST_LOG",
    "RUST_TEST_THREADS",
    "RUST_TEST_NOCAPTURE",
    "RUST_MIN_STACK",
    "QEMU_STRACE",
];

/// The automatic passthrough present in `env`: [`AUTOMATIC_PASSTHROUGH`],
/// CARGO_PROFILE_* and CARGO_TARGET_<TRIPLE>_RUSTFLAGS.
fn automatic_passthrough(env: &Env) -> Result<Vec<(String, String)>> {
    env.iter()
        .filter(|(k, _)| {
            AUTOMATIC_PASSTHROUGH.contains(&k.as_str())
                || k.starts_with("CARGO_PROFILE_")
                || (k.starts_with("CARGO_TARGET_") && k.ends_with("_RUSTFLAGS"))
        })
        .map(|(k, v)| {
            crate::guard::env_name(k, "a variable of the environment")?;
            crate::guard::env_value(k, v)?;
            Ok((k.clone(), v.clone()))
        })
        .collect()
}

/// The BuildKit secret id of the host variable `name` (`env.secrets`).
pub fn secret_id(name: &str) -> String {
    format!("green-cross-env-{name}")
}

/// `env.secrets` names whose variable is set on the host, sorted; an unset
/// one is a warning (the build runs without it, as cargo would).
fn resolve_secrets(
    names: &[String],
    env: &Env,
    triple: &str,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for n in names {
        if env.contains_key(n) {
            out.push(n.clone());
        } else {
            let w = format!(
                "{triple}: env.secrets names ${n}, which is not set; the build runs without it"
            );
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
    }
    sorted(out)
}

/// `--target path/to/name.json`: a custom target specification, which
/// cargo reads inside the build, so it must be inside the workspace. Its
/// name (the file's stem, as cargo names the target) and its path relative
/// to the workspace root.
fn custom_spec(target: &str, ws: &Workspace) -> Result<Option<(String, PathBuf)>> {
    if !target.ends_with(".json") {
        return Ok(None);
    }
    let given = Path::new(target);
    let host = crate::config::trust::normalize(&ws.root.join(&ws.workdir).join(given));
    let rel = host.strip_prefix(&ws.root).map_err(|_| {
        Error::Usage(format!(
            "`--target {target}`: cargo reads a target specification inside the build, so it must be inside the workspace ({})\n  help: move it into the workspace",
            ws.root.display()
        ))
    })?;
    let name = host
        .file_stem()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if !valid {
        return Err(Error::Usage(format!(
            "`--target {target}`: the file's name is the target's name, `{name}`, which takes lowercase letters, digits, `.`, `_` and `-`\n  help: rename the file"
        )));
    }
    crate::guard::build_path(&rel.to_string_lossy(), "--target")?;
    Ok(Some((name, rel.to_path_buf())))
}

/// `[target.<name>]` tables of the configuration files whose name is no
/// target green-cross knows: their settings would never apply.
fn unknown_target_tables(settings: &Settings, recipes: &Recipes, asked: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    // A custom target specification's table is named by the file's stem.
    let spec_names: Vec<&str> = asked
        .iter()
        .filter(|t| t.ends_with(".json"))
        .filter_map(|t| Path::new(t).file_stem()?.to_str())
        .collect();
    for layer in &settings.layers {
        for name in layer.config.target.keys() {
            if spec_names.contains(&name.as_str()) {
                continue;
            }
            // A triple of a target green-cross does not build (a cross
            // user's table for mips, say) is left alone; a typo or a name
            // that is no triple is not.
            let Err(Error::UnknownTarget { suggestion, .. }) = recipes.get(name) else {
                continue;
            };
            let a_triple = name.parse::<target_lexicon::Triple>().is_ok();
            if suggestion.is_some() || !a_triple {
                let hint = suggestion.map_or(String::new(), |s| format!("; did you mean `{s}`?"));
                out.push(format!(
                    "{}: [target.{name}] is not a target green-cross knows, so its settings are never used{hint} (`green-cross targets` lists them)",
                    layer.name
                ));
            }
        }
    }
    out
}

/// `env.volumes` entries: `NAME` (a directory named by the environment's
/// $NAME) or `NAME=/path`. Paths must be absolute.
fn resolve_volumes(
    entries: &[String],
    env: &Env,
    triple: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<Volume>> {
    let mut out: Vec<Volume> = Vec::new();
    for e in entries {
        let (name, path) = match e.split_once('=') {
            Some((n, p)) => (n.trim(), p.to_string()),
            None => {
                let n = e.trim();
                match env.get(n).filter(|v| !v.is_empty()) {
                    Some(p) => {
                        crate::guard::build_path(p, format_args!("${n} (environment)"))?;
                        (n, p.clone())
                    }
                    // cross mounts nothing for an unset variable.
                    None => {
                        warnings.push(format!(
                            "{triple}: env.volumes names ${n}, which is not set, so nothing is mounted for it\n  help: set it to a directory, or write `{n}=/path`"
                        ));
                        continue;
                    }
                }
            }
        };
        let path = PathBuf::from(path);
        if !path.is_absolute() {
            return Err(Error::InvalidSetting {
                key: "env.volumes".into(),
                value: e.clone(),
                message: format!("{triple}: `{}` is not an absolute path", path.display()),
            });
        }
        let context = format!(
            "green-cross-volume-{}",
            name.to_ascii_lowercase().replace('_', "-")
        );
        out.retain(|v| v.var != name);
        out.push(Volume {
            var: name.to_string(),
            path,
            context,
        });
    }
    Ok(out)
}

/// `1.80`, `2.17`, `1.80.1`: numbers joined by dots, none empty.
fn is_dotted_number(v: &str) -> bool {
    v.split('.')
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

fn arch(triple: &str) -> &str {
    triple.split('-').next().unwrap_or(triple)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_day_crosses_months_years_and_leap_days() {
        assert_eq!(next_day("2026-11-20").as_deref(), Some("2026-11-21"));
        assert_eq!(next_day("2026-11-30").as_deref(), Some("2026-12-01"));
        assert_eq!(next_day("2026-12-31").as_deref(), Some("2027-01-01"));
        assert_eq!(next_day("2028-02-28").as_deref(), Some("2028-02-29"));
        assert_eq!(next_day("2100-02-28").as_deref(), Some("2100-03-01"));
        assert_eq!(next_day("2026-02-30"), None);
        assert_eq!(next_day("2026-13-01"), None);
        assert_eq!(next_day("yesterday"), None);
    }

    #[test]
    fn a_host_compiler_maps_to_its_image_or_its_dated_channel() {
        let host = |v: &str, date: Option<&str>| Host {
            rustc_version: v.into(),
            triple: "x86_64-unknown-linux-gnu".into(),
            commit_date: date.map(str::to_string),
        };
        let t = |v, d| rustup_toolchain(None, &host(v, d)).unwrap();
        assert_eq!(
            t("1.95.0", Some("2026-10-27")),
            RustupToolchain::Image("1.95.0".into())
        );
        assert_eq!(
            t("1.97.0-nightly", Some("2026-11-20")),
            RustupToolchain::Install("nightly-2026-11-21".into())
        );
        assert_eq!(
            t("1.96.0-beta.4", Some("2026-11-02")),
            RustupToolchain::Install("beta-2026-11-03".into())
        );
        assert_eq!(
            t("1.97.0-nightly", None),
            RustupToolchain::Install("nightly".into())
        );
        let h = host("1.95.0", None);
        assert_eq!(
            rustup_toolchain(Some("nightly-2026-11-01"), &h).unwrap(),
            RustupToolchain::Install("nightly-2026-11-01".into())
        );
        assert!(rustup_toolchain(Some("nightly 2026"), &h).is_err());
        assert!(rustup_toolchain(Some("1.x"), &h).is_err());
    }
}
