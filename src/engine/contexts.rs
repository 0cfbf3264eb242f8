//! The build contexts of one build: the Dockerfile, its ignore file and the
//! skeleton context, in a private temporary directory.

use std::fs;
use std::path::PathBuf;

use super::child;
use crate::error::{Error, Result};
use crate::plan::BuildPlan;
use crate::workspace::SkeletonFile;

/// The name of a build's temporary directory: `<this><pid>-<random>`.
const CONTEXTS_PREFIX: &str = "green-cross-";

/// The contexts of one build, in a temporary directory (mode 0700) that
/// disappears when this value is dropped, or at the next run when this one
/// was killed.
pub struct Contexts {
    pub dir: tempfile::TempDir,
    pub dockerfile: PathBuf,
    pub skeleton: PathBuf,
}

/// Write the Dockerfile, its ignore file and the skeleton context.
pub fn prepare_contexts(plan: &BuildPlan, dockerfile: &str) -> Result<Contexts> {
    // What the configuration names on the host must exist.
    for t in &plan.targets {
        if let Some(script) = t.pre_build.as_ref().and_then(|p| p.script.as_ref())
            && !plan.workspace_root.join(script).is_file()
        {
            return Err(Error::InvalidSetting {
                key: "pre-build".into(),
                value: script.clone(),
                message: format!(
                    "no such file in the workspace ({}); the path is relative to the workspace root",
                    plan.workspace_root.display()
                ),
            });
        }
        if let Some(c) = &t.custom {
            if !c.file.is_file() {
                return Err(Error::InvalidSetting {
                    key: "dockerfile".into(),
                    value: c.file.display().to_string(),
                    message: "no such file (the path is relative to the workspace root)".into(),
                });
            }
            if !c.context.is_dir() {
                return Err(Error::InvalidSetting {
                    key: "dockerfile.context".into(),
                    value: c.context.display().to_string(),
                    message: "not a directory (the path is relative to the workspace root)".into(),
                });
            }
        }
        if let Some(sdk) = &t.macos_sdk
            && !sdk.join("usr/lib").is_dir()
        {
            return Err(Error::InvalidSetting {
                key: "SDKROOT".into(),
                value: sdk.display().to_string(),
                message: format!(
                    "not a macOS SDK (no usr/lib in it); point SDKROOT at a MacOSX.sdk directory, or unset it to link {} with green-cross's stubs of the system libraries",
                    t.triple
                ),
            });
        }
        for v in &t.volumes {
            if !v.path.is_dir() {
                return Err(Error::InvalidSetting {
                    key: "env.volumes".into(),
                    value: v.var.clone(),
                    message: format!("{} is not a directory", v.path.display()),
                });
            }
        }
    }
    child::sweep(&std::env::temp_dir(), CONTEXTS_PREFIX);
    let dir = tempfile::Builder::new()
        .prefix(&child::temp_prefix(CONTEXTS_PREFIX))
        .permissions(child::private())
        .tempdir()
        .map_err(|e| Error::io("create a temporary directory", std::env::temp_dir(), e))?;
    let df = dir.path().join("Dockerfile");
    fs::write(&df, dockerfile).map_err(|e| Error::io("write", &df, e))?;

    // The workspace is the context; keep cargo's target dir and .git out,
    // plus whatever the user's own .dockerignore says.
    let mut ignore = String::new();
    if let Ok(user) = fs::read_to_string(plan.workspace_root.join(".dockerignore")) {
        ignore.push_str(&user);
        ignore.push('\n');
    }
    ignore.push_str(".git\n");
    if let Ok(rel) = plan.target_dir.strip_prefix(&plan.workspace_root) {
        ignore.push_str(&format!("{}\n", rel.display()));
    }
    let ig = dir.path().join("Dockerfile.dockerignore");
    fs::write(&ig, ignore).map_err(|e| Error::io("write", &ig, e))?;

    let sk = dir.path().join("skeleton");
    for f in &plan.skeleton {
        let dest = sk.join(f.path());
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        }
        match f {
            SkeletonFile::Copy(p) => {
                let src = plan.mount_root.join(p);
                fs::copy(&src, &dest).map_err(|e| Error::io("copy", &src, e))?;
            }
            SkeletonFile::StubMain(_) => {
                fs::write(&dest, "fn main() {}\n").map_err(|e| Error::io("write", &dest, e))?
            }
            SkeletonFile::StubLib(_) => {
                fs::write(&dest, "").map_err(|e| Error::io("write", &dest, e))?
            }
        }
    }
    fs::create_dir_all(&sk).map_err(|e| Error::io("create", &sk, e))?;
    Ok(Contexts {
        dir,
        dockerfile: df,
        skeleton: sk,
    })
}
