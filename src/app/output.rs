//! What a build tells the user when it is done: the summary table, cargo's
//! JSON messages, and the failures.

use std::io::Write as _;
use std::path::Path;

use crate::artifacts;
use crate::cli::Invocation;
use crate::plan::BuildPlan;
use crate::report;

/// `plan` with only the targets that succeeded.
pub fn succeeded_plan(plan: &BuildPlan, reports: &[report::TargetReport]) -> BuildPlan {
    let mut p = plan.clone();
    p.targets.retain(|t| {
        reports
            .iter()
            .any(|r| r.triple == t.triple && r.succeeded())
    });
    p
}

/// The artifacts placed: on stdout, unless stdout carries cargo's messages.
pub fn print_summary(
    inv: &Invocation,
    placed: &[artifacts::Artifact],
    elapsed: std::time::Duration,
    cwd: &Path,
) {
    if placed.is_empty() {
        return;
    }
    let text = artifacts::summary(placed, cwd, elapsed);
    if inv.json_messages {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}

/// cargo's messages of every target on stdout, with host paths, and one
/// `build-finished`; each target's kept for the next fresh build.
pub fn print_messages(plan: &BuildPlan, reports: &[report::TargetReport]) {
    let map = report::path_map(plan);
    let mut out = std::io::stdout().lock();
    for r in reports {
        let text = r
            .messages
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        let lines = report::host_messages(&text, &map, false);
        for l in &lines {
            let _ = writeln!(out, "{l}");
        }
        let saved = report::saved_messages(&plan.target_dir, &r.triple);
        let kept = saved
            .parent()
            .map(std::fs::create_dir_all)
            .transpose()
            .and_then(|_| std::fs::write(&saved, lines.join("\n") + "\n"));
        if let Err(e) = kept {
            tracing::debug!(error = %e, "messages not kept");
        }
    }
    let ok = reports.iter().all(report::TargetReport::succeeded);
    let _ = writeln!(out, "{}", report::build_finished(ok));
}

/// A fresh build's messages: the last build's, every artifact fresh.
pub fn replay_messages(plan: &BuildPlan) {
    let mut out = std::io::stdout().lock();
    for t in &plan.targets {
        let saved = report::saved_messages(&plan.target_dir, &t.triple);
        let text = std::fs::read_to_string(saved).unwrap_or_default();
        for l in report::host_messages(&text, &[], true) {
            let _ = writeln!(out, "{l}");
        }
    }
    let _ = writeln!(out, "{}", report::build_finished(true));
}

/// Says which targets failed and how; the exit code is the first failed
/// cargo's (101 when a step left no status).
pub fn report_failures(reports: &[report::TargetReport], failures: &[String], log: &Path) -> i32 {
    for f in failures {
        eprintln!("error: {f}");
    }
    let ok: Vec<&str> = reports
        .iter()
        .filter(|r| r.succeeded())
        .map(|r| r.triple.as_str())
        .collect();
    let failed = reports.len() - ok.len();
    if ok.is_empty() {
        eprintln!(
            "error: {failed} of {} target(s) failed\n  the engine's full output is kept in {}",
            reports.len(),
            log.display()
        );
    } else {
        eprintln!(
            "error: {failed} of {} targets failed; the artifacts of {} are in place\n  the engine's full output is kept in {}",
            reports.len(),
            ok.join(", "),
            log.display()
        );
    }
    reports
        .iter()
        .find(|r| !r.succeeded())
        .and_then(|r| r.status)
        .unwrap_or(crate::error::EXIT_OWN_ERROR)
}
