//! How `test`, `bench` and `run` run what they build: runner stages, runner images and the run plan.

use super::*;
use crate::triple::arch;

/// How the build step runs binaries for the target (`test`): the tools a
/// `runner-<triple>` stage installs and the environment cargo reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunnerPlan {
    pub kind: Runner,
    pub install: Option<PackageInstall>,
    /// Files written into the runner stage: (path, contents).
    pub files: Vec<(String, String)>,
    /// Shell commands run once in the runner stage.
    pub setup: Vec<String>,
    pub env: BTreeMap<String, String>,
}

/// The source of the `bcryptprimitives.dll` shim that wine 8 needs to run
/// binaries built by Rust 1.78 and later.
pub(super) const WINE_SHIM_C: &str = "wine/bcryptprimitives.c";
pub(super) const WINE_SHIM_DEF: &str = "wine/bcryptprimitives.def";
/// The build argument whose fresh value keeps a build step out of the cache
/// (`test`, and builds handed `env.secrets`).
pub const FRESH_ARG: &str = "GREEN_CROSS_RUN_ID";

/// The runner in force for a target: the recipe's, or `runner` from the
/// configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunnerChoice {
    pub kind: Runner,
    /// For [`Runner::Command`]: the command, as written.
    pub command: Option<String>,
    /// Named by the configuration rather than the recipe.
    pub configured: bool,
}

/// How `run` runs the binary after the build has placed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunPlan {
    pub triple: String,
    /// The binary on the host, where the build places it.
    pub binary: PathBuf,
    /// The arguments after `--`.
    pub args: Vec<String>,
    /// The directory it runs in (the user's, when inside the workspace).
    pub cwd: PathBuf,
    /// `env.passthrough` and `env.volumes` variables, set for the program.
    pub env: BTreeMap<String, String>,
    /// `env.volumes` directories, mounted in the runner container.
    pub volumes: Vec<PathBuf>,
    /// The runner image; None when the host runs the binary itself.
    pub image: Option<RunnerImage>,
}

/// A `runner-<triple>` stage, loaded into the engine as an image in which
/// `run` executes the binary (with the workspace mounted at its own path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunnerImage {
    pub stage: Stage,
    pub tag: String,
    /// The runner program, before the binary and its arguments.
    pub program: Vec<String>,
    pub runner: RunnerPlan,
}

pub(super) fn asset(name: &str) -> String {
    crate::target::asset_text(name)
        .expect("support files are embedded")
        .to_string()
}

/// The runner stage for a target, or None when its binaries run natively
/// or not at all.
pub(super) fn runner_plan(
    r: &Recipe,
    choice: &RunnerChoice,
    mode: ToolchainMode,
    flavour: ImageFlavour,
    m: &crate::target::ModeRecipe,
    multiarch: bool,
) -> Option<RunnerPlan> {
    let up = env_upper(&r.triple);
    let apt = |packages: Vec<&str>| PackageInstall::Apt {
        deb_arch: None,
        packages: sorted(packages.into_iter().map(str::to_string)),
        target_packages: vec![],
    };
    let mut env = BTreeMap::new();
    match choice.kind {
        Runner::Native | Runner::None => None,
        Runner::Command => {
            let cmd = choice.command.clone().unwrap_or_default();
            env.insert(format!("CARGO_TARGET_{up}_RUNNER"), cmd);
            Some(RunnerPlan {
                kind: Runner::Command,
                install: None,
                files: vec![],
                setup: vec![],
                env,
            })
        }
        Runner::QemuUser => {
            let arch = r.qemu.as_deref().expect("validated recipe");
            let (install, program) = match (mode, flavour) {
                (ToolchainMode::Rustup, ImageFlavour::Alpine) => (
                    PackageInstall::XxApk {
                        platform: r.platform.clone(),
                        packages: vec![format!("qemu-{arch}")],
                        target_packages: vec![],
                    },
                    format!("qemu-{arch}"),
                ),
                _ => (apt(vec!["qemu-user-static"]), format!("qemu-{arch}-static")),
            };
            env.insert(format!("CARGO_TARGET_{up}_RUNNER"), program);
            // Dynamically linked binaries find the target's loader and libc
            // in the cross sysroot, unless the target's own libc is installed
            // through multiarch: then /etc/ld.so.cache lists the multiarch
            // libraries, and the cross sysroot's loader would pair with a
            // libc of another build (a mismatch that hangs in
            // pthread_create), so the guest uses the system's loader.
            if r.libc == crate::target::Libc::Gnu
                && !multiarch
                && let Some(sysroot) = &m.sysroot
            {
                env.insert("QEMU_LD_PREFIX".into(), sysroot.clone());
            }
            Some(RunnerPlan {
                kind: Runner::QemuUser,
                install: Some(install),
                files: vec![],
                setup: vec![],
                env,
            })
        }
        Runner::Wine => {
            let dir = "/opt/green-cross/wine";
            env.insert(
                format!("CARGO_TARGET_{up}_RUNNER"),
                "/usr/lib/wine/wine64".into(),
            );
            env.insert("WINEPREFIX".into(), "/tmp/green-cross-wine".into());
            env.insert("WINEDEBUG".into(), "-all".into());
            env.insert("WINEDLLOVERRIDES".into(), "mscoree,mshtml=".into());
            env.insert("WINEPATH".into(), "Z:\\opt\\green-cross\\wine".into());
            Some(RunnerPlan {
                kind: Runner::Wine,
                install: Some(apt(vec!["wine", "wine64"])),
                files: vec![
                    (format!("{dir}/bcryptprimitives.c"), asset(WINE_SHIM_C)),
                    (format!("{dir}/bcryptprimitives.def"), asset(WINE_SHIM_DEF)),
                ],
                setup: vec![format!(
                    "x86_64-w64-mingw32-gcc -shared -O2 -o {dir}/bcryptprimitives.dll {dir}/bcryptprimitives.c {dir}/bcryptprimitives.def -ladvapi32"
                )],
                env,
            })
        }
    }
}

/// Whether the plan installs target-architecture packages through
/// multiarch (then the target's own loader and libc are in the system).
pub(super) fn installs_multiarch(install: Option<&PackageInstall>) -> bool {
    match install {
        Some(
            PackageInstall::Apt {
                target_packages, ..
            }
            | PackageInstall::XxApt {
                target_packages, ..
            }
            | PackageInstall::XxApk {
                target_packages, ..
            },
        ) => !target_packages.is_empty(),
        None => false,
    }
}

/// The binary `run` runs, and whether the user named it with `--bin`.
pub(super) fn run_binary(inv: &Invocation, ws: &Workspace) -> Result<(String, bool)> {
    if inv.example {
        return Err(Error::Usage(
            "`run --example` is not supported yet\n  help: build it with `green-cross build --example <name> --target <triple>`".into(),
        ));
    }
    let given = inv.bin.is_some();
    let name = crate::workspace::select_binary(ws, inv.bin.as_deref(), &inv.packages)
        .map_err(Error::Usage)?;
    Ok((name, given))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn run_plan(
    r: &Recipe,
    choice: &RunnerChoice,
    mode: ToolchainMode,
    flavour: ImageFlavour,
    m: &crate::target::ModeRecipe,
    install: Option<&PackageInstall>,
    ws: &Workspace,
    profile_dir: &str,
    bin: String,
    inv: &Invocation,
    host: &Host,
) -> Result<RunPlan> {
    let exe = if r.triple.contains("windows") {
        format!("{bin}.exe")
    } else {
        bin
    };
    let binary = ws.target_dir.join(&r.triple).join(profile_dir).join(exe);
    let image = match choice.kind {
        Runner::None => {
            return Err(Error::Usage(format!(
                "{} binaries cannot run on this host\n  help: build it with `green-cross build --target {}` and run it on a {} machine",
                r.triple, r.triple, r.platform
            )));
        }
        Runner::Native if choice.configured || arch(&host.triple) == arch(&r.triple) => None,
        Runner::Native => {
            return Err(Error::Usage(format!(
                "{} binaries run natively on {} hosts only, and this host is {}",
                r.triple,
                arch(&r.triple),
                host.triple
            )));
        }
        Runner::QemuUser | Runner::Wine | Runner::Command => {
            let runner = runner_plan(r, choice, mode, flavour, m, installs_multiarch(install))
                .expect("qemu-user, wine and commands have a runner stage");
            let command = runner
                .env
                .get(&format!("CARGO_TARGET_{}_RUNNER", env_upper(&r.triple)))
                .cloned()
                .unwrap_or_default();
            let program = shell_words::split(&command).map_err(|e| Error::InvalidSetting {
                key: "runner".into(),
                value: command.clone(),
                message: format!("not a command line: {e}"),
            })?;
            let ws_hash = stable_hash(ws.root.to_string_lossy().as_bytes());
            Some(RunnerImage {
                stage: Stage::Runner(r.triple.clone()),
                tag: format!("green-cross-runner:{}-{ws_hash:016x}", r.triple),
                program,
                runner,
            })
        }
    };
    Ok(RunPlan {
        triple: r.triple.clone(),
        binary,
        args: inv.trailing.clone(),
        cwd: ws.root.join(&ws.workdir),
        env: BTreeMap::new(),
        volumes: vec![],
        image,
    })
}

/// The recipe's runner, except that a target which runs natively on its
/// own architecture runs under qemu-user on another (x86_64 Linux on an
/// arm64 machine), when the recipe names its emulator.
pub(super) fn default_runner(r: &Recipe, host: &str) -> Runner {
    match r.runner {
        Runner::Native if arch(&r.triple) != arch(host) && r.qemu.is_some() => Runner::QemuUser,
        other => other,
    }
}

/// The runner for a target: `runner` from the configuration when set
/// (`native`, `qemu-user`, `wine`, or a command), else the recipe's
/// ([`default_runner`]).
pub(super) fn runner_choice(
    r: &Recipe,
    configured: Option<&str>,
    host: &str,
) -> Result<RunnerChoice> {
    let choice = |kind| RunnerChoice {
        kind,
        command: None,
        configured: true,
    };
    match configured.map(str::trim) {
        None => Ok(RunnerChoice {
            kind: default_runner(r, host),
            command: None,
            configured: false,
        }),
        Some("native") => Ok(choice(Runner::Native)),
        Some("qemu-user") if r.qemu.is_some() => Ok(choice(Runner::QemuUser)),
        Some("qemu-user") => Err(Error::InvalidSetting {
            key: "runner".into(),
            value: "qemu-user".into(),
            message: format!(
                "{} has no qemu-user emulator; use `native`, `wine` or a command",
                r.triple
            ),
        }),
        Some("wine") if r.libc == crate::target::Libc::Mingw => Ok(choice(Runner::Wine)),
        Some("wine") => Err(Error::InvalidSetting {
            key: "runner".into(),
            value: "wine".into(),
            message: format!(
                "wine runs Windows binaries, and {} is not Windows",
                r.triple
            ),
        }),
        Some("qemu-system") => Err(Error::InvalidSetting {
            key: "runner".into(),
            value: "qemu-system".into(),
            message: "qemu-system is not supported; use `qemu-user`, `native` or a command".into(),
        }),
        Some("") => Err(Error::InvalidSetting {
            key: "runner".into(),
            value: String::new(),
            message: "empty; use `native`, `qemu-user`, `wine` or a command".into(),
        }),
        Some(cmd) => Ok(RunnerChoice {
            kind: Runner::Command,
            command: Some(cmd.to_string()),
            configured: true,
        }),
    }
}
