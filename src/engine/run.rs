//! `run`: the built binary, on the host or in its runner image.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::Engine;
use crate::error::{Error, Result};
use crate::plan::{RunPlan, RunnerImage};

/// The `docker run` arguments that run `run`'s binary in its runner image:
/// the workspace (and the target dir, when elsewhere) mounted at their own
/// paths, the user's directory as the working directory, stdin passed
/// through, a terminal when there is one, and an init process so that
/// Ctrl-C reaches the program.
pub fn docker_run_args(
    run: &RunPlan,
    image: &RunnerImage,
    mounts: &[&Path],
    user: Option<(u32, u32)>,
    tty: bool,
    container_opts: &[String],
) -> Vec<String> {
    let mut a: Vec<String> = vec!["run".into(), "--rm".into(), "--init".into(), "-i".into()];
    if tty {
        a.push("-t".into());
    }
    if let Some((uid, gid)) = user {
        a.extend(["--user".into(), format!("{uid}:{gid}")]);
    }
    for (k, v) in &run.env {
        a.extend(["--env".into(), format!("{k}={v}")]);
    }
    a.extend(container_opts.iter().cloned());
    let mut seen: Vec<&Path> = Vec::new();
    for m in mounts {
        if seen.iter().any(|s| m.starts_with(s)) {
            continue;
        }
        seen.push(m);
        a.extend(["--volume".into(), format!("{0}:{0}", m.display())]);
    }
    a.extend(["--workdir".into(), run.cwd.display().to_string()]);
    a.push(image.tag.clone());
    a.extend(image.program.iter().cloned());
    a.push(run.binary.display().to_string());
    a.extend(run.args.iter().cloned());
    a
}

/// Run `run`'s binary: on the host when it runs natively, else in its
/// runner image. Returns the program's exit code (128 + the signal when a
/// signal ended it).
pub fn run_binary(
    engine: &Engine,
    run: &RunPlan,
    workspace_root: &Path,
    target_dir: &Path,
) -> Result<i32> {
    use std::io::IsTerminal;
    let status = match &run.image {
        None => Command::new(&run.binary)
            .args(&run.args)
            .envs(&run.env)
            .current_dir(&run.cwd)
            .status()
            .map_err(|e| Error::Spawn {
                program: run.binary.display().to_string(),
                message: e.to_string(),
                help: "the build placed it there; check that it exists and is executable".into(),
            })?,
        Some(image) => {
            let user = engine.container_user.or_else(current_user);
            let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
            let mut mounts = vec![workspace_root, target_dir];
            mounts.extend(run.volumes.iter().map(PathBuf::as_path));
            let args = docker_run_args(run, image, &mounts, user, tty, &engine.container_opts);
            tracing::debug!(?args, "docker run");
            engine
                .cmd()
                .args(&args)
                .status()
                .map_err(|e| engine.spawn_error(e))?
        }
    };
    Ok(exit_code(status))
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(crate::error::EXIT_OWN_ERROR)
}

/// The uid and gid of this process (the owner of /proc/self), so that files
/// the program writes in the workspace belong to the user.
fn current_user() -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata("/proc/self").ok()?;
    Some((m.uid(), m.gid()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_run_mounts_the_workspace_at_its_path_and_passes_arguments() {
        let image = RunnerImage {
            stage: crate::plan::Stage::Runner("t".into()),
            tag: "green-cross-runner:t-0".into(),
            program: vec!["qemu-aarch64-static".into()],
            runner: crate::plan::RunnerPlan {
                kind: crate::target::Runner::QemuUser,
                install: None,
                files: vec![],
                setup: vec![],
                env: Default::default(),
            },
        };
        let run = RunPlan {
            triple: "t".into(),
            binary: "/w/target/t/debug/app".into(),
            args: vec!["a b".into(), "-x".into()],
            cwd: "/w/sub".into(),
            env: [("RUST_LOG".to_string(), "debug".to_string())].into(),
            volumes: vec![],
            image: Some(image.clone()),
        };
        let a = docker_run_args(
            &run,
            &image,
            &[Path::new("/w"), Path::new("/w/target")],
            Some((1000, 1000)),
            false,
            &["--cpus=1".to_string()],
        );
        assert_eq!(
            a.join(" "),
            "run --rm --init -i --user 1000:1000 --env RUST_LOG=debug --cpus=1 --volume /w:/w --workdir /w/sub green-cross-runner:t-0 qemu-aarch64-static /w/target/t/debug/app a b -x"
        );
        let a = docker_run_args(
            &run,
            &image,
            &[Path::new("/w"), Path::new("/t")],
            None,
            true,
            &[],
        );
        assert!(
            a.join(" ").starts_with(
                "run --rm --init -i -t --env RUST_LOG=debug --volume /w:/w --volume /t:/t "
            ),
            "{a:?}"
        );
    }
}
