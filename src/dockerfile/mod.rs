//! Rendering a [`BuildPlan`] into Dockerfile text: a pure function, byte
//! for byte the same for the same plan. Package lists and environment are
//! sorted by the planner; this module only lays them out.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use crate::config::ToolchainMode;
use crate::plan::{
    BuildPlan, CA_SECRET_ID, CARGO_STATUS_MARKER, DEPS_DIR, DEPS_ID, FRESH_ARG, MACOS_SDK_CONTEXT,
    MACOS_SDK_MOUNT, Outputs, PackageInstall, PreBuildPlan, REPORT_DIR, RunnerPlan,
    SKELETON_CONTEXT, SRC_DIR, Stage, TARGET_DIR, TargetPlan, ToolchainStage, outside_context,
    secret_id,
};
use crate::target::{ImageFlavour, StdSource};

mod install;
use install::install_and_setup;
mod zig;

const CA: &str = "/run/secrets/green-cross-ca";
/// rustup and apk trust the CA bundle, when one was handed in, through
/// OpenSSL's and rustls-native-certs' SSL_CERT_FILE.
const SSL_CA: &str = "if [ -f /run/secrets/green-cross-ca ]; then export SSL_CERT_FILE=/run/secrets/green-cross-ca; fi;";
/// The fetch's second `--target`: the triple of the machine the build runs
/// on, as its rustc says (cargo takes `--target` more than once).
const FETCH_HOST: &str = "--target \"$(rustc -vV | sed -n 's/^host: //p')\"";
/// Where the build step leaves its outputs for the artifacts stage. Not a
/// directory of its own at the root: to copy a directory out of a new layer,
/// BuildKit checksums everything in the directory's parent, and for `/out`
/// that is the whole toolchain (about 2 s on every build).
const OUT_DIR: &str = "/out/files";
/// Mirrors that are mid-sync serve index files of the wrong size for a
/// while: retry the update once more after a pause.
const APT_UPDATE: &str = "{ apt-get $apt_ca -o Acquire::Retries=3 update -qq || { sleep 5 && apt-get $apt_ca -o Acquire::Retries=3 update -qq; }; }";

fn q(s: &str) -> String {
    shell_words::quote(s).into_owned()
}

fn join_q(items: &[String]) -> String {
    items.iter().map(|s| q(s)).collect::<Vec<_>>().join(" ")
}

/// A value for an ENV or WORKDIR instruction, double-quoted when it needs
/// to be.
fn env_value(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:,+=@".contains(c))
    {
        return v.to_string();
    }
    let mut out = String::from("\"");
    for c in v.chars() {
        if matches!(c, '"' | '\\' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Lines joined into one RUN with ` \` continuations.
fn run(out: &mut String, mounts: &[String], commands: &[String]) {
    out.push_str("RUN");
    for m in mounts {
        let _ = write!(out, " {m} \\\n   ");
    }
    for (i, c) in commands.iter().enumerate() {
        if i == 0 {
            let _ = write!(out, " {c}");
        } else {
            let _ = write!(out, " \\\n && {c}");
        }
    }
    out.push('\n');
}

/// One RUN of `command` (rustup, apk) that trusts the CA secret through
/// SSL_CERT_FILE when one was handed in.
fn run_with_ca(out: &mut String, command: &str) {
    run_online(out, &[], &[format!("{SSL_CA} {command}")]);
}

/// One RUN that downloads: the CA and proxy secrets mounted (each there
/// only when handed in), the proxies read first.
pub(super) fn run_online(out: &mut String, mounts: &[String], cmds: &[String]) {
    let mut all = mounts.to_vec();
    all.push(format!("--mount=type=secret,id={CA_SECRET_ID}"));
    all.push(format!(
        "--mount=type=secret,id={}",
        crate::proxy::SECRET_ID
    ));
    let mut commands = vec![crate::proxy::source_command()];
    commands.extend(cmds.iter().cloned());
    run(out, &all, &commands);
}

fn apt_install(packages: &[String]) -> String {
    format!(
        "apt-get $apt_ca -o Acquire::Retries=3 install -y -qq --no-install-recommends {}",
        join_q(packages)
    )
}

/// apt-get with the CA bundle when one was handed in.
fn apt_ca_prefix() -> String {
    format!(
        "if [ -f {CA} ]; then apt_ca=\"-o Acquire::https::CAInfo={CA}\"; else apt_ca=; fi; true"
    )
}

fn env_block(out: &mut String, env: &std::collections::BTreeMap<String, String>) {
    if env.is_empty() {
        return;
    }
    out.push_str("ENV");
    let n = env.len();
    for (i, (k, v)) in env.iter().enumerate() {
        let _ = write!(out, " {k}={}", env_value(v));
        if i + 1 < n {
            out.push_str(" \\\n   ");
        }
    }
    out.push('\n');
}

fn toolchain_stage(out: &mut String, plan: &BuildPlan, t: &ToolchainStage) {
    if let Some(r) = &t.rust_from {
        let _ = writeln!(
            out,
            "FROM --platform=$BUILDPLATFORM {} AS {}\n",
            r.image, r.stage
        );
    }
    let _ = writeln!(
        out,
        "FROM --platform=$BUILDPLATFORM {} AS {}",
        t.image, t.name
    );
    if let Some(r) = &t.rust_from {
        // The official image's Rust, where it has it, in a user's image.
        for dir in ["/usr/local/rustup", "/usr/local/cargo"] {
            let _ = writeln!(out, "COPY --from={} {dir} {dir}", r.stage);
        }
        // The image's own PATH, after cargo's (cross's images put their
        // C toolchains on it).
        out.push_str(
            "ENV CARGO_HOME=/usr/local/cargo RUSTUP_HOME=/usr/local/rustup PATH=/usr/local/cargo/bin:$PATH\n",
        );
        if let Some(v) = &r.version {
            let _ = writeln!(out, "ENV RUST_VERSION={}", env_value(v));
        }
    }
    if t.xx {
        let _ = writeln!(out, "COPY --from={} / /", Stage::Xx);
    }
    match (plan.mode, t.flavour) {
        (ToolchainMode::Distro, _) | (ToolchainMode::Rustup, ImageFlavour::Debian) => {
            let mut env = std::collections::BTreeMap::new();
            if plan.mode == ToolchainMode::Distro {
                env.insert("CARGO_HOME".to_string(), "/usr/local/cargo".to_string());
            }
            env.insert("DEBIAN_FRONTEND".to_string(), "noninteractive".to_string());
            env_block(out, &env);
            run_online(
                out,
                &[],
                &[apt_ca_prefix(), APT_UPDATE.into(), apt_install(&t.packages)],
            );
        }
        (ToolchainMode::Rustup, ImageFlavour::Alpine) => {
            run_with_ca(out, &format!("apk add --no-cache {}", join_q(&t.packages)));
        }
    }
    if !t.rustup_components.is_empty() {
        let components = join_q(&t.rustup_components);
        match &t.rustup_install {
            // The image's own toolchain, by the version it was made with.
            // A copied toolchain of a partial version (`+1.80`) stays the
            // default of the rustup it came with, unpinned.
            None if t.rust_from.as_ref().is_some_and(|r| r.version.is_none()) => {
                run_with_ca(out, &format!("rustup component add {components}"));
            }
            None => {
                out.push_str("ENV RUSTUP_TOOLCHAIN=${RUST_VERSION}\n");
                run_with_ca(out, &format!("rustup component add {components}"));
            }
            // A nightly or beta: the dated toolchain the host has, pinned
            // once installed.
            Some(name) => {
                run_with_ca(
                    out,
                    &format!(
                        "rustup toolchain install {} --profile minimal --component {components}",
                        q(name)
                    ),
                );
                let _ = writeln!(out, "ENV RUSTUP_TOOLCHAIN={name}");
            }
        }
    }
    out.push('\n');
}

/// One RUN that writes files (absolute path, contents) with quoted
/// heredocs: nothing in them is expanded.
fn write_files(out: &mut String, files: &[(String, String)]) {
    if files.is_empty() {
        return;
    }
    let dirs: BTreeSet<&str> = files
        .iter()
        .filter_map(|(p, _)| p.rsplit_once('/').map(|(d, _)| d))
        .collect();
    let all: Vec<&str> = files.iter().map(|(_, c)| c.as_str()).collect();
    let end = delimiter("GREEN_CROSS_EOF", &all);
    let file_end = delimiter("GREEN_CROSS_FILE", &all);
    let _ = write!(out, "RUN <<'{end}'\nset -e\n");
    let _ = writeln!(
        out,
        "mkdir -p {}",
        dirs.into_iter().map(q).collect::<Vec<_>>().join(" ")
    );
    for (path, contents) in files {
        let _ = write!(out, "cat > {} <<'{file_end}'\n{contents}", q(path));
        if !contents.ends_with('\n') {
            out.push('\n');
        }
        let _ = writeln!(out, "{file_end}");
    }
    let _ = writeln!(out, "{end}");
}

/// COPY heredocs that write files into a stage.
fn copy_files(out: &mut String, files: &[(String, String)]) {
    for (path, contents) in files {
        let end = delimiter("GREEN_CROSS_EOF", &[contents]);
        let _ = write!(out, "COPY <<'{end}' {path}\n{contents}");
        if !contents.ends_with('\n') {
            out.push('\n');
        }
        let _ = writeln!(out, "{end}");
    }
}

/// A target's stages: sysroot, dependencies, the runner when the build
/// step runs binaries, build, and artifacts.
fn target_stages(out: &mut String, plan: &BuildPlan, t: &TargetPlan) {
    let triple = &t.triple;
    let _ = writeln!(out, "# ---- {triple} ({})", t.platform);
    sysroot_stage(out, plan, t);
    deps_stage(out, plan, t);
    // runner (test): qemu-user or wine, for the build step to run binaries,
    // on the dependencies stage.
    if let Some(r) = &t.runner {
        let runner = Stage::Runner(triple.clone());
        runner_stage(out, &Stage::Deps(triple.clone()), &runner, r);
    }
    build_stage(out, plan, t);
    artifacts_stage(out, triple);
}

/// sysroot: linker, C toolchain, target packages, std.
fn sysroot_stage(out: &mut String, plan: &BuildPlan, t: &TargetPlan) {
    let triple = &t.triple;
    let _ = writeln!(out, "FROM {} AS {}", t.from, Stage::Sysroot(triple.clone()));
    if let Some(zt) = &t.zig {
        zig::wrappers(out, zt, triple);
    }
    install_and_setup(out, t.install.as_ref(), &t.setup);
    write_files(out, &t.sysroot_files);
    if t.std == StdSource::Rustup {
        run_with_ca(out, &format!("rustup target add {triple}"));
    }
    if t.std == StdSource::BuildStd && plan.mode == ToolchainMode::Rustup {
        run_with_ca(out, "rustup component add rust-src");
    }
    env_block(out, &t.sysroot_env);
    if t.zig.is_some() {
        zig::warm_up(out, triple);
    }
    if let Some(p) = &t.pre_build {
        pre_build(out, triple, p);
    }
    out.push('\n');
}

/// deps: fetched from the skeleton with network, then compiled without,
/// into this layer, so that a registry cache carries them. The fetch
/// names the build machine's own triple too: build scripts and proc
/// macros compile for it, and their dependencies (`libc` under
/// `cfg(unix)` for a Windows target, ...) are not the target's.
fn deps_stage(out: &mut String, plan: &BuildPlan, t: &TargetPlan) {
    let triple = &t.triple;
    let (sysroot, deps) = (Stage::Sysroot(triple.clone()), Stage::Deps(triple.clone()));
    let _ = writeln!(out, "FROM {sysroot} AS {deps}");
    let _ = writeln!(out, "WORKDIR {}", env_value(&t.deps_workdir));
    let skeleton = format!("--mount=type=bind,from={SKELETON_CONTEXT},target={SRC_DIR},rw");
    let mut fetch_mounts = vec![skeleton.clone()];
    fetch_mounts.extend(private_mounts(plan));
    run_online(
        out,
        &fetch_mounts,
        &[format!(
            "if [ -f {CA} ]; then export CARGO_HTTP_CAINFO={CA}; fi; {} {FETCH_HOST}",
            join_q(&t.fetch)
        )],
    );
    // A dependency that does not build from the skeleton is left to the
    // build step, which reports it with the real sources.
    let mut mounts = vec!["--network=none".to_string(), skeleton];
    mounts.extend(private_mounts(plan));
    mounts.extend(macos_sdk_mount(t));
    // No env.secrets here: this layer is exported to the cache, and a
    // dependency that embeds a secret would carry it there. One that reads
    // a secret is rebuilt by the build step, which cargo tells it changed.
    run(
        out,
        &mounts,
        &[
            format!(
                "{}; {{ {} || echo \"green-cross: some dependencies did not build from the skeleton; the build step builds them\" >&2; }}",
                cargo_env(t),
                join_q(&t.deps_build)
            ),
            format!("{{ {} || rm -rf {DEPS_DIR}; }}", join_q(&t.deps_clean)),
            format!("cat /proc/sys/kernel/random/uuid > {DEPS_ID}"),
        ],
    );
    out.push('\n');
}

/// The private dependencies the host fetched, read-only, and the cargo
/// configuration that points at them where cargo reads configuration
/// last (the file system root's `.cargo`), below the workspace's own.
fn private_mounts(plan: &BuildPlan) -> Vec<String> {
    use crate::vendor::{CONFIG, CONTEXT, MOUNT};
    match &plan.private {
        None => vec![],
        Some(_) => vec![
            format!("--mount=type=bind,from={CONTEXT},target={MOUNT}"),
            format!("--mount=type=bind,from={CONTEXT},source={CONFIG},target=/.cargo/config.toml"),
        ],
    }
}

/// build: no network, sources read from the context, target dir cached;
/// on top of the stage the plan names, the dependencies stage or the
/// runner on it.
fn build_stage(out: &mut String, plan: &BuildPlan, t: &TargetPlan) {
    let build = Stage::Build(t.triple.clone());
    let _ = writeln!(out, "FROM {} AS {build}", t.build_from);
    if t.fresh {
        // A new value per invocation: tests always run, never from cache.
        let _ = writeln!(out, "ARG {FRESH_ARG}");
    }
    let _ = writeln!(out, "WORKDIR {}", env_value(&t.workdir));
    let mut cmds = vec![build_command(t)];
    cmds.extend(output_commands(plan, t));
    run(out, &build_mounts(plan, t), &cmds);
    out.push('\n');
}

/// The build step's cargo: the dependencies of the layer below copied into
/// the cached target dir once, then cargo with its environment.
fn build_command(t: &TargetPlan) -> String {
    let triple = &t.triple;
    let ids = format!("{TARGET_DIR}/.green-cross-deps-ids");
    let mut first = private_clean(t);
    let _ = write!(
        first,
        "if [ -d {DEPS_DIR} ] && ! grep -qxF \"$(cat {DEPS_ID})\" {ids} 2>/dev/null; then cp -a {DEPS_DIR}/. {TARGET_DIR}/ && cat {DEPS_ID} >> {ids} || echo \"green-cross: compiled dependencies were not copied; cargo builds them\" >&2; fi; "
    );
    first.push_str(&cargo_env(t));
    first.push_str(&secret_env(t));
    // cargo's exit status goes to the report, and is announced with a
    // marker; the step itself succeeds, so that the other targets' builds
    // go on and their artifacts are exported.
    let report = format!("{OUT_DIR}/{REPORT_DIR}/{triple}");
    let _ = write!(first, "; mkdir -p {report}; {}", join_q(&t.cargo));
    if t.json_messages {
        let _ = write!(first, " > {report}/messages");
    }
    let _ = write!(
        first,
        "; status=$?; echo $status > {report}/status; if [ $status -ne 0 ]; then echo \"{CARGO_STATUS_MARKER}$status\" >&2; fi"
    );
    first
}

/// The build step's commands after cargo: its outputs, when it succeeded,
/// copied where the artifacts stage takes them from.
fn output_commands(plan: &BuildPlan, t: &TargetPlan) -> Vec<String> {
    let triple = &t.triple;
    let out_dir = format!("{OUT_DIR}/{triple}");
    match t.outputs {
        Outputs::ProfileDir => {
            let dir = format!("{TARGET_DIR}/{triple}/{}", plan.profile_dir);
            let dest = format!("{out_dir}/{}", plan.profile_dir);
            vec![
                format!("mkdir -p {dest}"),
                format!(
                    "if [ $status -eq 0 ] && [ -d {dir} ]; then find {dir} -maxdepth 1 -type f ! -name '*.d' ! -name '.*' -exec sh -c 'cp -p \"$@\" {dest}/' sh {{}} +; fi"
                ),
            ]
        }
        Outputs::Doc => vec![
            format!("mkdir -p {out_dir}"),
            format!(
                "if [ $status -eq 0 ] && [ -d {TARGET_DIR}/{triple}/doc ]; then cp -pR {TARGET_DIR}/{triple}/doc {out_dir}/doc; fi"
            ),
        ],
        Outputs::Nothing => vec![format!("mkdir -p {out_dir}")],
    }
}

/// The build step's mounts: no network, the sources, the cached target
/// dir, path dependencies outside the workspace, the macOS SDK, secrets
/// and volumes.
fn build_mounts(plan: &BuildPlan, t: &TargetPlan) -> Vec<String> {
    let mut mounts = vec![
        "--network=none".into(),
        format!(
            "--mount=type=bind,target={},rw",
            q(Path::new(SRC_DIR)
                .join(&plan.workspace_prefix)
                .to_string_lossy()
                .trim_end_matches('/'))
        ),
        format!(
            "--mount=type=cache,target={TARGET_DIR},id={},sharing=locked",
            t.cache_id
        ),
    ];
    // Path dependencies outside the workspace, at their relative place.
    for (i, o) in plan.outside.iter().enumerate() {
        mounts.push(format!(
            "--mount=type=bind,from={},target={},rw",
            outside_context(i),
            q(&Path::new(SRC_DIR).join(&o.rel).to_string_lossy())
        ));
    }
    mounts.extend(private_mounts(plan));
    mounts.extend(macos_sdk_mount(t));
    mounts.extend(env_secret_mounts(t));
    for v in &t.volumes {
        // Writes land in the build's copy, never on the host.
        mounts.push(format!(
            "--mount=type=bind,from={},target={},rw",
            v.context,
            q(&v.path.to_string_lossy())
        ));
    }
    mounts
}

/// artifacts: the build step's outputs alone, for `docker buildx build
/// --target artifacts-<triple>` by hand.
fn artifacts_stage(out: &mut String, triple: &str) {
    let _ = writeln!(out, "FROM scratch AS {}", Stage::Artifacts(triple.into()));
    let build = Stage::Build(triple.into());
    let _ = writeln!(out, "COPY --from={build} {OUT_DIR}/ /\n");
}

/// The user's macOS SDK, when one was handed in, for the steps that run
/// cargo.
fn macos_sdk_mount(t: &TargetPlan) -> Option<String> {
    t.macos_sdk
        .as_ref()
        .map(|_| format!("--mount=type=bind,from={MACOS_SDK_CONTEXT},target={MACOS_SDK_MOUNT}"))
}

/// Before the build step's cargo: the private packages' compiled output
/// removed from the cached target directory when the vendored packages
/// are not the ones it was built from (their id recorded only once the
/// clean succeeded). Empty without private packages.
fn private_clean(t: &TargetPlan) -> String {
    if t.private_clean.is_empty() {
        return String::new();
    }
    let (id, seen) = (
        format!("{}/{}", crate::vendor::MOUNT, crate::vendor::ID),
        format!("{TARGET_DIR}/.green-cross-private-id"),
    );
    format!(
        "if ! cmp -s {id} {seen}; then {{ {} && cp {id} {seen}; }} || echo \"green-cross: the private packages' earlier output was not removed\" >&2; fi; ",
        join_q(&t.private_clean)
    )
}

/// The environment cargo runs with, in the dependencies stage and in the
/// build step alike (the same flags give the same fingerprints), secrets
/// aside.
fn cargo_env(t: &TargetPlan) -> String {
    let mut s = String::from("export CARGO_NET_OFFLINE=true");
    for (k, v) in &t.build_env {
        let _ = write!(s, " {k}={}", q(v));
    }
    s
}

/// `env.secrets` for the build step: read from their secret mounts,
/// never written here.
fn secret_env(t: &TargetPlan) -> String {
    let mut s = String::new();
    for name in &t.secrets {
        let _ = write!(s, " {name}=\"$(cat /run/secrets/{})\"", secret_id(name));
    }
    s
}

/// The secret mounts of `env.secrets`, for the steps that run cargo.
fn env_secret_mounts(t: &TargetPlan) -> Vec<String> {
    t.secrets
        .iter()
        .map(|n| format!("--mount=type=secret,id={}", secret_id(n)))
        .collect()
}

/// A runner stage, `name`: qemu-user or wine on top of `from`.
fn runner_stage(out: &mut String, from: &Stage, name: &Stage, r: &RunnerPlan) {
    let _ = writeln!(out, "FROM {from} AS {name}");
    copy_files(out, &r.files);
    install_and_setup(out, r.install.as_ref(), &r.setup);
    env_block(out, &r.env);
    out.push('\n');
}

/// apt's configuration file that points it at the CA secret, for steps
/// whose apt-get runs are not ours to give `-o` options (xx-apt-get,
/// pre-build); removed at the end of the step.
const APT_CA_CONF: &str = "/etc/apt/apt.conf.d/99green-cross-ca";

fn apt_ca_conf() -> String {
    format!(
        "if [ -f {CA} ]; then printf 'Acquire::https::CAInfo \"%s\";\\n' {CA} > {APT_CA_CONF}; fi"
    )
}

/// `pre-build`: the user's commands (or script) at the end of the sysroot
/// stage, with network, CROSS_TARGET and CROSS_DEB_ARCH exported, and apt
/// pointed at the CA secret for the length of the step only. The commands
/// reach the stage as a file (a quoted heredoc), run by `sh -e` in order,
/// so that a line break in them is part of the script and never a new
/// instruction.
fn pre_build(out: &mut String, triple: &str, p: &PreBuildPlan) {
    let script = "/green-cross/pre-build";
    let commands = "/green-cross/pre-build-commands";
    if let Some(path) = &p.script {
        let _ = writeln!(
            out,
            "COPY --chmod=755 [{}, \"{script}\"]",
            serde_json::to_string(path).expect("a string serialises")
        );
    }
    let mut body = Vec::new();
    if !p.commands.is_empty() {
        // One script of all the lines, run as cross runs it (`eval`, no
        // `-e`): a construct may span lines, and the script's status is
        // its last command's.
        copy_files(out, &[(commands.to_string(), p.commands.join("\n"))]);
        body.push(format!("sh {commands}"));
    }
    let mut first = format!("{}; export", apt_ca_conf());
    for (k, v) in &p.env {
        let _ = write!(first, " {k}={}", q(v));
    }
    if p.script.is_some() {
        body.push(format!("{script} {}", q(triple)));
    }
    let _ = write!(
        first,
        "; {{ {}; }}; status=$?; rm -f {APT_CA_CONF}; exit $status",
        body.join(" && ")
    );
    run_online(out, &[], &[first]);
}

/// A heredoc delimiter that no line of `contents` equals: `base`, or
/// `base` with a number.
fn delimiter(base: &str, contents: &[&str]) -> String {
    let taken = |d: &str| contents.iter().any(|c| c.lines().any(|l| l == d));
    let mut d = base.to_string();
    let mut n = 1;
    while taken(&d) {
        d = format!("{base}_{n}");
        n += 1;
    }
    d
}

/// The Dockerfile for a plan.
pub fn render(plan: &BuildPlan) -> String {
    let mut out = String::new();
    out.push_str("# Generated by green-cross; `green-cross dockerfile` prints it.\n");
    let per_target = [Stage::Sysroot, Stage::Deps, Stage::Build, Stage::Artifacts]
        .map(|stage| stage("<triple>".into()).to_string())
        .join(" -> ");
    let _ = writeln!(
        out,
        "# toolchain mode: {}. Per target: {per_target}.\n",
        plan.mode.as_str()
    );
    if let Some(xx) = &plan.xx_image {
        let _ = writeln!(
            out,
            "FROM --platform=$BUILDPLATFORM {xx} AS {}\n",
            Stage::Xx
        );
    }
    for t in &plan.toolchains {
        toolchain_stage(&mut out, plan, t);
    }
    if let Some(v) = &plan.zig_version {
        for z in &plan.zig_stages {
            zig::zig_stage(&mut out, v, z);
        }
    }
    for t in &plan.targets {
        target_stages(&mut out, plan, t);
    }
    if let Some(image) = plan.run.as_ref().and_then(|r| r.image.as_ref()) {
        // `run`: the image the binary runs in, loaded into the engine. The
        // binary comes from the target dir, so the image needs the
        // target's libraries and not its compiled dependencies: on the
        // sysroot, it stays the same image when dependencies change.
        let sysroot = Stage::Sysroot(plan.targets[0].triple.clone());
        runner_stage(&mut out, &sysroot, &image.stage, &image.runner);
    }
    // Straight from each build step, not through artifacts-<triple> (kept
    // for `docker buildx build --target artifacts-<triple>` by hand): every
    // COPY of a large debug binary costs a fraction of a second.
    let _ = writeln!(out, "FROM scratch AS {}", Stage::Out);
    for t in &plan.targets {
        let build = Stage::Build(t.triple.clone());
        let _ = writeln!(out, "COPY --from={build} {OUT_DIR}/ /");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_quoted_only_when_needed() {
        assert_eq!(env_value("aarch64-linux-gnu-gcc"), "aarch64-linux-gnu-gcc");
        assert_eq!(env_value("-C a b"), "\"-C a b\"");
        assert_eq!(env_value("$x\"y"), "\"\\$x\\\"y\"");
        assert_eq!(env_value(""), "\"\"");
    }
}
