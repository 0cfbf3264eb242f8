//! Not calling BuildKit at all when nothing a build depends on has changed.
//!
//! BuildKit answers a fully cached build in about a second (solve, context
//! transfer, local export); cargo answers a no-op in a few milliseconds
//! because it keeps a fingerprint of its inputs. So does green-cross, for
//! `build`: a SHA-256 over
//!
//! - green-cross's version,
//! - the plan (what `green-cross plan --json` prints: targets, profile,
//!   cargo arguments, environment, toolchain, cache settings, ...),
//! - the rendered Dockerfile,
//! - the builder (`--builder`) and the variables that choose the engine,
//!   the builder and its options,
//! - the path, type, size, permissions and modification time of every file
//!   that would be sent to BuildKit: the workspace less what its ignore
//!   rules leave out (`.git`, cargo's target dir and the user's
//!   `.dockerignore`, applied as BuildKit applies them), the `env.volumes`
//!   directories, the CA bundle.
//!
//! The digest is kept after each successful build in
//! `target/green-cross/fingerprints/`, one file per set of targets and
//! profile, with the size and modification time of every artifact the build
//! placed. The next `build` with the same digest, whose artifacts are all
//! still there and unchanged, is fresh: nothing is sent to the engine.
//!
//! Like cargo, it trusts modification times, and it does not look inside
//! images named by tag (`image`, the base image): after changing what a tag
//! points to, build once with `GREEN_CROSS_FINGERPRINT=0`.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::artifacts::Artifact;
use crate::config::Env;
use crate::dockerignore::{DirMatches, Ignore};
use crate::error::{Error, Result};
use crate::plan::BuildPlan;

/// Set to 0, false, no or off to always go to BuildKit.
pub use crate::config::env::FINGERPRINT_SWITCH as SWITCH;

/// The variables outside the plan that decide where and how BuildKit runs.
const ENGINE_VARS: [&str; 7] = [
    "GREEN_CROSS_ENGINE",
    "CROSS_CONTAINER_ENGINE",
    "CROSS_BUILD_OPTS",
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "BUILDX_BUILDER",
    "BUILDKIT_PROGRESS",
];

/// One file that would be sent to BuildKit, as the fingerprint sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// `<root name>/<path inside the root>`.
    pub path: String,
    /// `f` file, `d` directory, `l` symbolic link (with its target), `o` other.
    pub kind: String,
    pub size: u64,
    pub mode: u32,
    pub mtime_ns: i128,
}

/// What is kept after a successful build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub digest: String,
    pub artifacts: Vec<ArtifactStamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactStamp {
    pub target: String,
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i128,
}

/// GREEN_CROSS_FINGERPRINT, as the configuration reads it.
pub use crate::config::env::fingerprint_switch as switch;

/// Whether this plan may be skipped when fresh: `build` only (tests and
/// programs must run each time), and not when a target builds the user's own
/// Dockerfile (its context is the user's to define) or is handed
/// `env.secrets` (a secret's new value is not in the digest).
pub fn applies(plan: &BuildPlan, env: &Env) -> bool {
    switch(env).unwrap_or(true)
        && plan.subcommand == crate::cli::Subcommand::Build
        && plan.run.is_none()
        && plan.targets.iter().all(|t| t.custom.is_none() && !t.fresh)
}

/// The digest of everything the build depends on. Pure: the files are
/// stamped by `scan`.
pub fn digest(
    plan: &BuildPlan,
    dockerfile: &str,
    env: &Env,
    builder: Option<&str>,
    files: &[Stamp],
) -> String {
    let mut h = Sha256::new();
    let mut field = |name: &str, value: &[u8]| {
        h.update(name.as_bytes());
        h.update((value.len() as u64).to_le_bytes());
        h.update(value);
    };
    field("version", env!("CARGO_PKG_VERSION").as_bytes());
    let plan_json = serde_json::to_vec(plan).expect("a plan serialises");
    field("plan", &plan_json);
    field("dockerfile", dockerfile.as_bytes());
    field("--builder", builder.unwrap_or("\0unset").as_bytes());
    for k in ENGINE_VARS {
        field(k, env.get(k).map(str::as_bytes).unwrap_or(b"\0unset"));
    }
    for s in files {
        field(
            "file",
            format!(
                "{}\0{}\0{}\0{:o}\0{}",
                s.path, s.kind, s.size, s.mode, s.mtime_ns
            )
            .as_bytes(),
        );
    }
    hex(&h.finalize())
}

/// Bytes as lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the record for this plan's targets and profile is kept.
pub fn record_path(plan: &BuildPlan) -> PathBuf {
    let mut h = Sha256::new();
    h.update(plan.subcommand.as_str().as_bytes());
    h.update([0]);
    h.update(plan.profile_dir.as_bytes());
    for t in &plan.targets {
        h.update([0]);
        h.update(t.triple.as_bytes());
    }
    let key = hex(&h.finalize()[..8]);
    plan.target_dir
        .join("green-cross")
        .join("fingerprints")
        .join(format!("{key}.json"))
}

fn mtime_ns(m: &fs::Metadata) -> i128 {
    i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec())
}

/// Stamp every file the build would send to BuildKit, sorted by path.
pub fn scan(plan: &BuildPlan) -> Result<Vec<Stamp>> {
    let mut out = Vec::new();
    let root = &plan.workspace_root;
    let rules =
        Ignore::parse(&crate::dockerignore::rules(plan)).map_err(|message| Error::ConfigValue {
            file: root.join(".dockerignore"),
            message,
        })?;
    walk(root, "workspace", &Leave::Ignored(&rules), &mut out)?;
    let mut volumes: Vec<_> = plan.targets.iter().flat_map(|t| &t.volumes).collect();
    volumes.sort_by(|a, b| a.context.cmp(&b.context));
    volumes.dedup_by(|a, b| a.context == b.context);
    for v in volumes {
        walk(&v.path, &v.context, &Leave::Paths(&[]), &mut out)?;
    }
    for (i, o) in plan.outside.iter().enumerate() {
        let skip = [o.dir.join("target"), o.dir.join(".git")];
        let name = crate::plan::outside_context(i);
        walk(&o.dir, &name, &Leave::Paths(&skip), &mut out)?;
    }
    if let Some(ca) = &plan.ca_bundle {
        // Followed: the secret is read through links.
        let m = fs::metadata(ca).map_err(|e| Error::io("read", ca, e))?;
        out.push(stamp("ca-bundle".into(), &m, None));
    }
    Ok(out)
}

/// What a walk leaves out of a context.
enum Leave<'a> {
    /// These paths.
    Paths(&'a [PathBuf]),
    /// What these ignore rules leave out, as BuildKit applies them.
    Ignored(&'a Ignore),
}

fn stamp(path: String, m: &fs::Metadata, link: Option<PathBuf>) -> Stamp {
    let kind = if let Some(l) = link {
        format!("l{}", l.display())
    } else if m.is_dir() {
        "d".into()
    } else if m.is_file() {
        "f".into()
    } else {
        "o".into()
    };
    Stamp {
        path,
        kind,
        size: if m.is_dir() { 0 } else { m.len() },
        mode: m.mode(),
        // A directory's time changes with its entries, which are stamped
        // themselves; leaving it out keeps unrelated writes (a skipped dir's
        // new entries) from mattering.
        mtime_ns: if m.is_dir() { 0 } else { mtime_ns(m) },
    }
}

/// Stamp what `leave` keeps of the context at `root`, named `name`.
fn walk(root: &Path, name: &str, leave: &Leave, out: &mut Vec<Stamp>) -> Result<()> {
    walk_dir(root, "", &DirMatches::default(), name, leave, out)
}

/// Stamp the directory `rel` of a context (at `dir`), whose ignore rules
/// said `matched` of it. A left-out directory is walked only when some of
/// its entries may be put back, and stamped only when one is, as BuildKit
/// sends it.
fn walk_dir(
    dir: &Path,
    rel: &str,
    matched: &DirMatches,
    name: &str,
    leave: &Leave,
    out: &mut Vec<Stamp>,
) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(|e| Error::io("read", dir, e))?
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io("read", dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let file = e.file_name();
        let rel = match rel {
            "" => file.to_string_lossy().into_owned(),
            _ => format!("{rel}/{}", file.to_string_lossy()),
        };
        let (left_out, below) = match leave {
            Leave::Paths(skip) => (skip.contains(&path), DirMatches::default()),
            Leave::Ignored(rules) => rules.check(&rel, matched),
        };
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        let walk_anyway =
            matches!(leave, Leave::Ignored(r) if is_dir && r.may_put_back_under(&rel));
        if left_out && !walk_anyway {
            continue;
        }
        let m = fs::symlink_metadata(&path).map_err(|e| Error::io("read", &path, e))?;
        let link = if m.file_type().is_symlink() {
            Some(fs::read_link(&path).map_err(|e| Error::io("read", &path, e))?)
        } else {
            None
        };
        let mut this = Some(stamp(format!("{name}/{rel}"), &m, link));
        if !left_out {
            out.extend(this.take());
        }
        let at = out.len();
        if m.is_dir() {
            walk_dir(&path, &rel, &below, name, leave, out)?;
        }
        if let Some(this) = this
            && out.len() > at
        {
            out.insert(at, this);
        }
    }
    Ok(())
}

/// The artifacts of the last build, when its record has this digest and
/// every artifact is still as that build left it.
pub fn fresh(plan: &BuildPlan, digest: &str) -> Option<Vec<Artifact>> {
    let text = fs::read_to_string(record_path(plan)).ok()?;
    let record: Record = serde_json::from_str(&text).ok()?;
    if record.digest != digest {
        return None;
    }
    let mut placed = Vec::new();
    for a in &record.artifacts {
        let m = fs::metadata(&a.path).ok()?;
        let size = if m.is_dir() { a.size } else { m.len() };
        if size != a.size || mtime_ns(&m) != a.mtime_ns {
            return None;
        }
        placed.push(Artifact {
            target: a.target.clone(),
            path: a.path.clone(),
            size: a.size,
        });
    }
    Some(placed)
}

/// Keep the digest and the artifacts' stamps (written whole, then renamed).
pub fn save(plan: &BuildPlan, digest: &str, placed: &[Artifact]) -> Result<()> {
    let mut artifacts = Vec::new();
    for a in placed {
        let m = fs::metadata(&a.path).map_err(|e| Error::io("read", &a.path, e))?;
        artifacts.push(ArtifactStamp {
            target: a.target.clone(),
            path: a.path.clone(),
            size: a.size,
            mtime_ns: mtime_ns(&m),
        });
    }
    let record = Record {
        digest: digest.to_string(),
        artifacts,
    };
    let path = record_path(plan);
    let dir = path.parent().expect("a record has a directory");
    fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(&record).expect("a record serialises");
    fs::write(&tmp, text).map_err(|e| Error::io("write", &tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| Error::io("write", &path, e))
}
