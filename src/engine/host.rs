//! The host side: cargo metadata, the host's rustc, and running cargo on the
//! host for subcommands that do not build inside BuildKit.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::plan::Host;
use crate::workspace::{
    Member, OutsidePackage, Package, PinnedToolchain, Workspace, common_ancestor,
    config_build_rustflags, skeleton, toolchain_channel,
};

/// Facts about the host's Rust toolchain.
pub fn host_facts() -> Result<Host> {
    let meta = rustc_version::version_meta().map_err(|e| Error::Spawn {
        program: "rustc".into(),
        message: e.to_string(),
        help: "install Rust (https://rustup.rs) so that `rustc -vV` works".into(),
    })?;
    Ok(Host {
        rustc_version: meta.semver.to_string(),
        triple: meta.host,
        commit_date: meta.commit_date,
    })
}

/// Read the workspace with `cargo metadata --no-deps`.
pub fn load_workspace(
    cwd: &Path,
    manifest_path: Option<&str>,
    target_dir: Option<&str>,
) -> Result<Workspace> {
    let md = cargo_metadata_of(cwd, manifest_path)?;
    let root: PathBuf = md.workspace_root.clone().into_std_path_buf();
    let target_dir = match target_dir {
        Some(t) => from_cwd(cwd, t),
        None => md.target_directory.clone().into_std_path_buf(),
    };
    let outside_packages = outside_path_packages(&root, &md)?;
    let mut members: Vec<Member> = md
        .workspace_packages()
        .into_iter()
        .chain(outside_packages.iter())
        .map(member)
        .collect();
    let packages: Vec<Package> = md
        .workspace_packages()
        .iter()
        .map(|p| package(&root, p))
        .collect();
    let extra = extra_files(&root);
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).ok();
    let has_lockfile = lock.is_some();
    let private = lock
        .as_deref()
        .map(crate::lockfile::private_packages)
        .unwrap_or_default();
    let cwd_abs = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let workdir = cwd_abs
        .strip_prefix(&root)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let manifest = manifest_path.and_then(|mp| {
        let abs = from_cwd(cwd, mp);
        let abs = abs.canonicalize().unwrap_or(abs);
        abs.strip_prefix(&root).ok().map(Path::to_path_buf)
    });
    let (base, prefix, outside) = outside_layout(&root, &outside_packages);
    members.sort_by(|a, b| a.manifest.cmp(&b.manifest));
    let (git_branch, git_default_branch) = git_branches(&root);
    let config_build_rustflags = cargo_config_rustflags(&root);
    let pinned_toolchain = read_pinned_toolchain(&root);
    Ok(Workspace {
        pinned_toolchain,
        private,
        crates_io_mirror: false,
        git_branch,
        git_default_branch,
        config_build_rustflags,
        skeleton: skeleton(&base, &root.join("Cargo.toml"), &members, &extra),
        prefix,
        outside,
        root,
        target_dir,
        workdir,
        manifest,
        has_lockfile,
        packages,
    })
}

/// `cargo metadata --no-deps` in `cwd`, of `manifest_path` when given.
fn cargo_metadata_of(cwd: &Path, manifest_path: Option<&str>) -> Result<cargo_metadata::Metadata> {
    let mut cmd = cargo_metadata::MetadataCommand::new();
    cmd.no_deps().current_dir(cwd);
    if let Some(mp) = manifest_path {
        cmd.manifest_path(mp);
    }
    cmd.exec().map_err(|e| Error::Metadata {
        message: e.to_string(),
    })
}

/// A path given on the command line: as it is when absolute, else below
/// `cwd`.
fn from_cwd(cwd: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

/// A package's manifest and its targets' source paths, each with whether
/// it is a library-like root, for the skeleton.
fn member(p: &cargo_metadata::Package) -> Member {
    Member {
        manifest: p.manifest_path.clone().into_std_path_buf(),
        targets: p
            .targets
            .iter()
            .map(|t| {
                let lib = t.kind.iter().any(|k| {
                    matches!(
                        k,
                        cargo_metadata::TargetKind::Lib
                            | cargo_metadata::TargetKind::RLib
                            | cargo_metadata::TargetKind::DyLib
                            | cargo_metadata::TargetKind::CDyLib
                            | cargo_metadata::TargetKind::StaticLib
                            | cargo_metadata::TargetKind::ProcMacro
                    )
                });
                (t.src_path.clone().into_std_path_buf(), lib)
            })
            .collect(),
    }
}

/// A workspace package: its name, its directory relative to `root`, its
/// binaries (sorted) and its `default-run`.
fn package(root: &Path, p: &cargo_metadata::Package) -> Package {
    let dir = p
        .manifest_path
        .parent()
        .map(|d| d.as_std_path().to_path_buf())
        .unwrap_or_default();
    let mut bins: Vec<String> = p
        .targets
        .iter()
        .filter(|t| t.is_bin())
        .map(|t| t.name.clone())
        .collect();
    bins.sort();
    Package {
        name: p.name.to_string(),
        dir: dir.strip_prefix(root).map(Path::to_path_buf).unwrap_or(dir),
        bins,
        default_run: p.default_run.clone(),
    }
}

/// The root's lockfile, cargo configuration and rust-toolchain files that
/// exist, for the skeleton.
fn extra_files(root: &Path) -> Vec<PathBuf> {
    let mut extra = Vec::new();
    for f in [
        "Cargo.lock",
        ".cargo/config.toml",
        ".cargo/config",
        "rust-toolchain.toml",
        "rust-toolchain",
    ] {
        let p = root.join(f);
        if p.is_file() {
            extra.push(p);
        }
    }
    extra
}

/// Where the path dependencies outside the root go: the directory that
/// holds them and the root (`base`), the root's place below it (`prefix`),
/// and each package's place below it.
fn outside_layout(
    root: &Path,
    outside_packages: &[cargo_metadata::Package],
) -> (PathBuf, PathBuf, Vec<OutsidePackage>) {
    let outside_dirs: Vec<PathBuf> = outside_packages
        .iter()
        .filter_map(|p| {
            p.manifest_path
                .parent()
                .map(|d| d.as_std_path().to_path_buf())
        })
        .collect();
    let (base, prefix) = common_ancestor(root, &outside_dirs);
    let outside = outside_packages
        .iter()
        .zip(&outside_dirs)
        .map(|(p, dir)| OutsidePackage {
            name: p.name.to_string(),
            rel: dir
                .strip_prefix(&base)
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            dir: dir.clone(),
        })
        .collect();
    (base, prefix, outside)
}

/// `[build] rustflags` of the root's cargo configuration.
fn cargo_config_rustflags(root: &Path) -> Option<Vec<String>> {
    // cargo reads `config` when both files are there.
    [".cargo/config", ".cargo/config.toml"]
        .iter()
        .find_map(|f| std::fs::read_to_string(root.join(f)).ok())
        .and_then(|text| config_build_rustflags(&text))
}

/// The channel the root's rust-toolchain file pins, and the file's name.
fn read_pinned_toolchain(root: &Path) -> Option<PinnedToolchain> {
    // rustup reads `rust-toolchain` when both are there.
    ["rust-toolchain", "rust-toolchain.toml"]
        .iter()
        .find_map(|f| {
            let text = std::fs::read_to_string(root.join(f)).ok()?;
            Some(PinnedToolchain {
                file: f.to_string(),
                channel: toolchain_channel(&text)?,
            })
        })
}

/// The path dependencies of the workspace that lie outside its root, and
/// theirs, each once: cargo reads them from there, so the build needs them
/// at the same place relative to the workspace.
fn outside_path_packages(
    root: &Path,
    md: &cargo_metadata::Metadata,
) -> Result<Vec<cargo_metadata::Package>> {
    let mut found: Vec<cargo_metadata::Package> = Vec::new();
    let mut todo: Vec<PathBuf> = path_dependencies(md.workspace_packages().into_iter());
    while let Some(dir) = todo.pop() {
        let dir = dir.canonicalize().unwrap_or(dir);
        let known = found.iter().any(|p| {
            p.manifest_path
                .parent()
                .is_some_and(|d| d.as_std_path() == dir)
        });
        if dir.starts_with(root) || known {
            continue;
        }
        let manifest = dir.join("Cargo.toml");
        let dep = cargo_metadata::MetadataCommand::new()
            .no_deps()
            .manifest_path(&manifest)
            .exec()
            .map_err(|e| Error::Metadata {
                message: format!("path dependency {}: {e}", manifest.display()),
            })?;
        let Some(pkg) = dep
            .packages
            .into_iter()
            .find(|p| p.manifest_path.as_std_path() == manifest)
        else {
            continue;
        };
        todo.extend(path_dependencies(std::iter::once(&pkg)));
        found.push(pkg);
    }
    found.sort_by(|a, b| a.manifest_path.cmp(&b.manifest_path));
    Ok(found)
}

/// The directories of the `path` dependencies of `packages`.
fn path_dependencies<'a>(
    packages: impl Iterator<Item = &'a cargo_metadata::Package>,
) -> Vec<PathBuf> {
    packages
        .flat_map(|p| &p.dependencies)
        .filter_map(|d| d.path.as_ref().map(|p| p.as_std_path().to_path_buf()))
        .collect()
}

/// The current branch and the default branch (`origin/HEAD`) of the git
/// repository the workspace is in; `None` for what git does not know.
fn git_branches(root: &Path) -> (Option<String>, Option<String>) {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(root)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !text.is_empty()).then_some(text)
    };
    let branch = git(&["symbolic-ref", "--quiet", "--short", "HEAD"]);
    let default = git(&[
        "symbolic-ref",
        "--quiet",
        "--short",
        "refs/remotes/origin/HEAD",
    ])
    .map(|r| r.strip_prefix("origin/").unwrap_or(&r).to_string());
    (branch, default)
}

/// Run cargo on the host with the given arguments ($CARGO when cargo
/// runs green-cross, else `cargo`); returns its exit code.
pub fn run_host_cargo(args: &[String], env: &crate::config::Env) -> Result<i32> {
    let cargo: std::ffi::OsString = env
        .value("CARGO")
        .map_or_else(|| "cargo".into(), Into::into);
    let status = Command::new(&cargo)
        .args(args)
        .status()
        .map_err(|e| Error::Spawn {
            program: cargo.to_string_lossy().into_owned(),
            message: e.to_string(),
            help: "install Rust (https://rustup.rs) so that `cargo` is on PATH".into(),
        })?;
    Ok(status.code().unwrap_or(crate::error::EXIT_OWN_ERROR))
}
