//! Which engine: the docker CLI named by the environment (or found on
//! PATH), the user's extra options for it, the builder every build uses,
//! and how each docker command is started.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::config::Env;
use crate::error::{Error, Result};

/// The docker CLI to use, and the user's extra options for it.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    pub program: PathBuf,
    /// CROSS_BUILD_OPTS: added to every `docker buildx build`.
    pub build_opts: Vec<String>,
    /// CROSS_CONTAINER_OPTS: added to `docker run` (for `run`).
    pub container_opts: Vec<String>,
    /// CROSS_CONTAINER_UID / CROSS_CONTAINER_GID: who `run` runs as in a
    /// runner container (default: this process's user).
    pub container_user: Option<(u32, u32)>,
    /// `--builder`: the buildx builder every build uses.
    pub builder: Option<String>,
    /// When `--builder` names a docker context (whose engine is a
    /// docker-driver builder): the context every docker command runs in.
    pub context: Option<String>,
}

/// Split an options variable as a shell would.
fn opts(env: &Env, name: &str) -> Result<Vec<String>> {
    match env.value(name) {
        None => Ok(vec![]),
        Some(v) => shell_words::split(v).map_err(|e| Error::InvalidSetting {
            key: name.into(),
            value: v.to_string(),
            message: format!("not a list of options: {e}"),
        }),
    }
}

impl Engine {
    /// GREEN_CROSS_ENGINE, else CROSS_CONTAINER_ENGINE, else `docker` on PATH.
    pub fn detect(env: &Env) -> Result<Engine> {
        let build_opts = opts(env, "CROSS_BUILD_OPTS")?;
        let container_opts = opts(env, "CROSS_CONTAINER_OPTS")?;
        let container_user = crate::config::env::container_user(env)?;
        let named = env
            .value("GREEN_CROSS_ENGINE")
            .or_else(|| env.value("CROSS_CONTAINER_ENGINE"))
            .map(str::to_string);
        let name = named.clone().unwrap_or_else(|| "docker".into());
        let base = Path::new(&name)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        if base.contains("podman") {
            return Err(Error::Engine {
                message: format!("`{name}` was named as the container engine, but podman is not supported yet"),
                help: "use Docker with buildx (unset GREEN_CROSS_ENGINE / CROSS_CONTAINER_ENGINE); podman support is planned".into(),
            });
        }
        let program = which::which(&name).map_err(|_| Error::Engine {
            message: format!("the container engine `{name}` was not found on PATH"),
            help: if named.is_some() {
                "check GREEN_CROSS_ENGINE / CROSS_CONTAINER_ENGINE: they name the docker binary to use".into()
            } else {
                "install the Docker CLI with the buildx plugin (Debian: apt-get install docker.io docker-buildx), or name it with GREEN_CROSS_ENGINE".into()
            },
        })?;
        Ok(Engine {
            program,
            build_opts,
            container_opts,
            container_user,
            builder: None,
            context: None,
        })
    }

    /// Build with this buildx builder. The builder of a docker context is
    /// reached through the context (buildx refuses `--builder` for it).
    pub fn with_builder(mut self, builder: Option<String>) -> Engine {
        if let Some(b) = &builder {
            let is_context = self
                .cmd()
                .args(["context", "inspect", b])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if is_context {
                self.context = Some(b.clone());
            } else {
                self.build_opts
                    .splice(0..0, ["--builder".to_string(), b.clone()]);
            }
        }
        self.builder = builder;
        self
    }

    /// The error for a docker CLI that could not be started.
    pub(super) fn spawn_error(&self, e: std::io::Error) -> Error {
        Error::Spawn {
            program: self.program.display().to_string(),
            message: e.to_string(),
            help: "check that the docker CLI runs".into(),
        }
    }

    /// The docker CLI's global arguments (`--context`).
    pub(super) fn global_args(&self) -> Vec<String> {
        match &self.context {
            Some(c) => vec!["--context".into(), c.clone()],
            None => vec![],
        }
    }

    /// `docker buildx inspect` of the builder.
    pub(super) fn inspect(&self) -> std::io::Result<std::process::Output> {
        self.buildx(&["inspect"]).output()
    }

    /// `docker buildx ARGS` for the builder: `--builder NAME` unless the
    /// builder is a docker context (reached through `--context`).
    pub(super) fn buildx(&self, args: &[&str]) -> Command {
        let mut c = self.cmd();
        c.arg("buildx").args(args);
        if let (Some(b), None) = (&self.builder, &self.context) {
            c.args(["--builder", b]);
        }
        c
    }

    pub(super) fn cmd(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(self.global_args());
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_is_refused_clearly() {
        let env: Env = [("CROSS_CONTAINER_ENGINE".to_string(), "podman".to_string())].into();
        let err = Engine::detect(&env).unwrap_err().to_string();
        assert!(err.contains("podman is not supported yet"), "{err}");
    }
}
