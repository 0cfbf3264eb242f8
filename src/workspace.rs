//! The cargo workspace as green-cross needs it: where it is, where its
//! target dir is, and the skeleton (manifests, lockfile, stub sources) from
//! which dependencies are fetched in a layer that changes only when the
//! manifests or the lockfile change.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// One file of the skeleton, relative to the workspace root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "path")]
pub enum SkeletonFile {
    /// Copied as it is (Cargo.toml, Cargo.lock, .cargo/config.toml).
    Copy(PathBuf),
    /// A stub with a `main` (binaries, build scripts, tests, examples).
    StubMain(PathBuf),
    /// An empty library root.
    StubLib(PathBuf),
}

impl SkeletonFile {
    pub fn path(&self) -> &Path {
        match self {
            SkeletonFile::Copy(p) | SkeletonFile::StubMain(p) | SkeletonFile::StubLib(p) => p,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workspace {
    /// Absolute path of the workspace root on the host.
    pub root: PathBuf,
    /// Absolute path of cargo's target dir on the host.
    pub target_dir: PathBuf,
    /// Where cargo runs, relative to the root (the user's current directory
    /// when it is inside the workspace).
    pub workdir: PathBuf,
    /// `--manifest-path`, relative to the root.
    pub manifest: Option<PathBuf>,
    pub has_lockfile: bool,
    /// Sorted, without duplicates.
    pub skeleton: Vec<SkeletonFile>,
}

/// What cargo metadata says of one workspace member, reduced to what the
/// skeleton needs.
#[derive(Debug, Clone)]
pub struct Member {
    pub manifest: PathBuf,
    /// (source path, is it a library-like root)
    pub targets: Vec<(PathBuf, bool)>,
}

/// The skeleton of a workspace: pure, from the members cargo reported.
pub fn skeleton(root: &Path, members: &[Member], extra_files: &[PathBuf]) -> Vec<SkeletonFile> {
    let rel = |p: &Path| p.strip_prefix(root).ok().map(Path::to_path_buf);
    let mut out = vec![SkeletonFile::Copy(PathBuf::from("Cargo.toml"))];
    for f in extra_files {
        if let Some(r) = rel(f) {
            out.push(SkeletonFile::Copy(r));
        }
    }
    for m in members {
        if let Some(r) = rel(&m.manifest) {
            out.push(SkeletonFile::Copy(r));
        }
        for (src, lib) in &m.targets {
            if let Some(r) = rel(src) {
                out.push(if *lib {
                    SkeletonFile::StubLib(r)
                } else {
                    SkeletonFile::StubMain(r)
                });
            }
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.path() == b.path());
    out
}

/// A stable 64-bit FNV-1a hash, for names that must not change between
/// runs or versions (cache mount ids).
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skeleton_is_sorted_relative_and_deduplicated() {
        let root = Path::new("/w");
        let members = vec![
            Member {
                manifest: "/w/app/Cargo.toml".into(),
                targets: vec![
                    ("/w/app/src/main.rs".into(), false),
                    ("/w/app/build.rs".into(), false),
                ],
            },
            Member {
                manifest: "/w/lib/Cargo.toml".into(),
                targets: vec![("/w/lib/src/lib.rs".into(), true)],
            },
            Member {
                manifest: "/elsewhere/Cargo.toml".into(),
                targets: vec![],
            },
        ];
        let s = skeleton(
            root,
            &members,
            &["/w/Cargo.lock".into(), "/w/Cargo.toml".into()],
        );
        let paths: Vec<_> = s.iter().map(|f| f.path().to_str().unwrap()).collect();
        assert_eq!(
            paths,
            [
                "Cargo.lock",
                "Cargo.toml",
                "app/Cargo.toml",
                "lib/Cargo.toml",
                "app/build.rs",
                "app/src/main.rs",
                "lib/src/lib.rs"
            ]
        );
    }

    #[test]
    fn stable_hash_is_stable() {
        assert_eq!(stable_hash(b"/work/app"), stable_hash(b"/work/app"));
        assert_ne!(stable_hash(b"/work/app"), stable_hash(b"/work/app2"));
        assert_eq!(stable_hash(b""), 0xcbf2_9ce4_8422_2325);
    }
}
