//! The pure planner: from the invocation, the workspace, the settings and
//! the recipes to a [`BuildPlan`] that says every detail of the build. No
//! I/O: the environment and the host's facts are inputs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cache::{CacheFacts, CachePlan, cache_plan};
use crate::cli::{Invocation, Subcommand};
use crate::config::{
    BuildStd, Dockerfile, Env, Image, PreBuild, ReleaseSettings, Settings, ToolchainMode, Zig,
};
use crate::error::{Error, Result};
use crate::target::{ImageFlavour, Recipe, Recipes, Runner, StdSource, env_lower, env_upper};
use crate::workspace::{OutsidePackage, SkeletonFile, Workspace, stable_hash};

mod build_env;
mod commands;
pub mod inputs;
mod runner;
mod shared_cache;
mod stage;
mod sysroot;
mod target;
mod targets;
mod toolchain;
pub use build_env::*;
use commands::*;
pub use runner::*;
use shared_cache::*;
pub use stage::*;
use sysroot::*;
use target::*;
pub use targets::*;
pub use toolchain::*;

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
    pub from: Stage,
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
    /// The build step's `cargo clean` of the private packages, run when
    /// the vendored packages changed (see [`crate::vendor::content_id`]);
    /// empty without private packages.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub private_clean: Vec<String>,
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
    /// The stage the build step starts from: the dependencies stage, or
    /// the runner stage on it when the build step runs binaries. Left out
    /// of `plan --json`, where `runner` tells it.
    #[serde(skip)]
    pub build_from: Stage,
    /// Never serve the build step from cache: a build argument with a fresh
    /// value per invocation. For `test` (tests always run) and whenever
    /// `env.secrets` are set (a secret's value is not in BuildKit's cache
    /// key, so a changed one would be served the old artifact; cargo in the
    /// build step sees the change and recompiles what read it).
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
    /// Serialised as cargo's name for it.
    pub subcommand: Subcommand,
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
    /// Dependencies from git or registries other than crates.io: the
    /// host's cargo fetches them, the build mounts them (see `vendor`).
    pub private: Option<PrivateDeps>,
    /// For `run`: what runs after the build.
    pub run: Option<RunPlan>,
    /// The shared build cache's `--cache-from` / `--cache-to`.
    pub cache: CachePlan,
    /// Things the user should know that do not stop the build.
    pub warnings: Vec<String>,
}

/// The workspace's private dependencies, fetched on the host and mounted
/// read-only into every step that runs cargo, from the named context
/// `green-cross-vendor`: their sources are never in a layer, and
/// their compiled code is only when `cached` (`cache-private-deps`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrivateDeps {
    pub packages: Vec<crate::lockfile::PrivatePackage>,
    pub cached: bool,
    /// crates.io's packages too: the user's configuration replaces
    /// crates.io by a source the build cannot reach (see
    /// [`crate::workspace::Workspace::crates_io_mirror`]).
    pub crates_io: bool,
}

fn sorted(items: impl IntoIterator<Item = String>) -> Vec<String> {
    items
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

pub fn plan(input: &PlanInput) -> Result<BuildPlan> {
    let inv = input.invocation;
    let settings = input.settings;
    let mode = settings.toolchain;
    let mut warnings = Vec::new();
    crate::guard::invocation(inv)?;
    crate::guard::workspace(input.workspace)?;
    warnings.extend(unknown_target_tables(settings, input.recipes, &inv.targets));
    warnings.extend(crate::proxy::loopback_warnings(input.env));
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
    let ws = input.workspace;
    let ws_hash = stable_hash(ws.root.to_string_lossy().as_bytes());
    let tc = toolchains(input, &recipes, ws_hash, &mut warnings)?;
    let zig_of = |r: &Recipe| tc.zig_of(r);
    let any_zig = recipes.iter().any(|r| zig_of(r).is_some());
    let rust_version = &tc.rust_version;

    let profile_dir = inv.profile_dir();
    let runs_binaries = inv.subcommand.runs_binaries();
    let is_run = inv.subcommand.is_run();
    if is_run && recipes.len() != 1 {
        return Err(Error::Usage(format!(
            "`run` takes one target, not {}\n  help: run once per target",
            recipes.len()
        )));
    }
    let outputs = match inv.subcommand {
        Subcommand::Build | Subcommand::Run => Outputs::ProfileDir,
        Subcommand::Doc => Outputs::Doc,
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
    let cx = PlanContext {
        input,
        tc: &tc,
        specs: &specs,
        automatic: &automatic,
        ws_hash,
        runs_binaries,
        is_run,
        outputs,
        workdir,
        deps_workdir,
        profile_dir: profile_dir.clone(),
    };
    for r in &recipes {
        let (target, target_run) = target_plan(&cx, r, &mut zig_stages, &mut warnings)?;
        targets.push(target);
        run = run.or(target_run);
    }

    let triples: Vec<String> = targets.iter().map(|t| t.triple.clone()).collect();
    let cache = shared_cache(input, rust_version, &triples, &mut warnings)?;

    Ok(BuildPlan {
        cache,
        mode,
        subcommand: inv.subcommand.clone(),
        profile_dir,
        xx_image: tc.stages.iter().any(|t| t.xx).then(|| XX_IMAGE.to_string()),
        toolchains: tc.stages.clone(),
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
        private: (!ws.private.is_empty() || ws.crates_io_mirror).then(|| PrivateDeps {
            packages: ws.private.clone(),
            cached: settings.cache_private_deps,
            crates_io: ws.crates_io_mirror,
        }),
        run,
        warnings,
    })
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

/// `1.80`, `2.17`, `1.80.1`: numbers joined by dots, none empty.
fn is_dotted_number(v: &str) -> bool {
    v.split('.')
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod phase_tests;

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
