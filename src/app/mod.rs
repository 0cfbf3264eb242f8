//! The application's orchestration that the library can test: [`run`]
//! takes the arguments and the environment to an exit code, through
//! green-cross's own subcommands (`own`), the host's cargo, or a build
//! planned and run (`build`), its configuration read by `settings` and its
//! results reported by `output`. main.rs hands it argv and the environment.

pub mod build;
pub mod output;
pub mod own;
pub mod settings;

use clap::Parser;

use crate::cli::{Invocation, Own, is_own};
use crate::config::Env;
use crate::engine::host;
use crate::error::Result;

use build::{build, make_plan};
use own::run_own;

/// green-cross's arguments (argv without the program name) to an exit
/// code: an own subcommand, cargo on the host, or a build in BuildKit.
/// The own subcommands' help and usage errors are printed here (exit code
/// 0 for help, 2 for an error).
pub fn run(args: &[String], env: &Env) -> Result<i32> {
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
