//! What each target's build step reported (cargo's exit status and, with
//! `--message-format json*`, cargo's messages), read from the exported
//! outputs, and those messages made true on the host: the paths inside
//! the build (`/src/...`, `/green-cross/target/...`) become the host's.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::plan::{BuildPlan, REPORT_DIR, SRC_DIR, TARGET_DIR};

/// One target's result, as its build step reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetReport {
    pub triple: String,
    /// cargo's exit status; None when the step left no report (it failed
    /// before cargo ran, or the output was lost).
    pub status: Option<i32>,
    /// cargo's stdout, when it was kept (`--message-format json*`).
    pub messages: Option<PathBuf>,
}

impl TargetReport {
    pub fn succeeded(&self) -> bool {
        self.status == Some(0)
    }
}

/// The reports of every target of `plan`, from the exported `out_dir`.
pub fn read(plan: &BuildPlan, out_dir: &Path) -> Vec<TargetReport> {
    plan.targets
        .iter()
        .map(|t| {
            let dir = out_dir.join(REPORT_DIR).join(&t.triple);
            let status = fs::read_to_string(dir.join("status"))
                .ok()
                .and_then(|s| s.trim().parse().ok());
            let messages = Some(dir.join("messages")).filter(|p| p.is_file());
            TargetReport {
                triple: t.triple.clone(),
                status,
                messages,
            }
        })
        .collect()
}

/// Where paths inside the build are on the host: the target dir and the
/// workspace, longest prefix first.
pub fn path_map(plan: &BuildPlan) -> Vec<(String, String)> {
    let mut map = vec![
        (
            TARGET_DIR.to_string(),
            plan.target_dir.to_string_lossy().into_owned(),
        ),
        (
            SRC_DIR.to_string(),
            plan.mount_root.to_string_lossy().into_owned(),
        ),
    ];
    map.sort_by_key(|(inside, _)| std::cmp::Reverse(inside.len()));
    map
}

/// A path inside the build as it is on the host, if it is under one of
/// the mapped directories.
fn host_path(s: &str, map: &[(String, String)]) -> Option<String> {
    map.iter().find_map(|(inside, host)| {
        let rest = s.strip_prefix(inside.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then(|| format!("{host}{rest}"))
    })
}

/// One string of a message with the build's paths made the host's: a path
/// (`/src/app/Cargo.toml`) or a package id (`path+file:///src/app#0.1.0`).
fn rewrite_string(s: &str, map: &[(String, String)]) -> Option<String> {
    if let Some(p) = host_path(s, map) {
        return Some(p);
    }
    let (head, tail) = s.split_once("file://")?;
    let (path, rest) = match tail.find(['#', '?']) {
        Some(i) => tail.split_at(i),
        None => (tail, ""),
    };
    host_path(path, map).map(|p| format!("{head}file://{p}{rest}"))
}

fn rewrite_value(v: &mut serde_json::Value, map: &[(String, String)], fresh: bool) {
    match v {
        serde_json::Value::String(s) => {
            if let Some(r) = rewrite_string(s, map) {
                *s = r;
            }
        }
        serde_json::Value::Array(items) => {
            for i in items {
                rewrite_value(i, map, false);
            }
        }
        serde_json::Value::Object(fields) => {
            if fresh && fields.get("reason").and_then(|r| r.as_str()) == Some("compiler-artifact") {
                fields.insert("fresh".into(), serde_json::Value::Bool(true));
            }
            for (k, f) in fields.iter_mut() {
                // Rendered diagnostics are text for people, with relative paths.
                if k != "rendered" {
                    rewrite_value(f, map, false);
                }
            }
        }
        _ => {}
    }
}

/// One line of cargo's stdout as cargo on the host would have printed it:
/// JSON messages with host paths (and `"fresh": true` on artifacts when
/// `fresh`), any other line unchanged. `build-finished` is left out
/// (None): one is printed for the whole invocation, as cargo does for
/// several `--target`s.
pub fn host_message(line: &str, map: &[(String, String)], fresh: bool) -> Option<String> {
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(line) else {
        return Some(line.to_string());
    };
    if !v.is_object() {
        return Some(line.to_string());
    }
    if v.get("reason").and_then(|r| r.as_str()) == Some("build-finished") {
        return None;
    }
    rewrite_value(&mut v, map, fresh);
    Some(v.to_string())
}

/// The `build-finished` message for the whole invocation.
pub fn build_finished(success: bool) -> String {
    serde_json::json!({"reason": "build-finished", "success": success}).to_string()
}

/// Where a build's host messages are kept for the next fresh build to
/// print them again.
pub fn saved_messages(target_dir: &Path, triple: &str) -> PathBuf {
    target_dir
        .join("green-cross")
        .join("messages")
        .join(format!("{triple}.json"))
}

/// Host messages of `text` (cargo's stdout), one per line.
pub fn host_messages(text: &str, map: &[(String, String)], fresh: bool) -> Vec<String> {
    text.lines()
        .filter_map(|l| host_message(l, map, fresh))
        .collect()
}

/// What went wrong for each failed target, for the user: cargo's code, and
/// the failing tests when a test run failed.
pub fn failure_lines(
    reports: &[TargetReport],
    failed_tests: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    reports
        .iter()
        .filter(|r| !r.succeeded())
        .map(|r| {
            let tests = failed_tests.get(&r.triple).filter(|t| !t.is_empty());
            match (r.status, tests) {
                (Some(_), Some(tests)) => {
                    format!("{}: tests failed: {}", r.triple, tests.join(", "))
                }
                (Some(c), None) => format!("{}: cargo exited with code {c}", r.triple),
                (None, _) => format!("{}: the build step left no result", r.triple),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> Vec<(String, String)> {
        let mut m = vec![
            ("/src".to_string(), "/home/me/ws".to_string()),
            (
                "/green-cross/target".to_string(),
                "/home/me/ws/target".to_string(),
            ),
        ];
        m.sort_by_key(|(i, _)| std::cmp::Reverse(i.len()));
        m
    }

    #[test]
    fn artifact_paths_and_package_ids_become_the_host_s() {
        let line = r#"{"reason":"compiler-artifact","package_id":"path+file:///src/app#0.1.0","manifest_path":"/src/app/Cargo.toml","target":{"src_path":"/src/app/src/main.rs"},"filenames":["/green-cross/target/aarch64-unknown-linux-gnu/release/app"],"executable":"/green-cross/target/aarch64-unknown-linux-gnu/release/app","fresh":false}"#;
        let out: serde_json::Value =
            serde_json::from_str(&host_message(line, &map(), false).unwrap()).unwrap();
        assert_eq!(out["package_id"], "path+file:///home/me/ws/app#0.1.0");
        assert_eq!(out["manifest_path"], "/home/me/ws/app/Cargo.toml");
        assert_eq!(out["target"]["src_path"], "/home/me/ws/app/src/main.rs");
        assert_eq!(
            out["executable"],
            "/home/me/ws/target/aarch64-unknown-linux-gnu/release/app"
        );
        assert_eq!(
            out["filenames"][0],
            "/home/me/ws/target/aarch64-unknown-linux-gnu/release/app"
        );
        assert_eq!(out["fresh"], false);
    }

    #[test]
    fn only_whole_path_components_are_mapped() {
        assert_eq!(rewrite_string("/srcx/a", &map()), None);
        assert_eq!(rewrite_string("/src", &map()).unwrap(), "/home/me/ws");
        assert_eq!(
            rewrite_string(
                "registry+https://github.com/rust-lang/crates.io-index#libc@0.2.1",
                &map()
            ),
            None
        );
    }

    #[test]
    fn fresh_replays_mark_artifacts_fresh_and_build_finished_is_dropped() {
        let a = r#"{"reason":"compiler-artifact","fresh":false,"filenames":[]}"#;
        let out = host_message(a, &map(), true).unwrap();
        assert!(out.contains(r#""fresh":true"#), "{out}");
        assert_eq!(
            host_message(
                r#"{"reason":"build-finished","success":true}"#,
                &map(),
                false
            ),
            None
        );
        assert_eq!(
            host_message("test x ... ok", &map(), false).unwrap(),
            "test x ... ok"
        );
        assert_eq!(
            build_finished(false),
            r#"{"reason":"build-finished","success":false}"#
        );
    }

    #[test]
    fn rendered_diagnostics_are_left_as_cargo_wrote_them() {
        let d = r#"{"reason":"compiler-message","message":{"rendered":"/src/x","spans":[{"file_name":"/src/app/src/main.rs"}]}}"#;
        let out: serde_json::Value =
            serde_json::from_str(&host_message(d, &map(), false).unwrap()).unwrap();
        assert_eq!(out["message"]["rendered"], "/src/x");
        assert_eq!(
            out["message"]["spans"][0]["file_name"],
            "/home/me/ws/app/src/main.rs"
        );
    }

    #[test]
    fn failures_name_the_target_and_the_failing_tests() {
        let reports = vec![
            TargetReport {
                triple: "a".into(),
                status: Some(0),
                messages: None,
            },
            TargetReport {
                triple: "b".into(),
                status: Some(101),
                messages: None,
            },
            TargetReport {
                triple: "c".into(),
                status: Some(101),
                messages: None,
            },
            TargetReport {
                triple: "d".into(),
                status: None,
                messages: None,
            },
        ];
        let mut tests = BTreeMap::new();
        tests.insert(
            "c".to_string(),
            vec!["m::t1".to_string(), "m::t2".to_string()],
        );
        assert_eq!(
            failure_lines(&reports, &tests),
            [
                "b: cargo exited with code 101",
                "c: tests failed: m::t1, m::t2",
                "d: the build step left no result"
            ]
        );
    }
}
