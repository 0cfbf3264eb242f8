//! Configuration, environment and command line, all arbitrary, through
//! parsing, planning and rendering: nothing panics, rendering is
//! deterministic, and every line of the Dockerfile outside heredocs and
//! continuations starts an instruction green-cross writes.
//!
//! The input is three parts separated by U+0001: a Cross.toml, `NAME=VALUE`
//! lines for the environment, and arguments separated by U+0002.

#![no_main]

use std::path::Path;

use green_cross::cli::Invocation;
use green_cross::config::{CrossToml, Env, Settings};
use green_cross::dockerfile::render;
use green_cross::plan::inputs::{app_workspace, stable_host};
use green_cross::plan::{PlanInput, plan};
use green_cross::target::Recipes;
use libfuzzer_sys::fuzz_target;

/// Every line starts an instruction, continues one (after a line ending
/// in `\`), or is inside a heredoc.
fn check_lines(dockerfile: &str) {
    const STARTS: &[&str] = &["FROM ", "RUN ", "COPY ", "ENV ", "WORKDIR ", "ARG ", "#"];
    let mut lines = dockerfile.lines();
    let mut continued = false;
    while let Some(line) = lines.next() {
        if !continued && !line.is_empty() {
            assert!(
                STARTS.iter().any(|s| line.starts_with(s)),
                "a line that starts no instruction: {line:?}\n{dockerfile}"
            );
        }
        if let Some(pos) = line.find("<<'") {
            let end = line[pos + 3..].split('\'').next().unwrap_or_default().to_string();
            for l in lines.by_ref() {
                if l == end {
                    break;
                }
            }
        }
        continued = line.ends_with('\\');
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{1}');
    let toml_text = parts.next().unwrap_or_default();
    let env_text = parts.next().unwrap_or_default();
    let args_text = parts.next().unwrap_or_default();
    let mut env: Env = env_text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if env.get("GREEN_CROSS_TOOLCHAIN").is_none() {
        env.insert("GREEN_CROSS_TOOLCHAIN", "distro");
    }
    let mut args: Vec<String> = vec!["build".into()];
    args.extend(args_text.split('\u{2}').filter(|a| !a.is_empty()).map(String::from));
    let Ok(inv) = Invocation::parse(&args) else { return };
    let Ok((toml, _)) = CrossToml::parse("Cross.toml".as_ref(), toml_text) else { return };
    let Ok(settings) = Settings::resolve(&env, &toml) else { return };
    let recipes = Recipes::embedded().expect("the embedded recipes load");
    let host = stable_host();
    let ws = app_workspace(Path::new("/work/app"), Some("main"));
    let Ok(p) = plan(&PlanInput {
        invocation: &inv,
        workspace: &ws,
        settings: &settings,
        recipes: &recipes,
        env: &env,
        host: &host,
        ca_bundle: None,
    }) else {
        return;
    };
    let a = render(&p);
    assert_eq!(a, render(&p), "rendering is deterministic");
    check_lines(&a);
});
