//! BuildKit's plain progress, filtered to what the user reads: cargo's own
//! lines, the steps that run, and errors; and what it tells about the
//! build (cargo's exit code, failed tests, cache problems, lost layers,
//! images that could not be fetched, a full disk).

use std::collections::{BTreeMap, BTreeSet};

use crate::plan::{CARGO_STATUS_MARKER, OUT_STAGE, Stage};

/// Maps BuildKit's plain-progress vertex numbers to the stage they run.
#[derive(Default)]
pub(super) struct ProgressFilter {
    /// vertex id -> target triple, for build-<triple> steps.
    build_vertex: BTreeMap<String, String>,
    /// vertex id -> what it does, for cache imports and exports.
    cache_vertex: BTreeMap<String, String>,
    /// Failed cache imports and exports, as the user should read them.
    pub(super) cache_problems: Vec<String>,
    /// Targets whose build step was served from BuildKit's cache.
    pub(super) cached_builds: BTreeSet<String>,
    /// `test NAME ... FAILED` lines of the build steps, per target.
    pub(super) failed_tests: BTreeMap<String, Vec<String>>,
    /// vertex id -> target triple, for the cargo steps of deps-<triple>.
    deps_vertex: BTreeMap<String, String>,
    /// vertex id -> stage, for the RUN steps that set up a toolchain,
    /// sysroot or runner (minutes on a cold builder, silent otherwise).
    setup_vertex: BTreeMap<String, String>,
    /// The setup stages already announced.
    announced: std::collections::BTreeSet<String>,
    multi: bool,
    failed_build_code: Option<i32>,
    failed_other: bool,
    /// The engine lost a layer while unpacking an image: a race in the
    /// containerd image store (containerd/containerd#3787,
    /// moby/buildkit#6521) that the same build, run again, gets past.
    pub(super) lost_layer: bool,
    /// vertex id -> image, for the steps that resolve or pull an image.
    image_vertex: BTreeMap<String, String>,
    /// An image the engine could not fetch, and the engine's reason.
    pub(super) unfetched_image: Option<(String, String)>,
    /// The engine said `no space left on device`.
    pub(super) no_space: bool,
    /// A line of BuildKit's progress was seen: before one, every line is
    /// the engine client's own (an unknown flag from CROSS_BUILD_OPTS, a
    /// context it cannot read) and is shown.
    progress_started: bool,
}

impl ProgressFilter {
    /// A filter for one build; `multi` when it builds several targets (their
    /// lines are then prefixed with the target).
    pub(super) fn new(multi: bool) -> ProgressFilter {
        ProgressFilter {
            multi,
            ..Default::default()
        }
    }

    /// The line to show the user for one line of plain progress, if any.
    pub(super) fn line(&mut self, line: &str, verbose: bool) -> Option<String> {
        let Some((id, body)) = numbered(line) else {
            return self.unnumbered(line, verbose);
        };
        self.progress_started = true;
        // What most lines come to: shown whole with `verbose`, else not.
        let echo = || verbose.then(|| line.to_string());
        if let Some(image) = body.strip_prefix("[internal] load metadata for ") {
            self.image_vertex
                .insert(id.to_string(), image.trim().to_string());
            return echo();
        }
        if let Some(stage_step) = body.strip_prefix('[') {
            return self.step_started(id, stage_step, verbose).or_else(echo);
        }
        if self.cache_line(id, body) {
            return echo();
        }
        if body.starts_with("ERROR") {
            self.step_failed(id, body);
            return Some(line.to_string());
        }
        if self.setup_vertex.contains_key(id) {
            return self.setup_output(id, body, verbose).or_else(echo);
        }
        if self.deps_vertex.contains_key(id) {
            return self.deps_output(id, body).or_else(echo);
        }
        if self.build_vertex.contains_key(id) {
            return self.build_output(id, body, echo);
        }
        echo()
    }

    /// A line without a vertex: the engine client's own (shown before any
    /// progress), BuildKit's final error (always shown), or chatter.
    fn unnumbered(&mut self, line: &str, verbose: bool) -> Option<String> {
        if line.starts_with("ERROR") {
            self.lost_layer |= is_lost_layer(line);
            self.no_space |= line.contains("no space left on device");
        }
        let own = !self.progress_started && !line.trim().is_empty();
        (verbose || own || line.starts_with("ERROR")).then(|| line.to_string())
    }

    /// A step's header, `[stage n/m] INSTRUCTION`: which image it fetches,
    /// and whether it is cargo's step in a dependencies or build stage or a
    /// setup step. The first header of a build step is announced (unless
    /// `verbose`, which shows the header itself).
    fn step_started(&mut self, id: &str, stage_step: &str, verbose: bool) -> Option<String> {
        if let Some((_, image)) = stage_step.split_once("] FROM ") {
            let image = image.split_whitespace().next().unwrap_or_default();
            self.image_vertex.insert(
                id.to_string(),
                image.split('@').next().unwrap_or(image).into(),
            );
        }
        let (stage, step) = stage_step.split_once(' ')?;
        // Only the RUN step of a build stage is cargo's (not its WORKDIR).
        let is_run = step
            .split_once("] ")
            .is_some_and(|(_, instr)| instr.starts_with("RUN "));
        if !is_run {
            return None;
        }
        // The dependencies stage's cargo lines are shown as they come.
        if let Some(Stage::Deps(triple)) = Stage::parse(stage) {
            self.deps_vertex.insert(id.to_string(), triple);
        }
        if is_setup_stage(stage) {
            self.setup_vertex.insert(id.to_string(), stage.to_string());
        }
        let Some(Stage::Build(triple)) = Stage::parse(stage) else {
            return None;
        };
        let first = self
            .build_vertex
            .insert(id.to_string(), triple.clone())
            .is_none();
        (first && !verbose).then(|| format!("   Building {triple} in BuildKit"))
    }

    /// A cache import or export starting, or failing: a failure is kept as
    /// a problem to warn about. Whether the line was one of these.
    fn cache_line(&mut self, id: &str, body: &str) -> bool {
        if let Some(r) = body.strip_prefix("importing cache manifest from ") {
            self.cache_vertex
                .insert(id.to_string(), format!("import from {r}"));
            return true;
        }
        if body.starts_with("exporting cache to ") {
            self.cache_vertex
                .insert(id.to_string(), body.trim_end_matches(" done").to_string());
            return true;
        }
        let (Some(what), Some(err)) = (self.cache_vertex.get(id), body.strip_prefix("ERROR: "))
        else {
            return false;
        };
        // A cache that cannot be read or written costs time, not the
        // build: the engine carries on (exports with ignore-error).
        if let Some(r) = what.strip_prefix("import from ") {
            if !err.trim_end().ends_with("not found") {
                self.cache_problems
                    .push(format!("the build cache could not be read from {r}: {err}"));
            }
        } else {
            self.cache_problems.push(format!(
                "{what} failed, so this build's layers were not shared: {err}"
            ));
        }
        true
    }

    /// A step failed: other than cargo's build step (whose failure is
    /// cargo's), an engine that lost a layer, or an image that could not be
    /// fetched.
    fn step_failed(&mut self, id: &str, body: &str) {
        if !self.build_vertex.contains_key(id) || self.failed_build_code.is_none() {
            self.failed_other = true;
        }
        let lost = is_lost_layer(body);
        self.lost_layer |= lost;
        if let Some(image) = self.image_vertex.get(id)
            && !lost
            && self.unfetched_image.is_none()
        {
            let reason = body.trim_start_matches("ERROR:").trim();
            self.unfetched_image = Some((image.clone(), reason.to_string()));
        }
    }

    /// Output of a setup step: its stage is announced the first time the
    /// step really runs (unless `verbose`); the output is not shown.
    fn setup_output(&mut self, id: &str, body: &str, verbose: bool) -> Option<String> {
        let stage = self.setup_vertex.get(id)?;
        // Output with a timestamp: the step really runs.
        let running = body
            .split_once(' ')
            .is_some_and(|(ts, _)| ts.parse::<f64>().is_ok());
        (running && !verbose && self.announced.insert(stage.clone()))
            .then(|| format!("   Preparing {stage}"))
    }

    /// Output of a dependencies stage's cargo step: cargo's lines, not the
    /// step's own states.
    fn deps_output(&self, id: &str, body: &str) -> Option<String> {
        let triple = self.deps_vertex.get(id)?;
        if body == "CACHED" || body == "..." || body.starts_with("DONE") {
            return None;
        }
        Some(self.cargo_line(triple, without_timestamp(body)))
    }

    /// Output of a build step: a cache hit, cargo's lines (failed tests are
    /// noted), and the exit code cargo left (not shown). `echo` is what the
    /// step's own states come to.
    fn build_output(
        &mut self,
        id: &str,
        body: &str,
        echo: impl FnOnce() -> Option<String>,
    ) -> Option<String> {
        let triple = self.build_vertex.get(id)?;
        if body == "CACHED" {
            self.cached_builds.insert(triple.clone());
            return Some(format!("      Fresh {triple} (cached)"));
        }
        if body == "..." || body.starts_with("DONE") {
            return echo();
        }
        // Drop the timestamp, keep cargo's own line.
        let text = without_timestamp(body);
        if let Some(code) = text.strip_prefix(CARGO_STATUS_MARKER) {
            self.failed_build_code = code.trim().parse().ok();
            return None;
        }
        if let Some(name) = text
            .strip_prefix("test ")
            .and_then(|t| t.strip_suffix(" ... FAILED"))
        {
            self.failed_tests
                .entry(triple.clone())
                .or_default()
                .push(name.to_string());
        }
        Some(self.cargo_line(triple, text))
    }

    /// One of cargo's lines, prefixed with its target when the build has
    /// several.
    fn cargo_line(&self, triple: &str, text: &str) -> String {
        if self.multi {
            format!("[{triple}] {text}")
        } else {
            text.to_string()
        }
    }
}

/// A line of BuildKit's plain progress, `#<vertex> <body>`, split in two.
fn numbered(line: &str) -> Option<(&str, &str)> {
    let (id, body) = line.strip_prefix('#')?.split_once(' ')?;
    id.chars().all(|c| c.is_ascii_digit()).then_some((id, body))
}

/// `12.34 text`: the text without BuildKit's timestamp.
fn without_timestamp(body: &str) -> &str {
    match body.split_once(' ') {
        Some((ts, text)) if ts.parse::<f64>().is_ok() => text,
        _ => body,
    }
}

/// Whether a stage's RUN steps set up a toolchain, sysroot or runner (not
/// cargo's stages or the outputs stages). A name of none of green-cross's
/// stages is a stage of a user's Dockerfile (`dockerfile`), which sets up
/// its image, unless it starts as BuildKit's own vertices or the outputs
/// stage do.
fn is_setup_stage(name: &str) -> bool {
    match Stage::parse(name).as_ref() {
        Some(s) => !matches!(
            s,
            Stage::Deps(_) | Stage::Build(_) | Stage::Artifacts(_) | Stage::Out
        ),
        None => ![OUT_STAGE, "context", "internal"]
            .iter()
            .any(|p| name.starts_with(p)),
    }
}

/// Whether an engine error is containerd's lost-parent race.
fn is_lost_layer(error: &str) -> bool {
    error.contains("failed to prepare extraction snapshot")
        || (error.contains("parent snapshot") && error.contains("does not exist"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_client_s_own_errors_are_shown_before_any_progress() {
        let mut f = ProgressFilter::default();
        assert_eq!(
            f.line("unknown flag: --bogus-flag", false).as_deref(),
            Some("unknown flag: --bogus-flag")
        );
        assert_eq!(f.line("#0 building with \"default\" instance", false), None);
        assert_eq!(f.line("some later chatter", false), None);
    }

    #[test]
    fn progress_filter_shows_cargo_lines_and_finds_its_exit_code() {
        let mut f = ProgressFilter::default();
        assert_eq!(f.line("#5 [sysroot-x 1/3] RUN apt-get update", false), None);
        assert_eq!(
            f.line(
                "#8 [build-aarch64-unknown-linux-gnu 1/2] WORKDIR /src",
                false
            ),
            None
        );
        assert_eq!(f.line("#8 CACHED", false), None);
        assert_eq!(
            f.line(
                "#9 [build-aarch64-unknown-linux-gnu 2/2] RUN cargo build",
                false
            )
            .as_deref(),
            Some("   Building aarch64-unknown-linux-gnu in BuildKit")
        );
        assert_eq!(
            f.line("#9 1.234    Compiling itoa v1.0.0", false)
                .as_deref(),
            Some("   Compiling itoa v1.0.0")
        );
        // A setup step that runs is announced once; its output is not shown.
        assert_eq!(
            f.line("#5 0.5 Get:1 http://example", false).as_deref(),
            Some("   Preparing sysroot-x")
        );
        assert_eq!(f.line("#5 0.7 Get:2 http://example", false), None);
        assert_eq!(
            f.line("#6 [toolchain 2/2] RUN apt-get install", false),
            None
        );
        assert_eq!(f.line("#6 CACHED", false), None);
        // The dependencies stage's cargo lines show; its cache hits do not.
        assert_eq!(
            f.line(
                "#7 [deps-aarch64-unknown-linux-gnu 3/3] RUN cargo build",
                false
            ),
            None
        );
        assert_eq!(
            f.line("#7 2.5    Compiling libc v0.2.1", false).as_deref(),
            Some("   Compiling libc v0.2.1")
        );
        assert_eq!(f.line("#7 CACHED", false), None);
        // Repeated step headers and continuation markers are not repeated.
        assert_eq!(
            f.line(
                "#9 [build-aarch64-unknown-linux-gnu 2/2] RUN cargo build",
                false
            ),
            None
        );
        assert_eq!(f.line("#9 ...", false), None);
        assert_eq!(
            f.line("#9 3.5 green-cross: cargo exited with status 101", false),
            None
        );
        let e = "#9 ERROR: process \"/bin/sh -c cargo build\" did not complete successfully: exit code: 101";
        assert!(f.line(e, false).is_some());
        assert_eq!(f.failed_build_code, Some(101));
        assert!(!f.failed_other);
    }

    #[test]
    fn steps_that_set_up_are_told_from_cargo_s_steps_by_their_stage() {
        let t = "aarch64-unknown-linux-gnu";
        for stage in [
            "toolchain".to_string(),
            "toolchain-alpine".into(),
            format!("toolchain-{t}-custom"),
            format!("zig-{t}"),
            format!("sysroot-{t}"),
            format!("runner-{t}"),
            // A user's Dockerfile's stages.
            "stage-0".into(),
            "builder".into(),
        ] {
            assert!(is_setup_stage(&stage), "{stage}");
        }
        for stage in [
            format!("deps-{t}"),
            format!("build-{t}"),
            format!("artifacts-{t}"),
            "green-cross-out".into(),
            "context".into(),
            "internal]".into(),
        ] {
            assert!(!is_setup_stage(&stage), "{stage}");
        }
    }

    #[test]
    fn cache_errors_become_warnings_not_failures() {
        let mut f = ProgressFilter::default();
        let lines = [
            "#5 importing cache manifest from 127.0.0.1:5000/c:a-main",
            "#5 ERROR: failed to configure registry cache importer: 127.0.0.1:5000/c:a-main: not found",
            "#6 importing cache manifest from 127.0.0.1:5999/c:a-main",
            "#6 ERROR: failed to configure registry cache importer: failed to do request: connection refused",
            "#9 exporting cache to registry",
            "#9 preparing build cache for export",
            "#9 ERROR: error writing layer blob: connection refused",
        ];
        for l in lines {
            assert_eq!(f.line(l, false), None, "{l}");
        }
        assert!(!f.failed_other);
        assert_eq!(
            f.cache_problems,
            [
                "the build cache could not be read from 127.0.0.1:5999/c:a-main: failed to configure registry cache importer: failed to do request: connection refused",
                "exporting cache to registry failed, so this build's layers were not shared: error writing layer blob: connection refused"
            ]
        );
    }

    #[test]
    fn failure_outside_the_build_step_has_no_cargo_code() {
        let mut f = ProgressFilter::default();
        f.line("#5 [sysroot-x 1/3] RUN apt-get update", false);
        f.line("#5 ERROR: process \"/bin/sh -c apt-get update\" did not complete successfully: exit code: 100", false);
        assert_eq!(f.failed_build_code, None);
        assert!(f.failed_other);
        // A step after cargo failing in the build stage is not cargo's failure.
        f.line("#9 [build-x 2/2] RUN cargo build", false);
        f.line("#9 4.0 find: missing argument to `-exec'", false);
        f.line("#9 ERROR: process \"/bin/sh -c cargo build\" did not complete successfully: exit code: 1", false);
        assert_eq!(f.failed_build_code, None);
    }

    #[test]
    fn an_image_the_engine_cannot_fetch_is_named() {
        let mut f = ProgressFilter::default();
        f.line(
            "#2 [internal] load metadata for docker.io/library/rust:1.99.1-slim-bookworm",
            false,
        );
        f.line(
            "#3 [internal] load metadata for docker.io/tonistiigi/xx:1.6.1@sha256:9234",
            false,
        );
        f.line("#2 ERROR: failed to do request: Head: no such host", false);
        f.line(
            "#3 ERROR: failed to do request: Head: no such host (second)",
            false,
        );
        assert_eq!(
            f.unfetched_image,
            Some((
                "docker.io/library/rust:1.99.1-slim-bookworm".into(),
                "failed to do request: Head: no such host".into()
            ))
        );
        // A layer pulled for a stage's FROM; the digest is left out.
        let mut f = ProgressFilter::default();
        f.line(
            "#7 [xx 1/1] FROM docker.io/tonistiigi/xx:1.6.1@sha256:9234",
            false,
        );
        f.line(
            "#7 ERROR: failed to copy: httpReadSeeker: failed open: unexpected status code 502",
            false,
        );
        assert_eq!(
            f.unfetched_image.unwrap().0,
            "docker.io/tonistiigi/xx:1.6.1"
        );
        // Failing steps are not images.
        let mut f = ProgressFilter::default();
        f.line("#5 [sysroot-x 1/3] RUN apt-get update", false);
        f.line(
            "#5 ERROR: process did not complete successfully: exit code: 100",
            false,
        );
        assert_eq!(f.unfetched_image, None);
    }

    #[test]
    fn a_layer_lost_by_the_engine_is_told_apart_from_other_failures() {
        // As the docker engine 26 printed it for a runner image's FROM.
        let mut f = ProgressFilter::default();
        f.line(
            "#13 [runner-aarch64-unknown-linux-gnu 1/3] FROM docker.io/green-cross/debian:bookworm",
            false,
        );
        let lost = "ERROR: failed to prepare extraction snapshot \"extract-524663876-KuZx sha256:730e\": parent snapshot sha256:7a81 does not exist: not found";
        assert_eq!(
            f.line(&format!("#13 {lost}"), false).as_deref(),
            Some(&*format!("#13 {lost}"))
        );
        assert!(f.lost_layer && f.failed_build_code.is_none());
        let mut f = ProgressFilter::default();
        f.line("ERROR: failed to solve: failed to prepare extraction snapshot \"extract-524663876-KuZx sha256:730e\": parent snapshot sha256:7a81 does not exist: not found", false);
        assert!(f.lost_layer, "the final line alone tells it too");
        // Any other failure is not retried.
        let mut f = ProgressFilter::default();
        f.line("#5 [sysroot-x 1/3] RUN apt-get update", false);
        f.line("#5 ERROR: process \"/bin/sh -c apt-get update\" did not complete successfully: exit code: 100", false);
        f.line("ERROR: failed to solve: process \"/bin/sh -c apt-get update\" did not complete successfully: exit code: 100", false);
        assert!(!f.lost_layer);
    }
}
