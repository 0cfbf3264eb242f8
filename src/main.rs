//! green-cross: the environment's snapshot, the log filter, argv and
//! `--version`; `app::run` does the rest, and its outcome becomes the exit
//! code.

use std::path::Path;
use std::process::ExitCode;

use green_cross::app;
use green_cross::config::Env;

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
    match app::run(&args, &env) {
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
