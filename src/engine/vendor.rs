//! Private dependencies, fetched by the host's cargo: `cargo vendor` with
//! the user's own credentials (ssh agent, tokens, credential providers,
//! git's helpers), proxies, CA and mirrors, then the vendored copies of
//! the private packages alone, with the configuration that points the
//! build's cargo at them, as the context [`vendor::CONTEXT`].
//!
//! Nothing secret crosses into BuildKit: the build reads sources, never
//! credentials. The context is rebuilt only when the lockfile or the cargo
//! configuration changes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

use super::child;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::plan::{BuildPlan, PrivateDeps};
use crate::vendor;

/// The context directory for `plan`'s private dependencies, fetched and
/// written when they changed; `None` when it has none.
pub fn vendor_private(
    plan: &BuildPlan,
    env: &Env,
    interrupted: &Arc<AtomicBool>,
) -> Result<Option<PathBuf>> {
    let Some(private) = &plan.private else {
        return Ok(None);
    };
    let base = plan.target_dir.join("green-cross").join("vendor");
    let context = base.join("context");
    let configs = cargo_configs(&plan.workspace_root, env);
    let lock = plan.workspace_root.join("Cargo.lock");
    let lock_text = fs::read(&lock).map_err(|e| Error::io("read", &lock, e))?;
    let stamp = stamp_of(&lock_text, &configs, private);
    let stamp_file = base.join("stamp");
    let fresh = fs::read_to_string(&stamp_file).is_ok_and(|s| s == stamp);
    if fresh && context.join(vendor::CONFIG).is_file() {
        return Ok(Some(context));
    }
    fs::create_dir_all(&base).map_err(|e| Error::io("create", &base, e))?;
    sweep_partial(&base);
    // Into an empty directory: cargo vendor keeps a registry package's
    // `name-version` directory if it finds one (it takes registry versions
    // as immutable), so a version re-published with other contents, or
    // one of another registry under the same name in a target directory
    // that several workspaces share, would be the stale copy.
    let all = base.join("all");
    if all.exists() {
        fs::remove_dir_all(&all).map_err(|e| Error::io("remove", &all, e))?;
    }
    let printed = cargo_vendor(&plan.workspace_root, &all, env, interrupted)?;
    let texts: Vec<&str> = configs.iter().map(|(_, t)| t.as_str()).collect();
    let registries = vendor::registries(&texts, env);
    let config =
        vendor::build_config(&printed, private, &registries, vendor::MOUNT).map_err(|message| {
            Error::PrivateDeps {
                message,
                help: "run `cargo vendor` in the workspace to see what cargo prints".into(),
            }
        })?;
    write_context(&base, &all, &context, private, &config)?;
    fs::write(&stamp_file, stamp).map_err(|e| Error::io("write", &stamp_file, e))?;
    Ok(Some(context))
}

/// Whether cargo's configuration for the workspace replaces crates.io
/// (`[source.crates-io] replace-with`, a mirror or a vendored directory).
pub fn crates_io_replaced(root: &Path, env: &Env) -> bool {
    let texts = cargo_configs(root, env);
    env.is_set("CARGO_SOURCE_CRATES_IO_REPLACE_WITH")
        || texts.iter().any(|(_, t)| vendor::replaces_crates_io(t))
}

/// cargo's configuration files that apply to the workspace, highest
/// precedence first: `.cargo/config.toml` (or `.cargo/config`) in the root
/// and each directory above it, then CARGO_HOME's.
fn cargo_configs(root: &Path, env: &Env) -> Vec<(PathBuf, String)> {
    let home = env
        .value("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env.value("HOME").map(|h| Path::new(h).join(".cargo")));
    let mut dirs: Vec<PathBuf> = root.ancestors().map(|d| d.join(".cargo")).collect();
    dirs.extend(home.filter(|h| !dirs.contains(h)));
    dirs.iter()
        .filter_map(|d| {
            ["config.toml", "config"]
                .iter()
                .map(|f| d.join(f))
                .find_map(|f| fs::read_to_string(&f).ok().map(|t| (f, t)))
        })
        .collect()
}

/// What decides the context: the lockfile, cargo's configuration files
/// (paths and text) and whether compiled private packages are cached.
fn stamp_of(lock: &[u8], configs: &[(PathBuf, String)], private: &PrivateDeps) -> String {
    let mut h = Sha256::new();
    h.update(lock);
    for (path, text) in configs {
        h.update(path.to_string_lossy().as_bytes());
        h.update(text.as_bytes());
    }
    h.update([u8::from(private.cached)]);
    format!("{}\n", crate::fingerprint::hex(&h.finalize()))
}

/// `cargo vendor` of the workspace into `into`, with no terminal (a
/// credential prompt fails rather than waits); returns the configuration
/// it prints.
fn cargo_vendor(
    root: &Path,
    into: &Path,
    env: &Env,
    interrupted: &Arc<AtomicBool>,
) -> Result<String> {
    let cargo = env.value("CARGO").unwrap_or("cargo");
    let manifest = root.join("Cargo.toml");
    let mut cmd = Command::new(cargo);
    cmd.args([
        "vendor",
        "--locked",
        "--versioned-dirs",
        "--respect-source-config",
    ])
    .arg("--manifest-path")
    .arg(&manifest)
    .arg(into)
    .current_dir(root)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    tracing::debug!(?cmd, "fetching private dependencies on the host");
    let child = child::spawn_without_terminal(&mut cmd).map_err(|e| Error::Spawn {
        program: cargo.into(),
        message: e.to_string(),
        help: "green-cross fetches private dependencies with the host's cargo: install Rust, or set CARGO to cargo's path".into(),
    })?;
    let watch = child::Watch::new(&child, interrupted);
    let out = child.wait_with_output();
    drop(watch);
    let out = out.map_err(|e| Error::io("wait for", cargo, e))?;
    if interrupted.load(Ordering::SeqCst) {
        return Err(Error::Interrupted);
    }
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(Error::PrivateDeps {
            message: format!(
                "the host's cargo could not fetch the private dependencies:\n{}",
                stderr.trim_end()
            ),
            help: vendor::fetch_help(&stderr),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The context: the private packages' vendored directories (hard links
/// into `all`, copies where a link cannot be made) and the configuration;
/// written beside and renamed into place, so that an interrupted run
/// leaves the previous context or none.
fn write_context(
    base: &Path,
    all: &Path,
    context: &Path,
    private: &PrivateDeps,
    config: &str,
) -> Result<()> {
    let new = tempfile::Builder::new()
        .prefix(".context-")
        .tempdir_in(base)
        .map_err(|e| Error::io("create a directory in", base, e))?;
    let crates = new.path().join(vendor::CRATES);
    fs::create_dir_all(&crates).map_err(|e| Error::io("create", &crates, e))?;
    let now = std::time::SystemTime::now();
    let mut ids = Vec::new();
    for dir in vendor::context_dirs(private, all).map_err(|e| Error::io("read", all, e))? {
        link_tree(&all.join(&dir), &crates.join(&dir), now)?;
        let sums = all.join(&dir).join(".cargo-checksum.json");
        let text = fs::read_to_string(&sums).map_err(|e| Error::io("read", &sums, e))?;
        ids.push((dir, text));
    }
    let id = new.path().join(vendor::ID);
    fs::write(&id, vendor::content_id(&ids)).map_err(|e| Error::io("write", &id, e))?;
    let cfg = new.path().join(vendor::CONFIG);
    fs::write(&cfg, config).map_err(|e| Error::io("write", &cfg, e))?;
    if context.exists() {
        fs::remove_dir_all(context).map_err(|e| Error::io("remove", context, e))?;
    }
    let kept = new.keep();
    fs::rename(&kept, context).map_err(|e| Error::io("rename", &kept, e))
}

/// Remove the half-written contexts of runs that were killed.
fn sweep_partial(base: &Path) {
    for e in fs::read_dir(base).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with(".context-") {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// `from`'s tree at `to`: directories made, files hard-linked (copied when
/// a link fails) and stamped `now`, symbolic links copied as links.
///
/// The stamp matters: BuildKit keeps the last copy of a named context and
/// sends only the files whose size or modification time differ from it,
/// whichever directory the context came from. A vendored file keeps the
/// time its package's archive gave it, so a changed private package of the
/// same size (a republished version, a test's registry) would build from
/// the stale copy.
fn link_tree(from: &Path, to: &Path, now: std::time::SystemTime) -> Result<()> {
    fs::create_dir_all(to).map_err(|e| Error::io("create", to, e))?;
    for e in fs::read_dir(from).map_err(|e| Error::io("read", from, e))? {
        let e = e.map_err(|e| Error::io("read", from, e))?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let kind = e.file_type().map_err(|e| Error::io("read", &src, e))?;
        if kind.is_dir() {
            link_tree(&src, &dst, now)?;
        } else if kind.is_symlink() {
            let target = fs::read_link(&src).map_err(|e| Error::io("read", &src, e))?;
            std::os::unix::fs::symlink(target, &dst).map_err(|e| Error::io("link", &dst, e))?;
        } else {
            if fs::hard_link(&src, &dst).is_err() {
                fs::copy(&src, &dst).map_err(|e| Error::io("copy", &src, e))?;
            }
            fs::File::open(&dst)
                .and_then(|f| f.set_modified(now))
                .map_err(|e| Error::io("stamp", &dst, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn linked_files_are_stamped_with_the_time_the_context_was_written() {
        let d = tempfile::tempdir().unwrap();
        let (from, to) = (d.path().join("from"), d.path().join("to"));
        fs::create_dir_all(from.join("src")).unwrap();
        let file = from.join("src/lib.rs");
        fs::write(&file, "pub const A: u8 = 1;\n").unwrap();
        let archived = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        fs::File::open(&file)
            .unwrap()
            .set_modified(archived)
            .unwrap();
        let now = SystemTime::now();
        link_tree(&from, &to, now).unwrap();
        let stamped = fs::metadata(to.join("src/lib.rs"))
            .unwrap()
            .modified()
            .unwrap();
        // (to the file system's precision)
        assert!(
            stamped > archived + Duration::from_secs(86_400),
            "{stamped:?}"
        );
        assert_eq!(
            fs::read(to.join("src/lib.rs")).unwrap(),
            fs::read(&file).unwrap()
        );
    }
}
