//! The engine: the only place that spawns processes or talks to Docker.
//! It checks the engine, prepares the build contexts, runs
//! `docker buildx build`, filters its output and keeps all of it.

pub mod builder;
pub mod child;
pub mod doctor;
pub mod host;
pub mod logs;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::config::Env;
use crate::error::{Error, Result};
use crate::plan::{
    BuildPlan, CA_SECRET_ID, CARGO_STATUS_MARKER, CustomImage, FRESH_ARG, MACOS_SDK_CONTEXT,
    OUT_STAGE, RunPlan, RunnerImage, SKELETON_CONTEXT,
};
use crate::workspace::SkeletonFile;

/// The oldest BuildKit that runs our Dockerfiles (heredocs, COPY --chmod,
/// RUN --network, named contexts).
pub const MIN_BUILDKIT: (u64, u64) = (0, 11);
/// The oldest engine whose embedded BuildKit (docker driver) is recent
/// enough.
pub const MIN_ENGINE_FOR_DOCKER_DRIVER: u64 = 23;

/// The docker CLI to use, and the user's extra options for it.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    pub program: PathBuf,
    /// CROSS_BUILD_OPTS: added to every `docker buildx build`.
    pub build_opts: Vec<String>,
    /// CROSS_CONTAINER_OPTS: added to `docker run` (for `run`).
    pub container_opts: Vec<String>,
    /// CROSS_CONTAINER_UID / CROSS_CONTAINER_GID: who `run` runs as in a
    /// runner container (default: this process's user).
    pub container_user: Option<(u32, u32)>,
    /// `--builder`: the buildx builder every build uses.
    pub builder: Option<String>,
    /// When `--builder` names a docker context (whose engine is a
    /// docker-driver builder): the context every docker command runs in.
    pub context: Option<String>,
}

/// Split an options variable as a shell would.
fn opts(env: &Env, name: &str) -> Result<Vec<String>> {
    match env.get(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(vec![]),
        Some(v) => shell_words::split(v).map_err(|e| Error::InvalidSetting {
            key: name.into(),
            value: v.clone(),
            message: format!("not a list of options: {e}"),
        }),
    }
}

impl Engine {
    /// GREEN_CROSS_ENGINE, else CROSS_CONTAINER_ENGINE, else `docker` on PATH.
    pub fn detect(env: &Env) -> Result<Engine> {
        let build_opts = opts(env, "CROSS_BUILD_OPTS")?;
        let container_opts = opts(env, "CROSS_CONTAINER_OPTS")?;
        let container_user = crate::config::env::container_user(env)?;
        let named = env
            .get("GREEN_CROSS_ENGINE")
            .or_else(|| env.get("CROSS_CONTAINER_ENGINE"))
            .filter(|v| !v.is_empty())
            .cloned();
        let name = named.clone().unwrap_or_else(|| "docker".into());
        let base = Path::new(&name)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        if base.contains("podman") {
            return Err(Error::Engine {
                message: format!("`{name}` was named as the container engine, but podman is not supported yet"),
                help: "use Docker with buildx (unset GREEN_CROSS_ENGINE / CROSS_CONTAINER_ENGINE); podman support is planned".into(),
            });
        }
        let program = which::which(&name).map_err(|_| Error::Engine {
            message: format!("the container engine `{name}` was not found on PATH"),
            help: if named.is_some() {
                "check GREEN_CROSS_ENGINE / CROSS_CONTAINER_ENGINE: they name the docker binary to use".into()
            } else {
                "install the Docker CLI with the buildx plugin (Debian: apt-get install docker.io docker-buildx), or name it with GREEN_CROSS_ENGINE".into()
            },
        })?;
        Ok(Engine {
            program,
            build_opts,
            container_opts,
            container_user,
            builder: None,
            context: None,
        })
    }

    /// Build with this buildx builder. The builder of a docker context is
    /// reached through the context (buildx refuses `--builder` for it).
    pub fn with_builder(mut self, builder: Option<String>) -> Engine {
        if let Some(b) = &builder {
            let is_context = self
                .cmd()
                .args(["context", "inspect", b])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if is_context {
                self.context = Some(b.clone());
            } else {
                self.build_opts
                    .splice(0..0, ["--builder".to_string(), b.clone()]);
            }
        }
        self.builder = builder;
        self
    }

    /// The error for a docker CLI that could not be started.
    fn spawn_error(&self, e: std::io::Error) -> Error {
        Error::Spawn {
            program: self.program.display().to_string(),
            message: e.to_string(),
            help: "check that the docker CLI runs".into(),
        }
    }

    /// The docker CLI's global arguments (`--context`).
    fn global_args(&self) -> Vec<String> {
        match &self.context {
            Some(c) => vec!["--context".into(), c.clone()],
            None => vec![],
        }
    }

    /// `docker buildx inspect` of the builder.
    fn inspect(&self) -> std::io::Result<std::process::Output> {
        self.buildx(&["inspect"]).output()
    }

    /// `docker buildx ARGS` for the builder: `--builder NAME` unless the
    /// builder is a docker context (reached through `--context`).
    fn buildx(&self, args: &[&str]) -> Command {
        let mut c = self.cmd();
        c.arg("buildx").args(args);
        if let (Some(b), None) = (&self.builder, &self.context) {
            c.args(["--builder", b]);
        }
        c
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(self.global_args());
        c
    }

    /// Check that an engine answers, that buildx is there, and that its
    /// BuildKit is recent enough. Returns the BuildKit version when known.
    pub fn check(&self, env: &Env) -> Result<Option<String>> {
        let docker_host = env.get("DOCKER_HOST").cloned().unwrap_or_default();
        // A named builder may live elsewhere than DOCKER_HOST: buildx
        // inspect tells whether it answers.
        let engine_version = if docker_host.starts_with("ssh://") || self.builder.is_some() {
            None
        } else {
            Some(engine_version_via_api(&docker_host)?)
        };
        // One `buildx inspect` tells both whether buildx is there and
        // whether the builder answers (each docker call costs ~0.1 s).
        let out = self.inspect().map_err(|e| self.spawn_error(e))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if buildx_missing(&stderr) {
                return Err(Error::Engine {
                    message: format!("docker buildx is not available: {}", stderr.trim()),
                    help: "install the buildx plugin (Debian: apt-get install docker-buildx; elsewhere see https://github.com/docker/buildx#installing)".into(),
                });
            }
            return Err(Error::Engine {
                message: format!(
                    "the builder{} does not answer: {}",
                    self.builder.as_deref().map(|b| format!(" `{b}`")).unwrap_or_default(),
                    stderr.trim()
                ),
                help: "`docker buildx ls` lists the builders; check --builder, BUILDX_BUILDER and DOCKER_HOST".into(),
            });
        }
        let text = String::from_utf8_lossy(&out.stdout);
        // Distribution builds of the engine report their embedded BuildKit
        // as v0.0.0+unknown: then the engine's own version tells (engine 23
        // and later embed BuildKit 0.11 or newer).
        let version = parse_buildkit_version(&text).filter(|v| major_minor(v) != Some((0, 0)));
        if version.is_none()
            && inspect_field(&text, "driver").as_deref() == Some("docker")
            && let Some((maj, _)) = engine_version.as_deref().and_then(major_minor)
            && maj < MIN_ENGINE_FOR_DOCKER_DRIVER
        {
            return Err(Error::Engine {
                        message: format!(
                            "the Docker engine is {}; its embedded BuildKit is too old for green-cross (engine {MIN_ENGINE_FOR_DOCKER_DRIVER}.0 or newer is needed)",
                            engine_version.as_deref().unwrap_or_default()
                        ),
                        help: "upgrade the Docker engine, or create a docker-container builder with a recent BuildKit and select it with BUILDX_BUILDER".into(),
                    });
        }
        if let Some(v) = &version
            && let Some((maj, min)) = major_minor(v)
            && (maj, min) < MIN_BUILDKIT
        {
            return Err(Error::Engine {
                        message: format!(
                            "the builder's BuildKit is {v}; green-cross needs {}.{} or newer",
                            MIN_BUILDKIT.0, MIN_BUILDKIT.1
                        ),
                        help: "upgrade the Docker engine (23.0 or newer embeds a recent BuildKit), or select a newer builder with BUILDX_BUILDER".into(),
                    });
        }
        Ok(version)
    }
}

impl Engine {
    /// Why this builder cannot build a plan's `dockerfile` images, if it
    /// cannot.
    pub fn custom_images_blocker(&self) -> Option<Error> {
        let out = self.inspect().ok()?;
        custom_images_blocker_for(&String::from_utf8_lossy(&out.stdout))
    }

    /// Why the active builder cannot export build cache, if it cannot: the
    /// docker driver exports cache only with the containerd image store.
    pub fn cache_export_blocker(&self) -> Option<String> {
        let out = self.inspect().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        if inspect_field(&text, "driver").as_deref() != Some("docker") {
            return None;
        }
        let out = self
            .cmd()
            .args(["info", "--format", "{{json .DriverStatus}}"])
            .output()
            .ok()?;
        let status = String::from_utf8_lossy(&out.stdout);
        (out.status.success() && !status.contains("io.containerd.snapshotter")).then(|| {
            "the active builder (docker driver) cannot export build cache: the engine does not use the containerd image store\n  \
             help: turn the store on (\"features\": {\"containerd-snapshotter\": true} in /etc/docker/daemon.json, then restart dockerd), \
             or build with a docker-container builder: `green-cross builder create` makes one, then --builder green-cross or BUILDX_BUILDER=green-cross".to_string()
        })
    }
}

/// Whether the docker CLI said that it has no buildx plugin.
fn buildx_missing(stderr: &str) -> bool {
    stderr.contains("'buildx' is not a docker command")
        || stderr.contains("unknown command \"buildx\"")
}

/// Why the `dockerfile` images of a plan cannot be built with this builder
/// (from `docker buildx inspect`), if they cannot: they are loaded into the
/// engine, and only a docker-driver builder's FROM finds loaded images.
fn custom_images_blocker_for(inspect: &str) -> Option<Error> {
    let driver = inspect_field(inspect, "driver")?;
    let name = inspect_field(inspect, "name").unwrap_or_default();
    (driver != "docker").then(|| Error::Engine {
        message: format!(
            "`dockerfile` needs a builder with the docker driver, and the builder `{name}` uses the {driver} driver: \
             the image built from the Dockerfile is loaded into the engine, where this builder's FROM cannot find it"
        ),
        help: "build with the engine's own builder (`--builder default`, or unset BUILDX_BUILDER), \
               or build and push the image yourself and name it with `image`"
            .into(),
    })
}

/// Ask the engine for its version through its API (bollard).
fn engine_version_via_api(docker_host: &str) -> Result<String> {
    let no_engine = |detail: String| {
        Error::Engine {
        message: format!(
            "no Docker engine answers{}: {detail}",
            if docker_host.is_empty() { String::new() } else { format!(" at DOCKER_HOST={docker_host}") }
        ),
        help: "start the Docker engine (`dockerd`, or Docker Desktop), or point DOCKER_HOST at one; on a Debian machine ci/setup-engine.sh installs and starts one".into(),
    }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| no_engine(e.to_string()))?;
    rt.block_on(async {
        let docker =
            bollard::Docker::connect_with_defaults().map_err(|e| no_engine(e.to_string()))?;
        let v = tokio::time::timeout(Duration::from_secs(10), docker.version())
            .await
            .map_err(|_| no_engine("timed out after 10 s".into()))?
            .map_err(|e| no_engine(e.to_string()))?;
        Ok(v.version.unwrap_or_default())
    })
}

/// `BuildKit version: v0.13.2` (or `Buildkit:` in older buildx) from
/// `docker buildx inspect`.
pub fn parse_buildkit_version(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        let k = k.trim().to_ascii_lowercase();
        (k == "buildkit version" || k == "buildkit")
            .then(|| v.trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

/// The first `Key: value` line of `docker buildx inspect` with this key.
fn inspect_field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().to_string())
    })
}

fn major_minor(v: &str) -> Option<(u64, u64)> {
    let v = v.trim_start_matches('v');
    let mut it = v.split(['.', '+', '-']);
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// The name of a build's temporary directory: `<this><pid>-<random>`.
const CONTEXTS_PREFIX: &str = "green-cross-";

/// The contexts of one build, in a temporary directory (mode 0700) that
/// disappears when this value is dropped, or at the next run when this one
/// was killed.
pub struct Contexts {
    pub dir: tempfile::TempDir,
    pub dockerfile: PathBuf,
    pub skeleton: PathBuf,
}

/// Write the Dockerfile, its ignore file and the skeleton context.
pub fn prepare_contexts(plan: &BuildPlan, dockerfile: &str) -> Result<Contexts> {
    // What the configuration names on the host must exist.
    for t in &plan.targets {
        if let Some(script) = t.pre_build.as_ref().and_then(|p| p.script.as_ref())
            && !plan.workspace_root.join(script).is_file()
        {
            return Err(Error::InvalidSetting {
                key: "pre-build".into(),
                value: script.clone(),
                message: format!(
                    "no such file in the workspace ({}); the path is relative to the workspace root",
                    plan.workspace_root.display()
                ),
            });
        }
        if let Some(c) = &t.custom {
            if !c.file.is_file() {
                return Err(Error::InvalidSetting {
                    key: "dockerfile".into(),
                    value: c.file.display().to_string(),
                    message: "no such file (the path is relative to the workspace root)".into(),
                });
            }
            if !c.context.is_dir() {
                return Err(Error::InvalidSetting {
                    key: "dockerfile.context".into(),
                    value: c.context.display().to_string(),
                    message: "not a directory (the path is relative to the workspace root)".into(),
                });
            }
        }
        if let Some(sdk) = &t.macos_sdk
            && !sdk.join("usr/lib").is_dir()
        {
            return Err(Error::InvalidSetting {
                key: "SDKROOT".into(),
                value: sdk.display().to_string(),
                message: format!(
                    "not a macOS SDK (no usr/lib in it); point SDKROOT at a MacOSX.sdk directory, or unset it to link {} with green-cross's stubs of the system libraries",
                    t.triple
                ),
            });
        }
        for v in &t.volumes {
            if !v.path.is_dir() {
                return Err(Error::InvalidSetting {
                    key: "env.volumes".into(),
                    value: v.var.clone(),
                    message: format!("{} is not a directory", v.path.display()),
                });
            }
        }
    }
    child::sweep(&std::env::temp_dir(), CONTEXTS_PREFIX);
    let dir = tempfile::Builder::new()
        .prefix(&child::temp_prefix(CONTEXTS_PREFIX))
        .permissions(child::private())
        .tempdir()
        .map_err(|e| Error::io("create a temporary directory", std::env::temp_dir(), e))?;
    let df = dir.path().join("Dockerfile");
    fs::write(&df, dockerfile).map_err(|e| Error::io("write", &df, e))?;

    // The workspace is the context; keep cargo's target dir and .git out,
    // plus whatever the user's own .dockerignore says.
    let mut ignore = String::new();
    if let Ok(user) = fs::read_to_string(plan.workspace_root.join(".dockerignore")) {
        ignore.push_str(&user);
        ignore.push('\n');
    }
    ignore.push_str(".git\n");
    if let Ok(rel) = plan.target_dir.strip_prefix(&plan.workspace_root) {
        ignore.push_str(&format!("{}\n", rel.display()));
    }
    let ig = dir.path().join("Dockerfile.dockerignore");
    fs::write(&ig, ignore).map_err(|e| Error::io("write", &ig, e))?;

    let sk = dir.path().join("skeleton");
    for f in &plan.skeleton {
        let dest = sk.join(f.path());
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        }
        match f {
            SkeletonFile::Copy(p) => {
                let src = plan.mount_root.join(p);
                fs::copy(&src, &dest).map_err(|e| Error::io("copy", &src, e))?;
            }
            SkeletonFile::StubMain(_) => {
                fs::write(&dest, "fn main() {}\n").map_err(|e| Error::io("write", &dest, e))?
            }
            SkeletonFile::StubLib(_) => {
                fs::write(&dest, "").map_err(|e| Error::io("write", &dest, e))?
            }
        }
    }
    fs::create_dir_all(&sk).map_err(|e| Error::io("create", &sk, e))?;
    Ok(Contexts {
        dir,
        dockerfile: df,
        skeleton: sk,
    })
}

/// The label of every image green-cross loads into the engine (runner
/// images, `dockerfile` images and their bases), valued with the image's
/// repository: `docker image prune -a --filter label=dev.green-cross.image`
/// removes them all (the next build that needs one makes it again).
pub const IMAGE_LABEL: &str = "dev.green-cross.image";

/// Load the build's image into the engine under `tag`, labelled as
/// green-cross's own.
fn load_args(tag: &str) -> [String; 5] {
    let repository = tag.rsplit_once(':').map_or(tag, |(r, _)| r);
    [
        "--load".into(),
        "--tag".into(),
        tag.into(),
        "--label".into(),
        format!("{IMAGE_LABEL}={repository}"),
    ]
}

/// What a `docker buildx build` produces.
#[derive(Debug, Clone, Copy)]
pub enum Export<'a> {
    /// The outputs stage, as files in a local directory.
    Local(&'a Path),
    /// One stage, loaded into the engine as an image with this tag.
    Load { stage: &'a str, tag: &'a str },
}

/// `key=value` as one field of buildx's comma-separated options
/// (`--output`, `--secret`): quoted as CSV when the value holds a comma, a
/// quote or a line break, so that a path cannot end the field or add one.
fn csv_field(key: &str, value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{key}={}\"", value.replace('"', "\"\""))
    } else {
        format!("{key}={value}")
    }
}

/// The `docker buildx build` arguments for a plan (without the program).
pub fn buildx_args(
    plan: &BuildPlan,
    contexts: &Contexts,
    export: Export,
    progress: &str,
    build_opts: &[String],
) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "buildx".into(),
        "build".into(),
        format!("--progress={progress}"),
        "--file".into(),
        contexts.dockerfile.display().to_string(),
        "--build-context".into(),
        format!("{SKELETON_CONTEXT}={}", contexts.skeleton.display()),
    ];
    let mut volumes: Vec<&crate::plan::Volume> =
        plan.targets.iter().flat_map(|t| &t.volumes).collect();
    volumes.sort_by(|x, y| x.context.cmp(&y.context));
    volumes.dedup_by(|x, y| x.context == y.context);
    for v in volumes {
        a.push("--build-context".into());
        a.push(format!("{}={}", v.context, v.path.display()));
    }
    for (i, o) in plan.outside.iter().enumerate() {
        a.push("--build-context".into());
        a.push(format!(
            "{}={}",
            crate::plan::outside_context(i),
            o.dir.display()
        ));
    }
    if let Some(sdk) = plan.targets.iter().find_map(|t| t.macos_sdk.as_ref()) {
        a.push("--build-context".into());
        a.push(format!("{MACOS_SDK_CONTEXT}={}", sdk.display()));
    }
    a.extend(build_opts.iter().cloned());
    // The shared cache: read by every build of the plan, written by the
    // one that produces the artifacts.
    for f in &plan.cache.from {
        a.extend(["--cache-from".into(), f.clone()]);
    }
    if matches!(export, Export::Local(_)) {
        for t in &plan.cache.to {
            a.extend(["--cache-to".into(), t.clone()]);
        }
    }
    match export {
        Export::Local(out_dir) => a.extend([
            "--target".into(),
            OUT_STAGE.into(),
            "--output".into(),
            format!(
                "type=local,{}",
                csv_field("dest", &out_dir.display().to_string())
            ),
        ]),
        Export::Load { stage, tag } => {
            a.extend(["--target".into(), stage.into()]);
            a.extend(load_args(tag));
        }
    }
    if plan.targets.iter().any(|t| t.fresh) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        a.push("--build-arg".into());
        a.push(format!(
            "{FRESH_ARG}={}-{}",
            now.as_nanos(),
            std::process::id()
        ));
    }
    // env.secrets: buildx reads each from its own environment, which is
    // green-cross's; the value is never on a command line.
    let mut secrets: Vec<&String> = plan.targets.iter().flat_map(|t| &t.secrets).collect();
    secrets.sort();
    secrets.dedup();
    for name in secrets {
        a.push("--secret".into());
        a.push(format!("id={},env={name}", crate::plan::secret_id(name)));
    }
    if let Some(ca) = &plan.ca_bundle {
        a.push("--secret".into());
        a.push(format!(
            "id={CA_SECRET_ID},{}",
            csv_field("src", &ca.display().to_string())
        ));
    }
    a.push(plan.workspace_root.display().to_string());
    a
}

/// What a finished build reports.
#[derive(Debug)]
pub struct BuildOutcome {
    pub elapsed: Duration,
    pub log: PathBuf,
    /// What went wrong with the shared cache, for warnings: the build
    /// succeeded without it.
    pub cache_problems: Vec<String>,
    /// The targets whose build step BuildKit served from its cache (its
    /// report is an earlier run's).
    pub cached_builds: BTreeSet<String>,
    /// The tests cargo reported as failed, per target.
    pub failed_tests: BTreeMap<String, Vec<String>>,
}

/// Maps BuildKit's plain-progress vertex numbers to the stage they run.
#[derive(Default)]
struct ProgressFilter {
    /// vertex id -> target triple, for build-<triple> steps.
    build_vertex: BTreeMap<String, String>,
    /// vertex id -> what it does, for cache imports and exports.
    cache_vertex: BTreeMap<String, String>,
    /// Failed cache imports and exports, as the user should read them.
    cache_problems: Vec<String>,
    /// Targets whose build step was served from BuildKit's cache.
    cached_builds: BTreeSet<String>,
    /// `test NAME ... FAILED` lines of the build steps, per target.
    failed_tests: BTreeMap<String, Vec<String>>,
    /// vertex id -> target triple, for the cargo steps of deps-<triple>.
    deps_vertex: BTreeMap<String, String>,
    /// vertex id -> stage, for the RUN steps that set up a toolchain,
    /// sysroot or runner (minutes on a cold builder, silent otherwise).
    setup_vertex: BTreeMap<String, String>,
    /// The setup stages already announced.
    announced: std::collections::BTreeSet<String>,
    multi: bool,
    failed_build_code: Option<i32>,
    failed_other: bool,
    /// The engine lost a layer while unpacking an image: a race in the
    /// containerd image store (containerd/containerd#3787,
    /// moby/buildkit#6521) that the same build, run again, gets past.
    lost_layer: bool,
    /// vertex id -> image, for the steps that resolve or pull an image.
    image_vertex: BTreeMap<String, String>,
    /// An image the engine could not fetch, and the engine's reason.
    unfetched_image: Option<(String, String)>,
    /// The engine said `no space left on device`.
    no_space: bool,
    /// A line of BuildKit's progress was seen: before one, every line is
    /// the engine client's own (an unknown flag from CROSS_BUILD_OPTS, a
    /// context it cannot read) and is shown.
    progress_started: bool,
}

impl ProgressFilter {
    /// The line to show the user for one line of plain progress, if any.
    fn line(&mut self, line: &str, verbose: bool) -> Option<String> {
        let rest = line.strip_prefix('#');
        let (id, body) = match rest.and_then(|r| r.split_once(' ')) {
            Some((id, body)) if id.chars().all(|c| c.is_ascii_digit()) => (id.to_string(), body),
            _ => {
                if line.starts_with("ERROR") {
                    self.lost_layer |= is_lost_layer(line);
                    self.no_space |= line.contains("no space left on device");
                }
                let own = !self.progress_started && !line.trim().is_empty();
                return (verbose || own || line.starts_with("ERROR")).then(|| line.to_string());
            }
        };
        self.progress_started = true;
        if let Some(image) = body.strip_prefix("[internal] load metadata for ") {
            self.image_vertex.insert(id, image.trim().to_string());
            return verbose.then(|| line.to_string());
        }
        if let Some(stage_step) = body.strip_prefix('[') {
            if let Some((_, image)) = stage_step.split_once("] FROM ") {
                let image = image.split_whitespace().next().unwrap_or_default();
                self.image_vertex
                    .insert(id.clone(), image.split('@').next().unwrap_or(image).into());
            }
            if let Some((stage, step)) = stage_step.split_once(' ') {
                // Only the RUN step of a build stage is cargo's (not its WORKDIR).
                let is_run = step
                    .split_once("] ")
                    .is_some_and(|(_, instr)| instr.starts_with("RUN "));
                // The dependencies stage's cargo lines are shown as they come.
                if let Some(triple) = stage.strip_prefix("deps-").filter(|_| is_run) {
                    self.deps_vertex.insert(id.clone(), triple.to_string());
                }
                let setup = ![
                    "deps-",
                    "build-",
                    "artifacts-",
                    "green-cross-out",
                    "context",
                    "internal",
                ]
                .iter()
                .any(|p| stage.starts_with(p));
                if setup && is_run {
                    self.setup_vertex.insert(id.clone(), stage.to_string());
                }
                if let Some(triple) = stage.strip_prefix("build-").filter(|_| is_run) {
                    let first = self
                        .build_vertex
                        .insert(id.clone(), triple.to_string())
                        .is_none();
                    if first && !verbose {
                        return Some(format!("   Building {triple} in BuildKit"));
                    }
                }
            }
            return verbose.then(|| line.to_string());
        }
        if let Some(r) = body.strip_prefix("importing cache manifest from ") {
            self.cache_vertex.insert(id, format!("import from {r}"));
            return verbose.then(|| line.to_string());
        }
        if body.starts_with("exporting cache to ") {
            self.cache_vertex
                .insert(id, body.trim_end_matches(" done").to_string());
            return verbose.then(|| line.to_string());
        }
        if let (Some(what), Some(err)) = (self.cache_vertex.get(&id), body.strip_prefix("ERROR: "))
        {
            // A cache that cannot be read or written costs time, not the
            // build: the engine carries on (exports with ignore-error).
            if let Some(r) = what.strip_prefix("import from ") {
                if !err.trim_end().ends_with("not found") {
                    self.cache_problems
                        .push(format!("the build cache could not be read from {r}: {err}"));
                }
            } else {
                self.cache_problems.push(format!(
                    "{what} failed, so this build's layers were not shared: {err}"
                ));
            }
            return verbose.then(|| line.to_string());
        }
        if body.starts_with("ERROR") {
            if !self.build_vertex.contains_key(&id) || self.failed_build_code.is_none() {
                self.failed_other = true;
            }
            let lost = is_lost_layer(body);
            self.lost_layer |= lost;
            if let Some(image) = self.image_vertex.get(&id)
                && !lost
                && self.unfetched_image.is_none()
            {
                let reason = body.trim_start_matches("ERROR:").trim();
                self.unfetched_image = Some((image.clone(), reason.to_string()));
            }
            return Some(line.to_string());
        }
        if let Some(stage) = self.setup_vertex.get(&id) {
            // Output with a timestamp: the step really runs.
            let running = body
                .split_once(' ')
                .is_some_and(|(ts, _)| ts.parse::<f64>().is_ok());
            if running && !verbose && self.announced.insert(stage.clone()) {
                return Some(format!("   Preparing {stage}"));
            }
            return verbose.then(|| line.to_string());
        }
        if let Some(triple) = self.deps_vertex.get(&id) {
            if body == "CACHED" || body == "..." || body.starts_with("DONE") {
                return verbose.then(|| line.to_string());
            }
            let text = match body.split_once(' ') {
                Some((ts, text)) if ts.parse::<f64>().is_ok() => text,
                _ => body,
            };
            return Some(if self.multi {
                format!("[{triple}] {text}")
            } else {
                text.to_string()
            });
        }
        if let Some(triple) = self.build_vertex.get(&id) {
            if body == "CACHED" {
                self.cached_builds.insert(triple.clone());
                return Some(format!("      Fresh {triple} (cached)"));
            }
            if body == "..." || body.starts_with("DONE") {
                return verbose.then(|| line.to_string());
            }
            // "12.34 text": drop the timestamp, keep cargo's own line.
            let text = match body.split_once(' ') {
                Some((ts, text)) if ts.parse::<f64>().is_ok() => text,
                _ => body,
            };
            if let Some(code) = text.strip_prefix(CARGO_STATUS_MARKER) {
                self.failed_build_code = code.trim().parse().ok();
                return None;
            }
            if let Some(name) = text
                .strip_prefix("test ")
                .and_then(|t| t.strip_suffix(" ... FAILED"))
            {
                self.failed_tests
                    .entry(triple.clone())
                    .or_default()
                    .push(name.to_string());
            }
            return Some(if self.multi {
                format!("[{triple}] {text}")
            } else {
                text.to_string()
            });
        }
        if verbose {
            return Some(line.to_string());
        }
        None
    }
}

/// Run the build. Output is filtered to cargo's own lines (all of it with
/// `verbose`) and kept whole in `log`. Ctrl-C stops the engine and leaves
/// nothing behind in `out_dir`'s parent.
pub fn build(
    engine: &Engine,
    plan: &BuildPlan,
    contexts: &Contexts,
    export: Export,
    log: &Path,
    verbose: bool,
    interrupted: &Arc<AtomicBool>,
) -> Result<BuildOutcome> {
    let args = buildx_args(plan, contexts, export, "plain", &engine.build_opts);
    run_buildx(
        engine,
        &args,
        plan.targets.len() > 1,
        log,
        verbose,
        interrupted,
    )
}

/// The `docker buildx build` arguments that build the user's Dockerfile
/// (`dockerfile`) and load it into the engine.
pub fn custom_image_args(c: &CustomImage, build_opts: &[String]) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "buildx".into(),
        "build".into(),
        "--progress=plain".into(),
        "--file".into(),
        c.file.display().to_string(),
    ];
    for (k, v) in &c.build_args {
        a.push("--build-arg".into());
        a.push(format!("{k}={v}"));
    }
    a.extend(load_args(&c.tag));
    a.extend(build_opts.iter().cloned());
    a.push(c.context.display().to_string());
    a
}

/// Build the user's Dockerfile for one target, on its base stage loaded
/// first as CROSS_BASE_IMAGE.
pub fn build_custom_image(
    engine: &Engine,
    plan: &BuildPlan,
    contexts: &Contexts,
    c: &CustomImage,
    log: &Path,
    verbose: bool,
    interrupted: &Arc<AtomicBool>,
) -> Result<()> {
    build(
        engine,
        plan,
        contexts,
        Export::Load {
            stage: &c.base_stage,
            tag: &c.base_tag,
        },
        log,
        verbose,
        interrupted,
    )?;
    let args = custom_image_args(c, &engine.build_opts);
    let custom_log = log.with_file_name(format!(
        "last-dockerfile-{}.log",
        c.tag.rsplit(':').next().unwrap_or("build")
    ));
    run_buildx(engine, &args, false, &custom_log, verbose, interrupted)?;
    Ok(())
}

/// Run one `docker buildx build`, showing cargo's lines (all of them with
/// `verbose`) and errors, keeping everything in `log`.
fn run_buildx(
    engine: &Engine,
    args: &[String],
    multi: bool,
    log: &Path,
    verbose: bool,
    interrupted: &Arc<AtomicBool>,
) -> Result<BuildOutcome> {
    tracing::debug!(command = %shell_words::join(args), "docker");
    if let Some(parent) = log.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    }
    let mut log_file = fs::File::create(log).map_err(|e| Error::io("create", log, e))?;
    let start = Instant::now();
    let mut attempt = 1;
    loop {
        let _ = writeln!(
            log_file,
            "$ {} {}",
            engine.program.display(),
            shell_words::join(engine.global_args().iter().chain(args))
        );
        let (status, filter) =
            run_buildx_once(engine, args, multi, &mut log_file, verbose, interrupted)?;
        if interrupted.load(Ordering::SeqCst) {
            return Err(Error::Interrupted);
        }
        if status.success() {
            return Ok(BuildOutcome {
                elapsed: start.elapsed(),
                log: log.to_path_buf(),
                cache_problems: filter.cache_problems,
                cached_builds: filter.cached_builds,
                failed_tests: filter.failed_tests,
            });
        }
        // A failing cargo does not fail the build (its status is in the
        // report), so what failed here is the engine's or a setup step's.
        if filter.lost_layer && attempt < LOST_LAYER_ATTEMPTS {
            attempt += 1;
            eprintln!(
                "warning: the engine lost an image layer while unpacking it (a known race in the containerd image store); building once more"
            );
            continue;
        }
        if let Some((image, reason)) = filter.unfetched_image {
            return Err(Error::ImageUnavailable {
                image,
                reason,
                log: log.to_path_buf(),
            });
        }
        if let Some(e) = disk_full(&filter, log) {
            return Err(e);
        }
        return Err(Error::BuildFailed {
            log: log.to_path_buf(),
        });
    }
}

/// How many times a build that lost a layer to the engine is run.
const LOST_LAYER_ATTEMPTS: u32 = 2;

/// Whether an engine error is containerd's lost-parent race.
fn is_lost_layer(error: &str) -> bool {
    error.contains("failed to prepare extraction snapshot")
        || (error.contains("parent snapshot") && error.contains("does not exist"))
}

/// One `docker buildx build`: its progress filtered to the user's terminal
/// and written whole to `log_file`.
fn run_buildx_once(
    engine: &Engine,
    args: &[String],
    multi: bool,
    log_file: &mut fs::File,
    verbose: bool,
    interrupted: &Arc<AtomicBool>,
) -> Result<(std::process::ExitStatus, ProgressFilter)> {
    let mut cmd = engine.cmd();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = child::spawn(&mut cmd).map_err(|e| engine.spawn_error(e))?;
    let watch = child::Watch::new(&child, interrupted);
    let stdout = child.stdout.take().expect("piped");
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut BufReader::new(stdout), &mut buf);
        buf
    });
    let mut filter = ProgressFilter {
        multi,
        ..Default::default()
    };
    let stderr = child.stderr.take().expect("piped");
    let mut err_out = std::io::stderr().lock();
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        let _ = writeln!(log_file, "{line}");
        if let Some(show) = filter.line(&line, verbose) {
            let _ = writeln!(err_out, "{show}");
        }
    }
    drop(err_out);
    let status = child.wait().map_err(|e| engine.spawn_error(e))?;
    drop(watch);
    let stdout = out_thread.join().unwrap_or_default();
    let _ = log_file.write_all(&stdout);
    Ok((status, filter))
}

/// Below this, the disk that receives the artifacts is called full.
const LOW_DISK_BYTES: u64 = 64 << 20;

/// Bytes free for this user on the file system that holds `path`.
fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a statvfs to fill.
    let r = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (r == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

/// A failed build that ran out of disk, said as such: the engine's own
/// (`no space left on device` in its error), or the artifacts' (what
/// buildx reports as `EOF` while exporting, with the target dir's disk
/// nearly full). `log` is in the target dir.
fn disk_full(filter: &ProgressFilter, log: &Path) -> Option<Error> {
    let dir = log.parent().unwrap_or(log);
    let free = free_bytes(dir);
    let artifacts_full = free.is_some_and(|f| f < LOW_DISK_BYTES);
    if !filter.no_space && !artifacts_full {
        return None;
    }
    let message = if artifacts_full {
        format!(
            "the build failed: the disk that holds {} has {} MiB free, too little to receive the artifacts\n  the engine's full output is kept in {}",
            dir.display(),
            free.unwrap_or(0) >> 20,
            log.display()
        )
    } else {
        format!(
            "the build failed: the engine ran out of disk space (no space left on device)\n  the engine's full output is kept in {}",
            log.display()
        )
    };
    Some(Error::Engine {
        message,
        help: "free some space (`cargo clean`, `docker buildx prune`, `docker system df` shows the engine's use) and build again".into(),
    })
}

/// The `docker run` arguments that run `run`'s binary in its runner image:
/// the workspace (and the target dir, when elsewhere) mounted at their own
/// paths, the user's directory as the working directory, stdin passed
/// through, a terminal when there is one, and an init process so that
/// Ctrl-C reaches the program.
pub fn docker_run_args(
    run: &RunPlan,
    image: &RunnerImage,
    mounts: &[&Path],
    user: Option<(u32, u32)>,
    tty: bool,
    container_opts: &[String],
) -> Vec<String> {
    let mut a: Vec<String> = vec!["run".into(), "--rm".into(), "--init".into(), "-i".into()];
    if tty {
        a.push("-t".into());
    }
    if let Some((uid, gid)) = user {
        a.extend(["--user".into(), format!("{uid}:{gid}")]);
    }
    for (k, v) in &run.env {
        a.extend(["--env".into(), format!("{k}={v}")]);
    }
    a.extend(container_opts.iter().cloned());
    let mut seen: Vec<&Path> = Vec::new();
    for m in mounts {
        if seen.iter().any(|s| m.starts_with(s)) {
            continue;
        }
        seen.push(m);
        a.extend(["--volume".into(), format!("{0}:{0}", m.display())]);
    }
    a.extend(["--workdir".into(), run.cwd.display().to_string()]);
    a.push(image.tag.clone());
    a.extend(image.program.iter().cloned());
    a.push(run.binary.display().to_string());
    a.extend(run.args.iter().cloned());
    a
}

/// Run `run`'s binary: on the host when it runs natively, else in its
/// runner image. Returns the program's exit code (128 + the signal when a
/// signal ended it).
pub fn run_binary(
    engine: &Engine,
    run: &RunPlan,
    workspace_root: &Path,
    target_dir: &Path,
) -> Result<i32> {
    use std::io::IsTerminal;
    let status = match &run.image {
        None => Command::new(&run.binary)
            .args(&run.args)
            .envs(&run.env)
            .current_dir(&run.cwd)
            .status()
            .map_err(|e| Error::Spawn {
                program: run.binary.display().to_string(),
                message: e.to_string(),
                help: "the build placed it there; check that it exists and is executable".into(),
            })?,
        Some(image) => {
            let user = engine.container_user.or_else(current_user);
            let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
            let mut mounts = vec![workspace_root, target_dir];
            mounts.extend(run.volumes.iter().map(PathBuf::as_path));
            let args = docker_run_args(run, image, &mounts, user, tty, &engine.container_opts);
            tracing::debug!(?args, "docker run");
            engine
                .cmd()
                .args(&args)
                .status()
                .map_err(|e| engine.spawn_error(e))?
        }
    };
    Ok(exit_code(status))
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(crate::error::EXIT_OWN_ERROR)
}

/// The uid and gid of this process (the owner of /proc/self), so that files
/// the program writes in the workspace belong to the user.
fn current_user() -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata("/proc/self").ok()?;
    Some((m.uid(), m.gid()))
}

/// Install a Ctrl-C handler that records the interrupt instead of dying, so
/// that the engine (which gets the same signal) stops first and temporary
/// output is cleaned up.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let _ = ctrlc::set_handler(move || f.store(true, Ordering::SeqCst));
    flag
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_images_need_the_docker_driver() {
        let docker = "Name:          default\nDriver:        docker\n\nNodes:\nName: default\n";
        assert!(custom_images_blocker_for(docker).is_none());
        let container = "Name:          ci\nDriver:        docker-container\n";
        let why = custom_images_blocker_for(container).unwrap().to_string();
        assert!(
            why.contains("the builder `ci` uses the docker-container driver"),
            "{why}"
        );
        assert!(why.contains("help: "), "{why}");
    }

    #[test]
    fn a_missing_buildx_plugin_is_told_apart_from_a_silent_builder() {
        assert!(buildx_missing(
            "docker: 'buildx' is not a docker command.\nSee 'docker --help'"
        ));
        assert!(!buildx_missing("ERROR: no builder \"nope\" found"));
    }

    #[test]
    fn buildkit_version_is_parsed() {
        let text = "Name:   default\nDriver: docker\nNodes:\nName:      default\nStatus:    running\nBuildKit version: v0.13.2\nPlatforms: linux/amd64\n";
        assert_eq!(parse_buildkit_version(text).as_deref(), Some("v0.13.2"));
        assert_eq!(major_minor("v0.13.2"), Some((0, 13)));
        assert_eq!(major_minor("0.8.2+abc"), Some((0, 8)));
        assert_eq!(parse_buildkit_version("Name: x\n"), None);
        assert_eq!(
            inspect_field("Name: d\nDriver:        docker\n", "driver").as_deref(),
            Some("docker")
        );
        assert_eq!(major_minor("v0.0.0+unknown"), Some((0, 0)));
    }

    #[test]
    fn a_build_out_of_disk_says_so_and_where() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("build.log");
        let mut f = ProgressFilter::default();
        assert!(disk_full(&f, &log).is_none(), "this disk has room");
        f.line(
            "ERROR: failed to solve: write /var/lib/docker/x: no space left on device",
            false,
        );
        let e = disk_full(&f, &log).unwrap().to_string();
        assert!(
            e.contains("ran out of disk space") && e.contains("docker buildx prune"),
            "{e}"
        );
        // A 1 MiB file system, filled: the artifacts' disk.
        let mnt = dir.path().join("small");
        std::fs::create_dir(&mnt).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(&mnt)
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            let e = disk_full(&ProgressFilter::default(), &mnt.join("build.log"));
            let _ = std::process::Command::new("umount").arg(&mnt).status();
            let e = e.expect("a 1 MiB disk is full").to_string();
            assert!(e.contains("MiB free") && e.contains("small"), "{e}");
        }
    }

    #[test]
    fn the_engine_client_s_own_errors_are_shown_before_any_progress() {
        let mut f = ProgressFilter::default();
        assert_eq!(
            f.line("unknown flag: --bogus-flag", false).as_deref(),
            Some("unknown flag: --bogus-flag")
        );
        assert_eq!(f.line("#0 building with \"default\" instance", false), None);
        assert_eq!(f.line("some later chatter", false), None);
    }

    #[test]
    fn progress_filter_shows_cargo_lines_and_finds_its_exit_code() {
        let mut f = ProgressFilter::default();
        assert_eq!(f.line("#5 [sysroot-x 1/3] RUN apt-get update", false), None);
        assert_eq!(
            f.line(
                "#8 [build-aarch64-unknown-linux-gnu 1/2] WORKDIR /src",
                false
            ),
            None
        );
        assert_eq!(f.line("#8 CACHED", false), None);
        assert_eq!(
            f.line(
                "#9 [build-aarch64-unknown-linux-gnu 2/2] RUN cargo build",
                false
            )
            .as_deref(),
            Some("   Building aarch64-unknown-linux-gnu in BuildKit")
        );
        assert_eq!(
            f.line("#9 1.234    Compiling itoa v1.0.0", false)
                .as_deref(),
            Some("   Compiling itoa v1.0.0")
        );
        // A setup step that runs is announced once; its output is not shown.
        assert_eq!(
            f.line("#5 0.5 Get:1 http://example", false).as_deref(),
            Some("   Preparing sysroot-x")
        );
        assert_eq!(f.line("#5 0.7 Get:2 http://example", false), None);
        assert_eq!(
            f.line("#6 [toolchain 2/2] RUN apt-get install", false),
            None
        );
        assert_eq!(f.line("#6 CACHED", false), None);
        // The dependencies stage's cargo lines show; its cache hits do not.
        assert_eq!(
            f.line(
                "#7 [deps-aarch64-unknown-linux-gnu 3/3] RUN cargo build",
                false
            ),
            None
        );
        assert_eq!(
            f.line("#7 2.5    Compiling libc v0.2.1", false).as_deref(),
            Some("   Compiling libc v0.2.1")
        );
        assert_eq!(f.line("#7 CACHED", false), None);
        // Repeated step headers and continuation markers are not repeated.
        assert_eq!(
            f.line(
                "#9 [build-aarch64-unknown-linux-gnu 2/2] RUN cargo build",
                false
            ),
            None
        );
        assert_eq!(f.line("#9 ...", false), None);
        assert_eq!(
            f.line("#9 3.5 green-cross: cargo exited with status 101", false),
            None
        );
        let e = "#9 ERROR: process \"/bin/sh -c cargo build\" did not complete successfully: exit code: 101";
        assert!(f.line(e, false).is_some());
        assert_eq!(f.failed_build_code, Some(101));
        assert!(!f.failed_other);
    }

    #[test]
    fn cache_errors_become_warnings_not_failures() {
        let mut f = ProgressFilter::default();
        let lines = [
            "#5 importing cache manifest from 127.0.0.1:5000/c:a-main",
            "#5 ERROR: failed to configure registry cache importer: 127.0.0.1:5000/c:a-main: not found",
            "#6 importing cache manifest from 127.0.0.1:5999/c:a-main",
            "#6 ERROR: failed to configure registry cache importer: failed to do request: connection refused",
            "#9 exporting cache to registry",
            "#9 preparing build cache for export",
            "#9 ERROR: error writing layer blob: connection refused",
        ];
        for l in lines {
            assert_eq!(f.line(l, false), None, "{l}");
        }
        assert!(!f.failed_other);
        assert_eq!(
            f.cache_problems,
            [
                "the build cache could not be read from 127.0.0.1:5999/c:a-main: failed to configure registry cache importer: failed to do request: connection refused",
                "exporting cache to registry failed, so this build's layers were not shared: error writing layer blob: connection refused"
            ]
        );
    }

    #[test]
    fn failure_outside_the_build_step_has_no_cargo_code() {
        let mut f = ProgressFilter::default();
        f.line("#5 [sysroot-x 1/3] RUN apt-get update", false);
        f.line("#5 ERROR: process \"/bin/sh -c apt-get update\" did not complete successfully: exit code: 100", false);
        assert_eq!(f.failed_build_code, None);
        assert!(f.failed_other);
        // A step after cargo failing in the build stage is not cargo's failure.
        f.line("#9 [build-x 2/2] RUN cargo build", false);
        f.line("#9 4.0 find: missing argument to `-exec'", false);
        f.line("#9 ERROR: process \"/bin/sh -c cargo build\" did not complete successfully: exit code: 1", false);
        assert_eq!(f.failed_build_code, None);
    }

    #[test]
    fn an_image_the_engine_cannot_fetch_is_named() {
        let mut f = ProgressFilter::default();
        f.line(
            "#2 [internal] load metadata for docker.io/library/rust:1.99.1-slim-bookworm",
            false,
        );
        f.line(
            "#3 [internal] load metadata for docker.io/tonistiigi/xx:1.6.1@sha256:9234",
            false,
        );
        f.line("#2 ERROR: failed to do request: Head: no such host", false);
        f.line(
            "#3 ERROR: failed to do request: Head: no such host (second)",
            false,
        );
        assert_eq!(
            f.unfetched_image,
            Some((
                "docker.io/library/rust:1.99.1-slim-bookworm".into(),
                "failed to do request: Head: no such host".into()
            ))
        );
        // A layer pulled for a stage's FROM; the digest is left out.
        let mut f = ProgressFilter::default();
        f.line(
            "#7 [xx 1/1] FROM docker.io/tonistiigi/xx:1.6.1@sha256:9234",
            false,
        );
        f.line(
            "#7 ERROR: failed to copy: httpReadSeeker: failed open: unexpected status code 502",
            false,
        );
        assert_eq!(
            f.unfetched_image.unwrap().0,
            "docker.io/tonistiigi/xx:1.6.1"
        );
        // Failing steps are not images.
        let mut f = ProgressFilter::default();
        f.line("#5 [sysroot-x 1/3] RUN apt-get update", false);
        f.line(
            "#5 ERROR: process did not complete successfully: exit code: 100",
            false,
        );
        assert_eq!(f.unfetched_image, None);
    }

    #[test]
    fn a_layer_lost_by_the_engine_is_told_apart_from_other_failures() {
        // As the docker engine 26 printed it for a runner image's FROM.
        let mut f = ProgressFilter::default();
        f.line(
            "#13 [runner-aarch64-unknown-linux-gnu 1/3] FROM docker.io/green-cross/debian:bookworm",
            false,
        );
        let lost = "ERROR: failed to prepare extraction snapshot \"extract-524663876-KuZx sha256:730e\": parent snapshot sha256:7a81 does not exist: not found";
        assert_eq!(
            f.line(&format!("#13 {lost}"), false).as_deref(),
            Some(&*format!("#13 {lost}"))
        );
        assert!(f.lost_layer && f.failed_build_code.is_none());
        let mut f = ProgressFilter::default();
        f.line("ERROR: failed to solve: failed to prepare extraction snapshot \"extract-524663876-KuZx sha256:730e\": parent snapshot sha256:7a81 does not exist: not found", false);
        assert!(f.lost_layer, "the final line alone tells it too");
        // Any other failure is not retried.
        let mut f = ProgressFilter::default();
        f.line("#5 [sysroot-x 1/3] RUN apt-get update", false);
        f.line("#5 ERROR: process \"/bin/sh -c apt-get update\" did not complete successfully: exit code: 100", false);
        f.line("ERROR: failed to solve: process \"/bin/sh -c apt-get update\" did not complete successfully: exit code: 100", false);
        assert!(!f.lost_layer);
    }

    #[test]
    fn docker_run_mounts_the_workspace_at_its_path_and_passes_arguments() {
        let image = RunnerImage {
            stage: "runner-t".into(),
            tag: "green-cross-runner:t-0".into(),
            program: vec!["qemu-aarch64-static".into()],
            runner: crate::plan::RunnerPlan {
                kind: crate::target::Runner::QemuUser,
                install: None,
                files: vec![],
                setup: vec![],
                env: Default::default(),
            },
        };
        let run = RunPlan {
            triple: "t".into(),
            binary: "/w/target/t/debug/app".into(),
            args: vec!["a b".into(), "-x".into()],
            cwd: "/w/sub".into(),
            env: [("RUST_LOG".to_string(), "debug".to_string())].into(),
            volumes: vec![],
            image: Some(image.clone()),
        };
        let a = docker_run_args(
            &run,
            &image,
            &[Path::new("/w"), Path::new("/w/target")],
            Some((1000, 1000)),
            false,
            &["--cpus=1".to_string()],
        );
        assert_eq!(
            a.join(" "),
            "run --rm --init -i --user 1000:1000 --env RUST_LOG=debug --cpus=1 --volume /w:/w --workdir /w/sub green-cross-runner:t-0 qemu-aarch64-static /w/target/t/debug/app a b -x"
        );
        let a = docker_run_args(
            &run,
            &image,
            &[Path::new("/w"), Path::new("/t")],
            None,
            true,
            &[],
        );
        assert!(
            a.join(" ").starts_with(
                "run --rm --init -i -t --env RUST_LOG=debug --volume /w:/w --volume /t:/t "
            ),
            "{a:?}"
        );
    }

    #[test]
    fn paths_in_buildx_options_are_quoted_as_csv_when_they_need_it() {
        assert_eq!(csv_field("dest", "/w/app/target"), "dest=/w/app/target");
        assert_eq!(csv_field("dest", "/w/a b/t"), "dest=/w/a b/t");
        assert_eq!(csv_field("src", "/w/a,b/ca"), "\"src=/w/a,b/ca\"");
        assert_eq!(
            csv_field("src", "/w/a\"b,type=x/ca"),
            "\"src=/w/a\"\"b,type=x/ca\""
        );
    }

    #[test]
    fn loaded_images_carry_green_cross_s_label_with_their_repository() {
        assert_eq!(
            load_args("green-cross-runner:t-0").join(" "),
            "--load --tag green-cross-runner:t-0 --label dev.green-cross.image=green-cross-runner"
        );
        let c = CustomImage {
            base_stage: "sysroot-t".into(),
            base_tag: "green-cross-base:t-0".into(),
            file: "Dockerfile.t".into(),
            context: "/w".into(),
            build_args: BTreeMap::new(),
            tag: "green-cross-custom:t-0".into(),
        };
        let args = custom_image_args(&c, &[]).join(" ");
        assert!(
            args.ends_with(
                "--load --tag green-cross-custom:t-0 --label dev.green-cross.image=green-cross-custom /w"
            ),
            "{args}"
        );
    }

    #[test]
    fn podman_is_refused_clearly() {
        let env: Env = [("CROSS_CONTAINER_ENGINE".to_string(), "podman".to_string())].into();
        let err = Engine::detect(&env).unwrap_err().to_string();
        assert!(err.contains("podman is not supported yet"), "{err}");
    }
}
