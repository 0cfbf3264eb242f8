//! green-cross: parse, run, map the outcome to an exit code.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use green_cross::app::build::{build, builder_choice, make_plan};
use green_cross::app::settings::load_settings;
use green_cross::cli::{BuilderCommand, Invocation, Own, OwnCommand, Subcommand, is_own};
use green_cross::config::Env;
use green_cross::dockerfile;
use green_cross::engine::{self, Engine, host};
use green_cross::error::{Error, Result};
use green_cross::target::Recipes;

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
