//! Running `docker buildx build`: its output filtered to the terminal and
//! kept whole in a log, Ctrl-C, one more try when the engine lost a layer,
//! and a failure said as what it was (an image, the disk, the build).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::buildx::{Export, buildx_args, custom_image_args};
use super::progress::ProgressFilter;
use super::{Contexts, Engine, child};
use crate::error::{Error, Result};
use crate::plan::{BuildPlan, CustomImage};

/// What a finished build reports.
#[derive(Debug)]
pub struct BuildOutcome {
    pub elapsed: Duration,
    pub log: PathBuf,
    /// What went wrong with the shared cache, for warnings: the build
    /// succeeded without it.
    pub cache_problems: Vec<String>,
    /// The targets whose build step BuildKit served from its cache (its
    /// report is an earlier run's).
    pub cached_builds: BTreeSet<String>,
    /// The tests cargo reported as failed, per target.
    pub failed_tests: BTreeMap<String, Vec<String>>,
}

/// Run the build. Output is filtered to cargo's own lines (all of it with
/// `verbose`) and kept whole in `log`. Ctrl-C stops the engine and leaves
/// nothing behind in `out_dir`'s parent.
pub fn build(
    engine: &Engine,
    plan: &BuildPlan,
    contexts: &Contexts,
    export: Export,
    log: &Path,
    verbose: bool,
    interrupted: &Arc<AtomicBool>,
) -> Result<BuildOutcome> {
    let args = buildx_args(plan, contexts, export, "plain", &engine.build_opts);
    run_buildx(
        engine,
        &args,
        plan.targets.len() > 1,
        log,
        verbose,
        interrupted,
    )
}

/// Build the user's Dockerfile for one target, on its base stage loaded
/// first as CROSS_BASE_IMAGE.
pub fn build_custom_image(
    engine: &Engine,
    plan: &BuildPlan,
    contexts: &Contexts,
    c: &CustomImage,
    log: &Path,
    verbose: bool,
    interrupted: &Arc<AtomicBool>,
) -> Result<()> {
    build(
        engine,
        plan,
        contexts,
        Export::Load {
            stage: &c.base_stage,
            tag: &c.base_tag,
        },
        log,
        verbose,
        interrupted,
    )?;
    let args = custom_image_args(c, &engine.build_opts);
    let custom_log = log.with_file_name(format!(
        "last-dockerfile-{}.log",
        c.tag.rsplit(':').next().unwrap_or("build")
    ));
    run_buildx(engine, &args, false, &custom_log, verbose, interrupted)?;
    Ok(())
}

/// Run one `docker buildx build`, showing cargo's lines (all of them with
/// `verbose`) and errors, keeping everything in `log`.
fn run_buildx(
    engine: &Engine,
    args: &[String],
    multi: bool,
    log: &Path,
    verbose: bool,
    interrupted: &Arc<AtomicBool>,
) -> Result<BuildOutcome> {
    tracing::debug!(command = %shell_words::join(args), "docker");
    if let Some(parent) = log.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    }
    let mut log_file = fs::File::create(log).map_err(|e| Error::io("create", log, e))?;
    let start = Instant::now();
    let mut attempt = 1;
    loop {
        let _ = writeln!(
            log_file,
            "$ {} {}",
            engine.program.display(),
            shell_words::join(engine.global_args().iter().chain(args))
        );
        let (status, filter) =
            run_buildx_once(engine, args, multi, &mut log_file, verbose, interrupted)?;
        if interrupted.load(Ordering::SeqCst) {
            return Err(Error::Interrupted);
        }
        if status.success() {
            return Ok(BuildOutcome {
                elapsed: start.elapsed(),
                log: log.to_path_buf(),
                cache_problems: filter.cache_problems,
                cached_builds: filter.cached_builds,
                failed_tests: filter.failed_tests,
            });
        }
        // A failing cargo does not fail the build (its status is in the
        // report), so what failed here is the engine's or a setup step's.
        if filter.lost_layer && attempt < LOST_LAYER_ATTEMPTS {
            attempt += 1;
            eprintln!(
                "warning: the engine lost an image layer while unpacking it (a known race in the containerd image store); building once more"
            );
            continue;
        }
        if let Some((image, reason)) = filter.unfetched_image {
            return Err(Error::ImageUnavailable {
                image,
                reason,
                log: log.to_path_buf(),
            });
        }
        if let Some(e) = disk_full(&filter, log) {
            return Err(e);
        }
        return Err(Error::BuildFailed {
            log: log.to_path_buf(),
        });
    }
}

/// How many times a build that lost a layer to the engine is run.
const LOST_LAYER_ATTEMPTS: u32 = 2;

/// One `docker buildx build`: its progress filtered to the user's terminal
/// and written whole to `log_file`.
fn run_buildx_once(
    engine: &Engine,
    args: &[String],
    multi: bool,
    log_file: &mut fs::File,
    verbose: bool,
    interrupted: &Arc<AtomicBool>,
) -> Result<(std::process::ExitStatus, ProgressFilter)> {
    let mut cmd = engine.cmd();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = child::spawn(&mut cmd).map_err(|e| engine.spawn_error(e))?;
    let watch = child::Watch::new(&child, interrupted);
    let stdout = child.stdout.take().expect("piped");
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut BufReader::new(stdout), &mut buf);
        buf
    });
    let mut filter = ProgressFilter::new(multi);
    let stderr = child.stderr.take().expect("piped");
    let mut err_out = std::io::stderr().lock();
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        let _ = writeln!(log_file, "{line}");
        if let Some(show) = filter.line(&line, verbose) {
            let _ = writeln!(err_out, "{show}");
        }
    }
    drop(err_out);
    let status = child.wait().map_err(|e| engine.spawn_error(e))?;
    drop(watch);
    let stdout = out_thread.join().unwrap_or_default();
    let _ = log_file.write_all(&stdout);
    Ok((status, filter))
}

/// Below this, the disk that receives the artifacts is called full.
const LOW_DISK_BYTES: u64 = 64 << 20;

/// Bytes free for this user on the file system that holds `path`.
fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a statvfs to fill.
    let r = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (r == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

/// A failed build that ran out of disk, said as such: the engine's own
/// (`no space left on device` in its error), or the artifacts' (what
/// buildx reports as `EOF` while exporting, with the target dir's disk
/// nearly full). `log` is in the target dir.
fn disk_full(filter: &ProgressFilter, log: &Path) -> Option<Error> {
    let dir = log.parent().unwrap_or(log);
    let free = free_bytes(dir);
    let artifacts_full = free.is_some_and(|f| f < LOW_DISK_BYTES);
    if !filter.no_space && !artifacts_full {
        return None;
    }
    let message = if artifacts_full {
        format!(
            "the build failed: the disk that holds {} has {} MiB free, too little to receive the artifacts\n  the engine's full output is kept in {}",
            dir.display(),
            free.unwrap_or(0) >> 20,
            log.display()
        )
    } else {
        format!(
            "the build failed: the engine ran out of disk space (no space left on device)\n  the engine's full output is kept in {}",
            log.display()
        )
    };
    Some(Error::Engine {
        message,
        help: "free some space (`cargo clean`, `docker buildx prune`, `docker system df` shows the engine's use) and build again".into(),
    })
}

/// Install a Ctrl-C handler that records the interrupt instead of dying, so
/// that the engine (which gets the same signal) stops first and temporary
/// output is cleaned up.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let _ = ctrlc::set_handler(move || f.store(true, Ordering::SeqCst));
    flag
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_out_of_disk_says_so_and_where() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("build.log");
        let mut f = ProgressFilter::default();
        assert!(disk_full(&f, &log).is_none(), "this disk has room");
        f.line(
            "ERROR: failed to solve: write /var/lib/docker/x: no space left on device",
            false,
        );
        let e = disk_full(&f, &log).unwrap().to_string();
        assert!(
            e.contains("ran out of disk space") && e.contains("docker buildx prune"),
            "{e}"
        );
        // A 1 MiB file system, filled: the artifacts' disk.
        let mnt = dir.path().join("small");
        std::fs::create_dir(&mnt).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(&mnt)
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            let e = disk_full(&ProgressFilter::default(), &mnt.join("build.log"));
            let _ = std::process::Command::new("umount").arg(&mnt).status();
            let e = e.expect("a 1 MiB disk is full").to_string();
            assert!(e.contains("MiB free") && e.contains("small"), "{e}");
        }
    }
}
