//! green-cross's own subcommands: `targets`, `dockerfile`, `plan`,
//! `matrix`, `builder create` and `doctor`.

use crate::app::build::{builder_choice, make_plan};
use crate::app::settings::load_settings;
use crate::cli::{BuilderCommand, Invocation, OwnCommand, Subcommand};
use crate::config::Env;
use crate::dockerfile;
use crate::engine::{self, Engine, host};
use crate::error::{Error, Result};
use crate::target::Recipes;

/// Runs one of green-cross's own subcommands; the exit code.
pub fn run_own(cmd: OwnCommand, env: &Env) -> Result<i32> {
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
    let cwd = env.current_dir()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_subcommands_take_build_s_arguments() {
        let inv = build_invocation(vec![]).unwrap();
        assert_eq!(inv.subcommand, Subcommand::Build);
        let inv =
            build_invocation(vec!["--target".into(), "x86_64-unknown-linux-musl".into()]).unwrap();
        assert_eq!(inv.subcommand, Subcommand::Build);
        assert_eq!(inv.targets, ["x86_64-unknown-linux-musl"]);
        let inv = build_invocation(vec!["+nightly".into(), "--release".into()]).unwrap();
        assert_eq!(inv.toolchain.as_deref(), Some("nightly"));
        assert_eq!(inv.subcommand, Subcommand::Build);
        assert_eq!(inv.profile.as_deref(), Some("release"));
        let inv = build_invocation(vec!["test".into(), "--no-run".into()]).unwrap();
        assert_eq!(inv.subcommand, Subcommand::Test);
        assert!(inv.no_run);
    }
}
