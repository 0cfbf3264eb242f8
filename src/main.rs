//! green-cross: parse, run, map the outcome to an exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use green_cross::app::output::{
    print_messages, print_summary, replay_messages, report_failures, succeeded_plan,
};
use green_cross::app::settings::load_settings;
use green_cross::cli::{BuilderCommand, Invocation, Own, OwnCommand, Subcommand, is_own};
use green_cross::config::{CaBundle, Env};
use green_cross::engine::{self, Engine, host};
use green_cross::error::{Error, Result};
use green_cross::plan::{BuildPlan, PlanInput, plan};
use green_cross::target::Recipes;
use green_cross::{artifacts, dockerfile, fingerprint, report};

fn main() -> ExitCode {
    let env = Env::from_process();
    // CROSS_DEBUG turns on green-cross's debug output, as it does cross's
    // (a value that is not a boolean is reported when the settings resolve).
    let filter = match env.get("GREEN_CROSS_LOG") {
        Some(f) => tracing_subscriber::EnvFilter::new(f),
        None if env.is_on("CROSS_DEBUG").unwrap_or(false) => {
            tracing_subscriber::EnvFilter::new("green_cross=debug")
        }
        None => tracing_subscriber::EnvFilter::default(),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    let mut argv = std::env::args();
    let invoked_as = argv
        .next()
        .and_then(|a| {
            Path::new(&a)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    let args: Vec<String> = argv.collect();
    // `alias cross=green-cross` or a `cross` symlink: the same program,
    // and `--version` says which name it answered to.
    if matches!(args.as_slice(), [a] if a == "--version" || a == "-V") {
        println!("{}", version_line(&invoked_as));
        return ExitCode::SUCCESS;
    }
    match run(&args, &env) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code().clamp(0, 255) as u8)
        }
    }
}

fn version_line(invoked_as: &str) -> String {
    let v = env!("CARGO_PKG_VERSION");
    if invoked_as.is_empty() || invoked_as == "green-cross" {
        format!("green-cross {v}")
    } else {
        format!("green-cross {v} (invoked as {invoked_as})")
    }
}

fn run(args: &[String], env: &Env) -> Result<i32> {
    let first = args
        .iter()
        .find(|a| !a.starts_with('+'))
        .map(String::as_str)
        .unwrap_or("--help");
    if args.is_empty() || is_own(first) {
        let own = match Own::try_parse_from(
            std::iter::once("green-cross".to_string()).chain(args.iter().cloned()),
        ) {
            Ok(o) => o,
            Err(e) => {
                let code = if e.use_stderr() { 2 } else { 0 };
                let _ = e.print();
                return Ok(code);
            }
        };
        return run_own(own.command, env);
    }
    let inv = Invocation::parse(args)?;
    if !inv.runs_in_buildkit() {
        tracing::debug!(subcommand = %inv.subcommand, "running on the host's cargo");
        return host::run_host_cargo(args, env);
    }
    let plan = make_plan(&inv, env)?;
    build(&plan, &inv, env)
}

fn run_own(cmd: OwnCommand, env: &Env) -> Result<i32> {
    match cmd {
        OwnCommand::Targets { json } => {
            let recipes = Recipes::embedded()?;
            if json {
                let list: Vec<_> = recipes.iter().collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).expect("recipes serialise")
                );
            } else {
                println!(
                    "{:<32}  {:<14}  {:<9}  summary",
                    "target", "platform", "runner"
                );
                for r in recipes.iter() {
                    let runner = serde_json::to_value(r.runner)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default();
                    println!(
                        "{:<32}  {:<14}  {:<9}  {}",
                        r.triple, r.platform, runner, r.summary
                    );
                }
            }
            Ok(0)
        }
        OwnCommand::Dockerfile { args } => {
            let inv = build_invocation(args)?;
            let plan = make_plan(&inv, env)?;
            print!("{}", dockerfile::render(&plan));
            Ok(0)
        }
        OwnCommand::Matrix { targets } => {
            let recipes = Recipes::embedded()?;
            let targets = if targets.is_empty() {
                configured_targets(env)?
            } else {
                targets
                    .iter()
                    .flat_map(|t| t.split(','))
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect()
            };
            println!("{}", recipes.matrix(&targets)?);
            Ok(0)
        }
        OwnCommand::Builder {
            command:
                BuilderCommand::Create {
                    name,
                    image,
                    config,
                    use_it,
                },
        } => {
            let engine = Engine::detect(env)?;
            let request = engine::builder::CreateRequest {
                name,
                image,
                config,
                use_it,
            };
            let select = format!(
                "build with it: green-cross build --builder {0} ... (or BUILDX_BUILDER={0})",
                request.name
            );
            match engine.create_builder(&request)? {
                engine::builder::Created::New { buildkit } => eprintln!(
                    "     Created the docker-container builder `{}`{}\n  {select}",
                    request.name,
                    buildkit
                        .map(|v| format!(" (BuildKit {v})"))
                        .unwrap_or_default()
                ),
                engine::builder::Created::Existing { driver } => eprintln!(
                    "     The builder `{}` exists already (driver {driver}); left as it is\n  {select}",
                    request.name
                ),
            }
            Ok(0)
        }
        OwnCommand::Doctor { builder } => doctor(env, builder),
        OwnCommand::Plan { json: _, args } => {
            let inv = build_invocation(args)?;
            let plan = make_plan(&inv, env)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&plan).expect("plan serialises")
            );
            Ok(0)
        }
    }
}

/// The builder named by --builder, else by BUILDX_BUILDER: taken by
/// green-cross rather than left to buildx, which refuses it when it names a
/// docker context other than the current one (green-cross switches to it).
fn builder_choice(named: Option<String>, env: &Env) -> Option<String> {
    named.or_else(|| env.value("BUILDX_BUILDER").map(str::to_string))
}

/// `green-cross doctor`: one line per finding; 1 when one would stop a
/// build.
fn doctor(env: &Env, builder: Option<String>) -> Result<i32> {
    use engine::doctor::{Check, Status};
    let mut failed = false;
    let mut say = |c: Check| {
        println!("{c}");
        failed |= c.status == Status::Fail;
    };
    let engine = match Engine::detect(env) {
        Ok(e) => e,
        Err(e) => {
            say(Check::new(Status::Fail, "docker CLI", e.to_string()));
            return Ok(1);
        }
    };
    say(Check::new(
        Status::Ok,
        "docker CLI",
        engine.program.display().to_string(),
    ));
    let engine = engine.with_builder(builder_choice(builder, env));
    // The workspace here, if any: its configuration, and the images its
    // build for the default targets starts from.
    let mut images: Vec<String> = Vec::new();
    match build_invocation(vec![]).and_then(|inv| make_plan(&inv, env)) {
        Ok(plan) => {
            images.extend(plan.xx_image.iter().cloned());
            for t in &plan.toolchains {
                if !images.contains(&t.image) {
                    images.push(t.image.clone());
                }
            }
            let targets: Vec<&str> = plan.targets.iter().map(|t| t.triple.as_str()).collect();
            say(Check::new(
                Status::Ok,
                "workspace",
                format!(
                    "{} ({} mode; default targets: {})",
                    plan.workspace_root.display(),
                    plan.mode.as_str(),
                    targets.join(", ")
                ),
            ));
        }
        Err(e @ Error::Metadata { .. }) => say(Check::new(
            Status::Warn,
            "workspace",
            format!(
                "none here, so no configuration or image was checked ({})",
                e.to_string().lines().next().unwrap_or_default()
            ),
        )),
        Err(e) => say(Check::new(Status::Fail, "workspace", e.to_string())),
    }
    for c in engine.doctor(env, &images) {
        say(c);
    }
    Ok(i32::from(failed))
}

/// `green-cross dockerfile --target T` takes `build`'s arguments.
fn build_invocation(mut args: Vec<String>) -> Result<Invocation> {
    let has_sub = args
        .iter()
        .find(|a| !a.starts_with('-') && !a.starts_with('+'))
        .is_some_and(|a| Subcommand::BUILDKIT.iter().any(|s| s.as_str() == a));
    if !has_sub {
        let at = usize::from(args.first().is_some_and(|a| a.starts_with('+')));
        args.insert(at, "build".into());
    }
    Invocation::parse(&args)
}

/// The configuration layers of a workspace, resolved, and the warnings
/// reading them gave.
/// The name of a build's temporary output directory in the target dir.
const OUT_PREFIX: &str = ".green-cross-out-";

/// The targets the configuration names: its `[target.<triple>]` tables
/// (files, not the environment) and `default-target`.
fn configured_targets(env: &Env) -> Result<Vec<String>> {
    let cwd =
        std::env::current_dir().map_err(|e| Error::io("read the current directory", ".", e))?;
    let workspace = host::load_workspace(&cwd, None, None)?;
    let (settings, warnings) = load_settings(env, &workspace)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let mut targets: Vec<String> = Vec::new();
    for l in &settings.layers {
        for t in l.config.target.keys() {
            if !targets.contains(t) {
                targets.push(t.clone());
            }
        }
    }
    for t in [&settings.env_default_target, &settings.default_target]
        .into_iter()
        .flatten()
    {
        if !targets.contains(t) {
            targets.push(t.clone());
        }
    }
    if targets.is_empty() {
        return Err(Error::Usage(
            "no targets to make a matrix of: the configuration has no [target.<triple>] table and no default-target\n  help: name them: `green-cross matrix x86_64-unknown-linux-musl aarch64-unknown-linux-gnu`".into(),
        ));
    }
    Ok(targets)
}

fn make_plan(inv: &Invocation, env: &Env) -> Result<BuildPlan> {
    let cwd =
        std::env::current_dir().map_err(|e| Error::io("read the current directory", ".", e))?;
    let workspace = host::load_workspace(
        &cwd,
        inv.manifest_path.as_deref(),
        inv.target_dir.as_deref(),
    )?;
    let (settings, mut all_warnings) = load_settings(env, &workspace)?;
    let recipes = Recipes::embedded()?;
    let host = host::host_facts()?;
    let ca_bundle = resolve_ca_bundle(&settings.ca_bundle, |p| p.is_file())?;
    let plan = plan(&PlanInput {
        invocation: inv,
        workspace: &workspace,
        settings: &settings,
        recipes: &recipes,
        env,
        host: &host,
        ca_bundle,
    })?;
    all_warnings.extend(plan.warnings.iter().cloned());
    all_warnings.extend(green_cross::config::env::not_applicable(env));
    for w in &all_warnings {
        eprintln!("warning: {w}");
    }
    if !all_warnings.is_empty() && env.is_on("CROSS_NO_WARNINGS")? {
        return Err(Error::Usage(format!(
            "{} warning(s) above, and CROSS_NO_WARNINGS makes warnings errors\n  help: fix what they say, or unset CROSS_NO_WARNINGS (or set it to 0)",
            all_warnings.len()
        )));
    }
    Ok(plan)
}

fn resolve_ca_bundle(ca: &CaBundle, exists: impl Fn(&Path) -> bool) -> Result<Option<PathBuf>> {
    match ca {
        CaBundle::Disabled => Ok(None),
        CaBundle::Explicit(p) if exists(p) => Ok(Some(p.clone())),
        CaBundle::Explicit(p) => Err(Error::InvalidSetting {
            key: "ca-bundle".into(),
            value: p.display().to_string(),
            message: "no such file; name an existing PEM bundle, or set GREEN_CROSS_CA_BUNDLE=none"
                .into(),
        }),
        CaBundle::FirstExisting(c) => Ok(c.iter().find(|p| exists(p)).cloned()),
    }
}

/// The fingerprint of a build that may be skipped when nothing changed.
/// A file that cannot be read means going to BuildKit, which will say why.
fn fingerprint_of(plan: &BuildPlan, inv: &Invocation, env: &Env) -> Option<String> {
    if !fingerprint::applies(plan, env) {
        return None;
    }
    match fingerprint::scan(plan) {
        Ok(files) => Some(fingerprint::digest(
            plan,
            &dockerfile::render(plan),
            env,
            inv.builder.as_deref(),
            &files,
        )),
        Err(e) => {
            tracing::debug!(error = %e, "no fingerprint");
            None
        }
    }
}

fn build(plan: &BuildPlan, inv: &Invocation, env: &Env) -> Result<i32> {
    let started = std::time::Instant::now();
    let triples: Vec<&str> = plan.targets.iter().map(|t| t.triple.as_str()).collect();
    let header = format!(
        "   Green-cross {} {} ({} mode)",
        plan.subcommand,
        triples.join(", "),
        plan.mode.as_str()
    );
    let fingerprint = fingerprint_of(plan, inv, env);
    if let Some(placed) = fingerprint
        .as_deref()
        .and_then(|d| fingerprint::fresh(plan, d))
    {
        report_fresh(plan, inv, &header, &placed, started);
        return Ok(0);
    }
    let engine = Engine::detect(env)?.with_builder(builder_choice(inv.builder.clone(), env));
    // The engine is checked when a build fails for a reason other than
    // cargo, to say why in words: a working engine costs no extra calls.
    let explain = |e: Error| match e {
        Error::BuildFailed { .. } => engine.check(env).err().unwrap_or(e),
        e => e,
    };
    let adjusted = for_engine(&engine, plan)?;
    let plan = adjusted.as_ref();
    let text = dockerfile::render(plan);
    let contexts = engine::prepare_contexts(plan, &text, env)?;
    std::fs::create_dir_all(&plan.target_dir)
        .map_err(|e| Error::io("create", &plan.target_dir, e))?;
    // Outputs land next to their destination, so that placing them is a
    // rename; what a killed run left there goes first.
    engine::child::sweep(&plan.target_dir, OUT_PREFIX);
    let out = tempfile::Builder::new()
        .prefix(&engine::child::temp_prefix(OUT_PREFIX))
        .permissions(engine::child::private())
        .tempdir_in(&plan.target_dir)
        .map_err(|e| Error::io("create a temporary directory in", &plan.target_dir, e))?;
    let log = engine::logs::invocation_log(&plan.target_dir.join("green-cross"))?;
    let interrupted = engine::interrupt_flag();
    let session = Session {
        engine: &engine,
        plan,
        contexts: &contexts,
        log: &log,
        verbose: inv.verbose > 0,
        interrupted: &interrupted,
    };
    eprintln!("{header}");
    build_custom_images(&session).map_err(explain)?;
    let (outcome, reports) = build_and_report(&session, out.path()).map_err(explain)?;
    for p in &outcome.cache_problems {
        eprintln!("warning: {p}");
    }
    let succeeded = succeeded_plan(plan, &reports);
    let placed = artifacts::place(&succeeded, out.path())?;
    if inv.json_messages {
        print_messages(plan, &reports);
    }
    let failures = report::failure_lines(&reports, &outcome.failed_tests);
    // Kept only for a build that fully succeeded and whose cache export, if
    // any, went through, so that the next build tries again.
    if let Some(d) = &fingerprint
        && failures.is_empty()
        && outcome.cache_problems.is_empty()
        && let Err(e) = fingerprint::save(plan, d, &placed)
    {
        eprintln!("warning: the next build will not know that this one is fresh: {e}");
    }
    eprintln!(
        "    Finished in {:.1}s (log: {})",
        outcome.elapsed.as_secs_f64(),
        outcome.log.display()
    );
    if !failures.is_empty() {
        print_summary(plan, inv, &placed, outcome.elapsed);
        return Ok(report_failures(&reports, &failures, &outcome.log));
    }
    let Some(run) = &plan.run else {
        print_summary(plan, inv, &placed, outcome.elapsed);
        return Ok(0);
    };
    // `run`: stdout belongs to the program, so no summary.
    if let Some(image) = &run.image {
        let log = plan
            .target_dir
            .join("green-cross")
            .join("last-runner-build.log");
        eprintln!("   Preparing the {} runner image", run.triple);
        let export = engine::Export::Load {
            stage: &image.stage,
            tag: &image.tag,
        };
        let verbose = inv.verbose > 0;
        engine::build(
            &engine,
            plan,
            &contexts,
            export,
            &log,
            verbose,
            &interrupted,
        )
        .map_err(explain)?;
    }
    let shown = run
        .binary
        .strip_prefix(std::env::current_dir().unwrap_or_default())
        .unwrap_or(&run.binary);
    eprintln!("     Running `{}`", shown.display());
    engine::run_binary(&engine, run, &plan.workspace_root, &plan.target_dir)
}

/// A build the fingerprint finds fresh: what cargo would have said, and
/// the summary, without the engine.
fn report_fresh(
    plan: &BuildPlan,
    inv: &Invocation,
    header: &str,
    placed: &[artifacts::Artifact],
    started: std::time::Instant,
) {
    eprintln!("{header}");
    for t in &plan.targets {
        eprintln!("      Fresh {} (fingerprint)", t.triple);
    }
    if inv.json_messages {
        replay_messages(plan);
    }
    let elapsed = started.elapsed();
    eprintln!(
        "    Finished in {:.1}s (nothing changed since the last build)",
        elapsed.as_secs_f64()
    );
    print_summary(plan, inv, placed, elapsed);
}

/// The plan as this engine can build it: custom images need its own
/// builder; a builder that cannot export cache still reads it, and the
/// user hears what is lost.
fn for_engine<'a>(engine: &Engine, plan: &'a BuildPlan) -> Result<std::borrow::Cow<'a, BuildPlan>> {
    if plan.targets.iter().any(|t| t.custom.is_some())
        && let Some(e) = engine.custom_images_blocker()
    {
        return Err(e);
    }
    if plan.cache.to.is_empty() {
        return Ok(std::borrow::Cow::Borrowed(plan));
    }
    let Some(why) = engine.cache_export_blocker() else {
        return Ok(std::borrow::Cow::Borrowed(plan));
    };
    eprintln!(
        "warning: {why}\n  the build goes on; its layers are not exported to the shared cache"
    );
    let mut p = plan.clone();
    p.cache.to.clear();
    Ok(std::borrow::Cow::Owned(p))
}

/// What every engine call of one build shares.
struct Session<'a> {
    engine: &'a Engine,
    plan: &'a BuildPlan,
    contexts: &'a engine::Contexts,
    log: &'a Path,
    verbose: bool,
    interrupted: &'a std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// `dockerfile`: each target's own Dockerfile, built and loaded first.
fn build_custom_images(s: &Session) -> Result<()> {
    for t in &s.plan.targets {
        if let Some(c) = &t.custom {
            eprintln!(
                "   Building {}'s Dockerfile ({})",
                t.triple,
                c.file.display()
            );
            engine::build_custom_image(
                s.engine,
                s.plan,
                s.contexts,
                c,
                s.log,
                s.verbose,
                s.interrupted,
            )?;
        }
    }
    Ok(())
}

/// The build, exported to `out_dir`, and each target's report. A target
/// whose failure BuildKit served from its cache (an earlier run's, maybe
/// out of memory or killed) is built once more without the cache, so that
/// a failure is always this run's own and cargo's errors are shown.
fn build_and_report(
    s: &Session,
    out_dir: &Path,
) -> Result<(engine::BuildOutcome, Vec<report::TargetReport>)> {
    let run = |engine: &Engine| {
        let outcome = engine::build(
            engine,
            s.plan,
            s.contexts,
            engine::Export::Local(out_dir),
            s.log,
            s.verbose,
            s.interrupted,
        )?;
        if s.interrupted.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::Interrupted);
        }
        let reports = report::read(s.plan, out_dir);
        Ok((outcome, reports))
    };
    let (outcome, reports) = run(s.engine)?;
    let stale: Vec<&str> = reports
        .iter()
        .filter(|r| !r.succeeded() && outcome.cached_builds.contains(&r.triple))
        .map(|r| r.triple.as_str())
        .collect();
    if stale.is_empty() {
        return Ok((outcome, reports));
    }
    eprintln!(
        "   Rebuilding {} (its failure came from the build cache)",
        stale.join(", ")
    );
    let mut engine = s.engine.clone();
    for t in stale {
        engine.build_opts.push("--no-cache-filter".into());
        let build = green_cross::plan::Stage::Build(t.to_string());
        engine.build_opts.push(build.to_string());
    }
    let _ = std::fs::remove_dir_all(out_dir.join(green_cross::plan::REPORT_DIR));
    run(&engine)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_bundle_first_existing_or_explicit() {
        let c = CaBundle::FirstExisting(vec!["/a".into(), "/b".into()]);
        assert_eq!(
            resolve_ca_bundle(&c, |p| p == Path::new("/b")).unwrap(),
            Some("/b".into())
        );
        assert_eq!(resolve_ca_bundle(&c, |_| false).unwrap(), None);
        let e = CaBundle::Explicit("/x".into());
        assert!(
            resolve_ca_bundle(&e, |_| false)
                .unwrap_err()
                .to_string()
                .contains("no such file")
        );
        assert_eq!(
            resolve_ca_bundle(&CaBundle::Disabled, |_| true).unwrap(),
            None
        );
    }
}
