//! Planning a build and running it: the workspace's facts and settings
//! into a plan, a fresh build told from the fingerprint, the engine's build,
//! its results placed and reported, and `run`'s binary run.

use std::path::{Path, PathBuf};

use crate::app::output::{
    print_messages, print_summary, replay_messages, report_failures, succeeded_plan,
};
use crate::app::settings::load_settings;
use crate::cli::Invocation;
use crate::config::{CaBundle, Env};
use crate::engine::{self, Engine, host};
use crate::error::{Error, Result};
use crate::plan::{BuildPlan, PlanInput, plan};
use crate::target::Recipes;
use crate::{artifacts, dockerfile, fingerprint, report};

/// The name of a build's temporary output directory in the target dir.
const OUT_PREFIX: &str = ".green-cross-out-";

/// The builder named by --builder, else by BUILDX_BUILDER: taken by
/// green-cross rather than left to buildx, which refuses it when it names a
/// docker context other than the current one (green-cross switches to it).
pub(crate) fn builder_choice(named: Option<String>, env: &Env) -> Option<String> {
    named.or_else(|| env.value("BUILDX_BUILDER").map(str::to_string))
}

/// The plan for an invocation in the current directory's workspace; the
/// warnings on the way are printed (and are errors under CROSS_NO_WARNINGS).
pub fn make_plan(inv: &Invocation, env: &Env) -> Result<BuildPlan> {
    let cwd = env.current_dir()?;
    let mut workspace = host::load_workspace(
        &cwd,
        inv.manifest_path.as_deref(),
        inv.target_dir.as_deref(),
    )?;
    workspace.crates_io_mirror = engine::vendor::crates_io_replaced(&workspace.root, env);
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
    all_warnings.extend(crate::config::env::not_applicable(env));
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

/// Builds a plan: the engine's build unless the fingerprint finds it
/// fresh, its results placed and reported, and `run`'s binary run. The
/// exit code: 0, or the failures' code, or the binary's.
pub fn build(plan: &BuildPlan, inv: &Invocation, env: &Env) -> Result<i32> {
    let started = std::time::Instant::now();
    // Paths are shown relative to it.
    let cwd = env
        .current_dir()
        .unwrap_or_else(|_| plan.workspace_root.clone());
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
        report_fresh(plan, inv, &header, &placed, started, &cwd);
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
    // One Ctrl-C handler for the whole build: the host's fetch of private
    // dependencies and the engine's build watch the same flag.
    let interrupted = engine::interrupt_flag();
    let contexts = engine::prepare_contexts(plan, &text, env, &interrupted)?;
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
        print_summary(inv, &placed, outcome.elapsed, &cwd);
        return Ok(report_failures(&reports, &failures, &outcome.log));
    }
    let Some(run) = &plan.run else {
        print_summary(inv, &placed, outcome.elapsed, &cwd);
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
    let shown = run.binary.strip_prefix(&cwd).unwrap_or(&run.binary);
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
    cwd: &Path,
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
    print_summary(inv, placed, elapsed, cwd);
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
        let build = crate::plan::Stage::Build(t.to_string());
        engine.build_opts.push(build.to_string());
    }
    let _ = std::fs::remove_dir_all(out_dir.join(crate::plan::REPORT_DIR));
    run(&engine)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_named_on_the_command_line_over_buildx_builder() {
        let env = Env::from([("BUILDX_BUILDER", "from-env")]);
        assert_eq!(
            builder_choice(Some("named".into()), &env).as_deref(),
            Some("named")
        );
        assert_eq!(builder_choice(None, &env).as_deref(), Some("from-env"));
        let blank = Env::from([("BUILDX_BUILDER", " ")]);
        assert_eq!(builder_choice(None, &blank), None);
        assert_eq!(builder_choice(None, &Env::new()), None);
    }

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
