//! What the configuration names on the host must exist before a build
//! starts: a target's pre-build script, its `dockerfile` and that file's
//! context, its macOS SDK and its volumes.

use std::path::Path;

use crate::error::{Error, Result};
use crate::plan::{BuildPlan, CustomImage, TargetPlan};

/// Check the host paths of each target in turn; the first missing one is
/// the error.
pub(super) fn check_host_paths(plan: &BuildPlan) -> Result<()> {
    for t in &plan.targets {
        check_pre_build(t, &plan.workspace_root)?;
        if let Some(c) = &t.custom {
            check_custom_image(c)?;
        }
        check_macos_sdk(t)?;
        check_volumes(t)?;
    }
    Ok(())
}

/// The pre-build script: a file, relative to the workspace root.
fn check_pre_build(t: &TargetPlan, workspace_root: &Path) -> Result<()> {
    if let Some(script) = t.pre_build.as_ref().and_then(|p| p.script.as_ref())
        && !workspace_root.join(script).is_file()
    {
        return Err(Error::InvalidSetting {
            key: "pre-build".into(),
            value: script.clone(),
            message: format!(
                "no such file in the workspace ({}); the path is relative to the workspace root",
                workspace_root.display()
            ),
        });
    }
    Ok(())
}

/// The user's Dockerfile, and its context directory.
fn check_custom_image(c: &CustomImage) -> Result<()> {
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
    Ok(())
}

/// SDKROOT, when it names an SDK: a directory with `usr/lib` in it.
fn check_macos_sdk(t: &TargetPlan) -> Result<()> {
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
    Ok(())
}

/// The volumes (`env.volumes`): directories.
fn check_volumes(t: &TargetPlan) -> Result<()> {
    for v in &t.volumes {
        if !v.path.is_dir() {
            return Err(Error::InvalidSetting {
                key: "env.volumes".into(),
                value: v.var.clone(),
                message: format!("{} is not a directory", v.path.display()),
            });
        }
    }
    Ok(())
}
