//! One target's plan: its sysroot, build step and commands, from the
//! phases before it.

use super::*;
use crate::config::TargetSettings;

/// What every target's plan reads: the input, the toolchain phase, and
/// the facts of the invocation computed once.
pub(super) struct PlanContext<'a> {
    pub input: &'a PlanInput<'a>,
    pub tc: &'a ToolchainPhase,
    pub specs: &'a BTreeMap<String, PathBuf>,
    pub automatic: &'a [(String, String)],
    pub ws_hash: u64,
    pub runs_binaries: bool,
    pub is_run: bool,
    pub outputs: Outputs,
    pub workdir: String,
    pub deps_workdir: String,
    pub profile_dir: String,
}

/// The plan of one target, and the run plan when the invocation is `run`.
/// The target's steps that the user writes: its own Dockerfile's image
/// (on `plain_base`) and its pre-build commands (on `from`), both with
/// CROSS_DEB_ARCH as cross sets it.
fn user_steps(
    cx: &PlanContext,
    r: &Recipe,
    ts: &TargetSettings,
    plain_base: Stage,
    from: &Stage,
    warnings: &mut Vec<String>,
) -> (Option<CustomImage>, Option<PreBuildPlan>) {
    let m = r.mode(cx.input.settings.toolchain);
    let cross_deb_arch = r.cross_deb_arch.clone().or_else(|| m.deb_arch.clone());
    let root = &cx.input.workspace.root;
    let custom = ts.dockerfile.as_ref().map(|d| {
        custom_image(
            d,
            r,
            plain_base,
            root,
            cx.ws_hash,
            cross_deb_arch.as_deref(),
        )
    });
    let pre_build = pre_build_plan(
        r,
        ts.pre_build.as_ref(),
        cross_deb_arch.as_deref(),
        from,
        warnings,
    );
    (custom, pre_build)
}

pub(super) fn target_plan(
    cx: &PlanContext,
    r: &Recipe,
    zig_stages: &mut Vec<ZigStage>,
    warnings: &mut Vec<String>,
) -> Result<(TargetPlan, Option<RunPlan>)> {
    let input = cx.input;
    let (inv, settings) = (input.invocation, input.settings);
    let mode = settings.toolchain;
    let (ws_hash, specs) = (cx.ws_hash, cx.specs);
    let (runs_binaries, outputs) = (cx.runs_binaries, cx.outputs);
    let (workdir, deps_workdir) = (&cx.workdir, &cx.deps_workdir);
    let m = r.mode(mode);
    let zig = cx.tc.zig_of(r);
    let ts = cx.tc.settings_of(r);
    ts.check(&r.triple)?;
    let recipe_std = m.std.expect("validated recipe");
    let (std, build_std_flag) = std_choice(r, recipe_std, ts.build_std.as_ref(), warnings);
    let runner_choice = runner_choice(r, ts.runner.as_deref(), &input.host.triple)?;
    let flavour = cx.tc.flavour_of(r);
    // zig turned on for a musl target whose recipe links without it
    // (rustup mode's Alpine stage): zig brings musl, as in distro mode.
    let zig_musl = zig.is_some() && m.zig.is_none() && r.libc == crate::target::Libc::Musl;

    let dockerfile = ts.dockerfile.is_some();
    let (plain_base, from) = stage_bases(cx, r, zig.as_deref(), flavour, dockerfile, zig_stages);

    let lld = m.lld && zig.is_none();
    let install = package_install(r, m, mode, flavour, std, zig_musl, lld, &ts.packages)?;

    let mut sysroot_env = sysroot_env(
        r,
        m,
        zig.as_deref(),
        zig_musl,
        std,
        specs.contains_key(&r.triple),
    );
    let (sysroot_files, macos_sdk) = macos_sysroot(zig.as_deref(), input.env, &mut sysroot_env);

    // Release settings and rustflags: build step only.
    let release = ts.release.clone();
    let (build_env, host) = build_step_env(
        cx,
        r,
        ts,
        &release,
        zig_musl,
        lld,
        macos_sdk.is_some(),
        warnings,
    )?;
    let (volumes, secrets, program_env) = (host.volumes, host.secrets, host.program_env);

    let (custom, pre_build) = user_steps(cx, r, ts, plain_base, &from, warnings);

    let build_std = (std == StdSource::BuildStd).then_some(build_std_flag.as_str());
    let (fetch, own, cargo_target) = cargo_commands(cx, r, build_std);
    let host_run = HostRun {
        program_env: &program_env,
        volumes: &volumes,
    };
    let mut added = Vec::new();
    let (runner, no_run, run) = runs(
        cx,
        r,
        &runner_choice,
        install.as_ref(),
        &mut added,
        host_run,
        warnings,
    )?;
    let cargo = build_command(&own, inv, &added, !cx.is_run && !no_run);
    let (deps_build, deps_clean) = deps_commands(cx, &own, &added, &cargo_target);
    let setup = setup_commands(m, lld);
    let build_from = build_start(r, runner.is_some());

    let target = TargetPlan {
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
        private_clean: private_clean(cx, &cargo_target),
        cargo,
        workdir: workdir.clone(),
        json_messages: inv.json_messages,
        outputs,
        cache_id: format!("green-cross-target-{ws_hash:016x}-{}", r.triple),
        release,
        runner,
        build_from,
        fresh: (runs_binaries && !no_run) || !secrets.is_empty(),
        pre_build,
        volumes,
        secrets,
        custom,
    };
    Ok((target, run))
}

/// The stage the build step starts from: the runner stage when it runs
/// the target's binaries there, else the dependencies stage.
fn build_start(r: &Recipe, runs_in_runner: bool) -> Stage {
    match runs_in_runner {
        true => Stage::Runner(r.triple.clone()),
        false => Stage::Deps(r.triple.clone()),
    }
}

/// The stage the target starts from without `dockerfile` (the
/// Dockerfile's CROSS_BASE_IMAGE), and the one its sysroot starts from: its
/// `dockerfile` image's toolchain stage or the plain one (its own image's,
/// or its flavour's shared one), under zig's stage when zig links
/// (registered once per base).
fn stage_bases(
    cx: &PlanContext,
    r: &Recipe,
    zig: Option<&str>,
    flavour: ImageFlavour,
    has_dockerfile: bool,
    zig_stages: &mut Vec<ZigStage>,
) -> (Stage, Stage) {
    let plain_base = match cx.tc.images.contains_key(&r.triple) {
        true => Toolchain::Target(r.triple.clone()),
        false => Toolchain::shared(flavour),
    };
    let base = match has_dockerfile {
        true => cx.tc.custom_stage(r),
        false => plain_base.clone(),
    };
    let plain_base = Stage::Toolchain(plain_base);
    if zig.is_none() {
        return (plain_base, Stage::Toolchain(base));
    }
    let name = Stage::Zig(base.clone());
    if !zig_stages.iter().any(|z| z.name == name) {
        zig_stages.push(ZigStage {
            name: name.clone(),
            from: Stage::Toolchain(base),
        });
    }
    (plain_base, name)
}

/// The build step's variables: rustflags (the recipe's, zig's or lld's,
/// crt-static), the macOS SDK's mount, the release settings, what passes
/// through by itself and what the configuration passes through; and the
/// host's volumes, secrets and the program's variables.
#[allow(clippy::too_many_arguments)]
fn build_step_env(
    cx: &PlanContext,
    r: &Recipe,
    ts: &TargetSettings,
    release: &ReleaseSettings,
    zig_musl: bool,
    lld: bool,
    macos_sdk: bool,
    warnings: &mut Vec<String>,
) -> Result<(BTreeMap<String, String>, HostValues)> {
    let input = cx.input;
    let m = r.mode(input.settings.toolchain);
    let mut rustflags: Vec<String> = r.rustflags.iter().chain(&m.rustflags).cloned().collect();
    if zig_musl {
        // zig links its own musl C runtime, not the one rustup ships.
        rustflags.extend(["-C".into(), "link-self-contained=no".into()]);
    }
    if lld {
        rustflags.extend(["-C".into(), "link-arg=-fuse-ld=lld".into()]);
    }
    rustflags.extend(crt_static_flags(r, release));
    let rustflags_key = format!("CARGO_TARGET_{}_RUSTFLAGS", env_upper(&r.triple));
    let mut env = BTreeMap::new();
    if !rustflags.is_empty() {
        env.insert(rustflags_key.clone(), rustflags.join(" "));
    }
    if macos_sdk {
        env.insert("SDKROOT".into(), MACOS_SDK_MOUNT.into());
    }
    let profile = input.invocation.profile_name();
    env.extend(profile_env(r, release, &profile, warnings));
    merge_automatic(&mut env, cx.automatic, &rustflags_key);
    let config_flags = input.workspace.config_build_rustflags.as_deref();
    place_rustflags(
        &rustflags,
        &rustflags_key,
        input.env,
        config_flags,
        &mut env,
    );
    let host = host_values(ts, input.env, &r.triple, cx.automatic, &mut env, warnings)?;
    Ok((env, host))
}

/// `cargo fetch` (network on) and the build step's cargo command up to the
/// user's arguments (green-cross's own part of it), and cargo's --target:
/// the triple, or the specification's path.
fn cargo_commands(
    cx: &PlanContext,
    r: &Recipe,
    build_std: Option<&str>,
) -> (Vec<String>, Vec<String>, String) {
    let (inv, ws) = (cx.input.invocation, cx.input.workspace);
    let cargo_target = cx.specs.get(&r.triple).map_or(r.triple.clone(), |rel| {
        ws_dir(ws).join(rel).to_string_lossy().into_owned()
    });
    let locked = ws.has_lockfile.then(|| "--locked".to_string());
    let mut fetch = vec!["cargo".to_string(), "fetch".into()];
    fetch.extend(locked.clone());
    fetch.extend(["--target".into(), cargo_target.clone()]);
    fetch.extend(build_std.map(String::from));
    let sub = inv.subcommand.build_step();
    let mut cargo = vec!["cargo".to_string(), sub.into(), "--offline".into()];
    cargo.extend(locked);
    cargo.extend([
        "--target".into(),
        cargo_target.clone(),
        "--target-dir".into(),
        TARGET_DIR.into(),
    ]);
    if let Some(mp) = &ws.manifest {
        let p = format!("--manifest-path={}", ws_dir(ws).join(mp).to_string_lossy());
        cargo.push(p.clone());
        fetch.push(p);
    }
    cargo.extend(build_std.map(String::from));
    (fetch, cargo, cargo_target)
}

/// What `run` hands the program: its variables and the volumes.
struct HostRun<'a> {
    program_env: &'a BTreeMap<String, String>,
    volumes: &'a [Volume],
}

/// How the target's binaries run: the runner stage for `test` and
/// `bench` (or `--no-run`, said, where nothing runs them here), what the
/// cargo command takes after the user's arguments (`added`: `--no-run`,
/// `run`'s `--bin`), and the run plan of `run`.
fn runs(
    cx: &PlanContext,
    r: &Recipe,
    choice: &RunnerChoice,
    install: Option<&PackageInstall>,
    added: &mut Vec<String>,
    host: HostRun,
    warnings: &mut Vec<String>,
) -> Result<(Option<RunnerPlan>, bool, Option<RunPlan>)> {
    let input = cx.input;
    let (inv, ws) = (input.invocation, input.workspace);
    let mode = input.settings.toolchain;
    let (m, flavour) = (r.mode(mode), cx.tc.flavour_of(r));
    let user_no_run = inv.no_run;
    let runner = (cx.runs_binaries && !user_no_run)
        .then(|| runner_plan(r, choice, mode, flavour, m, installs_multiarch(install)))
        .flatten();
    let cannot_run = choice.kind == Runner::None;
    let no_run = cx.runs_binaries && (user_no_run || cannot_run);
    if cx.runs_binaries && !user_no_run && cannot_run {
        warnings.push(format!(
            "{}: test binaries for this target cannot run on this host; they are built only (--no-run)",
            r.triple
        ));
    }
    if no_run && !user_no_run {
        added.push("--no-run".into());
    }
    if !cx.is_run {
        return Ok((runner, no_run, None));
    }
    let (bin, given) = run_binary(inv, ws)?;
    if !given {
        added.extend(["--bin".into(), bin.clone()]);
    }
    let mut run = run_plan(
        r,
        choice,
        mode,
        flavour,
        m,
        install,
        ws,
        &cx.profile_dir,
        bin,
        inv,
        input.host,
    )?;
    run.env = host.program_env.clone();
    run.volumes = host.volumes.iter().map(|v| v.path.clone()).collect();
    Ok((runner, no_run, Some(run)))
}

/// macOS: stubs of the libraries and frameworks a Mac has, or the user's
/// SDK (SDKROOT on this machine) mounted into the compile steps only, never
/// into a layer.
fn macos_sysroot(
    zig: Option<&str>,
    env: &Env,
    sysroot_env: &mut BTreeMap<String, String>,
) -> (Vec<(String, String)>, Option<PathBuf>) {
    let Some(macos) = zig.filter(|z| z.contains("macos")) else {
        return (vec![], None);
    };
    sysroot_env.insert("SDKROOT".into(), MACOS_STUBS.into());
    let sdk = env.value("SDKROOT").map(PathBuf::from);
    (macos_stub_files(macos), sdk)
}
