//! The build contexts of one build: the Dockerfile, its ignore file and the
//! skeleton context, in a private temporary directory.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::child;
use super::host_paths::check_host_paths;
use crate::env::Env;
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
    /// The private dependencies the host fetched, when there are some
    /// (kept in the target dir, not in `dir`: they outlive the build).
    pub vendor: Option<PathBuf>,
    /// The proxies' secret (in `dir`), when the environment sets one.
    pub proxy: Option<PathBuf>,
}

/// Write the Dockerfile, its ignore file and the skeleton context, in a
/// new directory under the environment's TMPDIR, and fetch the private
/// dependencies on the host.
pub fn prepare_contexts(
    plan: &BuildPlan,
    dockerfile: &str,
    env: &Env,
    interrupted: &Arc<AtomicBool>,
) -> Result<Contexts> {
    // What the configuration names on the host must exist.
    check_host_paths(plan)?;
    let vendor = super::vendor::vendor_private(plan, env, interrupted)?;
    let dir = private_temp_dir(&env.temp_dir())?;
    let df = dir.path().join("Dockerfile");
    fs::write(&df, dockerfile).map_err(|e| Error::io("write", &df, e))?;
    let ig = dir.path().join("Dockerfile.dockerignore");
    fs::write(&ig, crate::dockerignore::rules(plan)).map_err(|e| Error::io("write", &ig, e))?;
    let sk = dir.path().join("skeleton");
    write_skeleton(plan, &sk)?;
    let proxy = match crate::proxy::script(env) {
        Some(text) => {
            let p = dir.path().join("proxy.sh");
            write_private(&p, &text)?;
            Some(p)
        }
        None => None,
    };
    Ok(Contexts {
        dir,
        dockerfile: df,
        skeleton: sk,
        vendor,
        proxy,
    })
}

/// A file only this user can read (mode 0600), for a secret.
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::io("write", path, e))
}

/// A new temporary directory for the contexts (mode 0700), after removing
/// those that killed runs left behind.
fn private_temp_dir(tmp: &Path) -> Result<tempfile::TempDir> {
    child::sweep(tmp, CONTEXTS_PREFIX);
    tempfile::Builder::new()
        .prefix(&child::temp_prefix(CONTEXTS_PREFIX))
        .permissions(child::private())
        .tempdir_in(tmp)
        .map_err(|e| Error::io("create a temporary directory in", tmp, e))
}

/// The skeleton context in `sk`: the workspace's manifests and lock file
/// copied, its targets' sources as empty stubs.
fn write_skeleton(plan: &BuildPlan, sk: &Path) -> Result<()> {
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
    fs::create_dir_all(sk).map_err(|e| Error::io("create", sk, e))?;
    Ok(())
}
