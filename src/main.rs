//! green-cross: parse, run, map the outcome to an exit code.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use green_cross::app::build::{build, make_plan};
use green_cross::app::own::run_own;
use green_cross::cli::{Invocation, Own, is_own};
use green_cross::config::Env;
use green_cross::engine::host;
use green_cross::error::Result;

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
