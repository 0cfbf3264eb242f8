//! The engine client as a child that never outlives green-cross, and
//! temporary directories that never outlive a killed run.
//!
//! The child runs in a process group of its own, so that green-cross
//! decides when it stops: on Ctrl-C, SIGTERM or SIGHUP (all three set the
//! interrupt flag) the group gets SIGINT, which makes buildx cancel the
//! build, and SIGKILL if it is still there [`GRACE`] later. When
//! green-cross itself is killed (SIGKILL, which nothing can catch), the
//! kernel sends the child SIGTERM (`PR_SET_PDEATHSIG`). The temporary
//! directories carry green-cross's process id in their names, so that the
//! next run removes those whose process is gone.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long the engine client has to stop after SIGINT before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(15);

/// Spawn `cmd` in a process group of its own, ended by the kernel if
/// green-cross dies first.
pub fn spawn(cmd: &mut Command) -> io::Result<Child> {
    cmd.process_group(0);
    // SAFETY: child_before_exec only makes async-signal-safe calls and
    // touches no memory of the parent's.
    unsafe {
        cmd.pre_exec(child_before_exec);
    }
    cmd.spawn()
}

/// In the child before exec: SIGINT back to its default action (a shell
/// that starts green-cross in the background, or `nohup`, leaves it
/// ignored, and it is how green-cross asks the child to stop); SIGTERM when
/// green-cross dies; an error when it died already (before the prctl), as
/// then nobody waits for the child.
fn child_before_exec() -> io::Result<()> {
    // SAFETY: signal, prctl and getppid are async-signal-safe.
    unsafe {
        if libc::signal(libc::SIGINT, libc::SIG_DFL) == libc::SIG_ERR {
            return Err(io::Error::last_os_error());
        }
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::getppid() == 1 {
            return Err(io::Error::other("green-cross exited"));
        }
    }
    Ok(())
}

/// Spawn `cmd` in a session of its own, with no controlling terminal, so
/// that nothing it runs (ssh, git) can stop to prompt; ended by the kernel
/// if green-cross dies first. Its process group is its session's.
pub fn spawn_without_terminal(cmd: &mut Command) -> io::Result<Child> {
    // SAFETY: setsid and child_before_exec are async-signal-safe and touch
    // no memory of the parent's.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            child_before_exec()
        });
    }
    cmd.spawn()
}

/// Ends the child's process group when the interrupt flag is set, until
/// dropped (when the child has exited).
pub struct Watch {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watch {
    pub fn new(child: &Child, interrupted: &Arc<AtomicBool>) -> Watch {
        let done = Arc::new(AtomicBool::new(false));
        let group = child.id() as libc::pid_t;
        let (d, flag) = (done.clone(), interrupted.clone());
        let thread = std::thread::spawn(move || watch(group, &d, &flag));
        Watch {
            done,
            thread: Some(thread),
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn watch(group: libc::pid_t, done: &AtomicBool, interrupted: &AtomicBool) {
    let tick = Duration::from_millis(50);
    while !done.load(Ordering::SeqCst) && !interrupted.load(Ordering::SeqCst) {
        std::thread::sleep(tick);
    }
    if done.load(Ordering::SeqCst) {
        return;
    }
    // SAFETY: kill has no memory effects; a group that is gone is ESRCH.
    unsafe { libc::kill(-group, libc::SIGINT) };
    let since = Instant::now();
    while !done.load(Ordering::SeqCst) {
        if since.elapsed() > GRACE {
            // SAFETY: as above.
            unsafe { libc::kill(-group, libc::SIGKILL) };
            return;
        }
        std::thread::sleep(tick);
    }
}

/// A temporary directory's mode: this user's alone (0700).
pub fn private() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o700)
}

/// The prefix of a temporary directory of this process: `<base><pid>-`.
pub fn temp_prefix(base: &str) -> String {
    format!("{base}{}-", std::process::id())
}

/// Whether process `pid` is running (or exists under another user).
fn alive(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Remove the directories `<base><pid>-*` in `dir` whose process is gone
/// and which belong to this user: what a killed run left behind.
pub fn sweep(dir: &Path, base: &str) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    // SAFETY: getuid cannot fail.
    let me = unsafe { libc::getuid() };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(base)) else {
            continue;
        };
        let Some(pid) = rest
            .split('-')
            .next()
            .and_then(|p| p.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        let mine = e.metadata().is_ok_and(|m| m.is_dir() && m.uid() == me);
        if mine && pid != std::process::id() as libc::pid_t && !alive(pid) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_removes_what_dead_processes_left_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        // A pid that cannot be running: above the kernel's maximum.
        let dead = dir.path().join("green-cross-4194305-abc");
        let running = dir
            .path()
            .join(format!("green-cross-{}-abc", std::process::id()));
        let parent = dir
            .path()
            .join(format!("green-cross-{}-abc", unsafe { libc::getppid() }));
        let other = dir.path().join("green-cross-cache");
        let file = dir.path().join("green-cross-4194306-x");
        for d in [&dead, &running, &parent, &other] {
            std::fs::create_dir(d).unwrap();
            std::fs::write(d.join("Dockerfile"), "FROM scratch\n").unwrap();
        }
        std::fs::write(&file, "").unwrap();
        sweep(dir.path(), "green-cross-");
        assert!(!dead.exists());
        assert!(running.exists() && parent.exists() && other.exists() && file.exists());
    }

    /// Spawns `cmd`, sets the interrupt flag at once, and waits: the
    /// child's exit status and how long it took to end.
    fn interrupted(cmd: &mut Command) -> (std::process::ExitStatus, Duration) {
        let flag = Arc::new(AtomicBool::new(false));
        let mut child = spawn(cmd).unwrap();
        let watch = Watch::new(&child, &flag);
        flag.store(true, Ordering::SeqCst);
        let start = Instant::now();
        let status = child.wait().unwrap();
        drop(watch);
        (status, start.elapsed())
    }

    #[test]
    fn an_interrupt_ends_the_child_s_process_group() {
        let (status, took) = interrupted(Command::new("sleep").arg("30"));
        assert!(!status.success());
        assert!(took < Duration::from_secs(10));
    }

    #[test]
    fn an_interrupt_ends_a_child_that_was_handed_sigint_ignored() {
        // As a shell's background job or `nohup` hands it down: ignored
        // before spawn's own steps run, which must undo it.
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        // SAFETY: signal is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_IGN);
                Ok(())
            });
        }
        let (status, took) = interrupted(&mut cmd);
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGINT));
        assert!(took < GRACE);
    }
}
