//! A plan's inputs, owned and made from text: the small builder that the
//! planner's unit tests, the golden and fingerprint tests and the fuzzer
//! share. The workspace is an application at a path given, the host a
//! stable x86_64 Linux machine.

use std::path::{Path, PathBuf};

use super::{BuildPlan, Host, PlanInput, plan};
use crate::cli::Invocation;
use crate::config::{CrossToml, Env, Settings};
use crate::error::Result;
use crate::target::{Recipe, Recipes};
use crate::workspace::{Package, SkeletonFile, Workspace};

/// Everything [`plan`] reads, owned.
pub struct Inputs {
    pub inv: Invocation,
    pub ws: Workspace,
    pub settings: Settings,
    pub recipes: Recipes,
    pub env: Env,
    pub host: Host,
    pub ca_bundle: Option<PathBuf>,
    /// The warnings of parsing the Cross.toml text.
    pub toml_warnings: Vec<String>,
}

impl Inputs {
    /// Arguments as a shell would split them, a Cross.toml's text and the
    /// environment; the application workspace at /work/app on the branch
    /// `main`, the embedded recipes, no CA bundle. Panics on input that
    /// does not parse: it is for tests.
    pub fn new(args: &str, cross_toml: &str, env: &[(&str, &str)]) -> Inputs {
        Inputs::try_new(args, cross_toml, env).expect("inputs that parse")
    }

    /// As [`Inputs::new`], with the errors of reading the configuration.
    pub fn try_new(args: &str, cross_toml: &str, env: &[(&str, &str)]) -> Result<Inputs> {
        let env: Env = env.iter().copied().collect();
        let words = shell_words::split(args).expect("arguments that split");
        let (toml, warnings) = CrossToml::parse("Cross.toml".as_ref(), cross_toml)?;
        Ok(Inputs {
            inv: Invocation::parse(&words)?,
            ws: app_workspace(Path::new("/work/app"), Some("main")),
            settings: Settings::resolve(&env, &toml)?,
            recipes: Recipes::embedded()?,
            env,
            host: stable_host(),
            ca_bundle: None,
            toml_warnings: warnings.into_iter().map(|w| w.0).collect(),
        })
    }

    /// The borrowed form [`plan`] takes.
    pub fn input(&self) -> PlanInput<'_> {
        PlanInput {
            invocation: &self.inv,
            workspace: &self.ws,
            settings: &self.settings,
            recipes: &self.recipes,
            env: &self.env,
            host: &self.host,
            ca_bundle: self.ca_bundle.clone(),
        }
    }

    pub fn plan(&self) -> Result<BuildPlan> {
        plan(&self.input())
    }

    /// The embedded recipes of these triples.
    pub fn recipes(&self, triples: &[&str]) -> Vec<&Recipe> {
        triples
            .iter()
            .map(|t| self.recipes.get(t).expect("an embedded recipe"))
            .collect()
    }
}

/// A workspace of one package `app` with one binary at `root`, a lockfile,
/// and its git branch (also the default branch).
pub fn app_workspace(root: &Path, branch: Option<&str>) -> Workspace {
    Workspace {
        git_branch: branch.map(str::to_string),
        git_default_branch: branch.map(str::to_string),
        config_build_rustflags: None,
        root: root.to_path_buf(),
        target_dir: root.join("target"),
        workdir: PathBuf::new(),
        manifest: None,
        has_lockfile: true,
        skeleton: vec![
            SkeletonFile::Copy("Cargo.lock".into()),
            SkeletonFile::Copy("Cargo.toml".into()),
            SkeletonFile::StubMain("src/main.rs".into()),
        ],
        packages: vec![Package {
            name: "app".into(),
            dir: PathBuf::new(),
            bins: vec!["app".into()],
            default_run: None,
        }],
        prefix: PathBuf::new(),
        outside: vec![],
        pinned_toolchain: None,
        private: vec![],
        crates_io_mirror: false,
    }
}

/// A stable rustc 1.95.0 on x86_64 Linux.
pub fn stable_host() -> Host {
    Host {
        rustc_version: "1.95.0".into(),
        triple: "x86_64-unknown-linux-gnu".into(),
        commit_date: Some("2026-10-27".into()),
    }
}
