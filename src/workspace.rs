//! The cargo workspace as green-cross needs it: where it is, where its
//! target dir is, and the skeleton (manifests, lockfile, stub sources) from
//! which dependencies are fetched in a layer that changes only when the
//! manifests or the lockfile change.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

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
    /// The workspace's packages and their binaries (for `run`).
    pub packages: Vec<Package>,
    /// The git branch the workspace is on, when it is on one (cache tags).
    pub git_branch: Option<String>,
    /// The repository's default branch (`origin/HEAD`), when git knows it.
    pub git_default_branch: Option<String>,
    /// `build.rustflags` of the workspace's `.cargo/config.toml`, when cargo
    /// uses them for every target (no `rustflags` in its `[target]`
    /// tables): see [`config_build_rustflags`].
    pub config_build_rustflags: Option<Vec<String>>,
    /// The root's path below the directory that holds it and every path
    /// dependency outside it (their nearest common ancestor): empty when
    /// no path dependency is outside the root. Inside the build, that
    /// ancestor is the build's source directory (`/src`), so relative paths between
    /// them (`path = "../../shared/lib"`) hold there too.
    pub prefix: PathBuf,
    /// Path dependencies outside the root, at their place below that
    /// ancestor. The skeleton's paths are relative to the ancestor too.
    pub outside: Vec<OutsidePackage>,
    /// The toolchain the root's `rust-toolchain.toml` (or legacy
    /// `rust-toolchain`) pins, if it names a channel.
    pub pinned_toolchain: Option<PinnedToolchain>,
    /// The lockfile's packages from git or a registry other than
    /// crates.io, which the host's cargo fetches (sorted).
    pub private: Vec<crate::lockfile::PrivatePackage>,
    /// Whether the user's cargo configuration replaces crates.io (a mirror,
    /// a vendored directory) for this workspace: then crates.io's packages
    /// come from the host's cargo too, as the build cannot know the mirror.
    pub crates_io_mirror: bool,
}

/// A channel named by a rust-toolchain file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinnedToolchain {
    /// The file's name (`rust-toolchain.toml`).
    pub file: String,
    pub channel: String,
}

/// The channel a rust-toolchain file names: `[toolchain] channel` of the
/// TOML form, or the legacy form's single line (`1.80`, `nightly-2026-01-01`).
pub fn toolchain_channel(text: &str) -> Option<String> {
    if let Ok(doc) = text.parse::<toml::Table>() {
        return doc
            .get("toolchain")?
            .get("channel")?
            .as_str()
            .map(str::to_string);
    }
    let line = text.trim();
    (!line.is_empty() && !line.contains(char::is_whitespace)).then(|| line.to_string())
}

/// A path dependency outside the workspace root (a monorepo's shared crate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutsidePackage {
    pub name: String,
    /// Its directory on the host.
    pub dir: PathBuf,
    /// Its directory below the common ancestor (see [`Workspace::prefix`]).
    pub rel: PathBuf,
}

impl Workspace {
    /// The directory that holds the root and every path dependency: the
    /// root itself unless some path dependency is outside it.
    pub fn mount_root(&self) -> PathBuf {
        let mut root = self.root.clone();
        for _ in self.prefix.components() {
            root.pop();
        }
        root
    }
}

/// The nearest directory that holds `root` and every one of `dirs`, and
/// `root`'s path below it.
pub fn common_ancestor(root: &Path, dirs: &[PathBuf]) -> (PathBuf, PathBuf) {
    let mut base = root.to_path_buf();
    while !dirs.iter().all(|d| d.starts_with(&base)) {
        if !base.pop() {
            break;
        }
    }
    let prefix = root
        .strip_prefix(&base)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    (base, prefix)
}

/// `build.rustflags` of a cargo configuration file, when cargo would use
/// them for every target: cargo takes a target's own rustflags over
/// `build.rustflags` and drops the latter, so a file with `rustflags` in a
/// `[target]` table gives none here. green-cross sets target rustflags of
/// its own (through the environment), which would make cargo drop these
/// where it would not without green-cross. A file cargo cannot read gives
/// none; cargo reports it.
pub fn config_build_rustflags(text: &str) -> Option<Vec<String>> {
    let doc: toml::Table = text.parse().ok()?;
    let targets_have_flags = doc
        .get("target")
        .and_then(toml::Value::as_table)
        .is_some_and(|t| {
            t.values()
                .any(|v| v.as_table().is_some_and(|t| t.contains_key("rustflags")))
        });
    if targets_have_flags {
        return None;
    }
    match doc.get("build")?.get("rustflags")? {
        toml::Value::String(s) => Some(s.split_whitespace().map(String::from).collect()),
        toml::Value::Array(a) => a
            .iter()
            .map(|v| v.as_str().map(String::from))
            .collect::<Option<Vec<_>>>(),
        _ => None,
    }
    .filter(|f| !f.is_empty())
}

/// A workspace member as `run` sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    pub name: String,
    /// The package's directory, relative to the workspace root.
    pub dir: PathBuf,
    /// Its binary targets, sorted.
    pub bins: Vec<String>,
    /// `default-run` from its manifest.
    pub default_run: Option<String>,
}

/// The binary `cargo run` would run, by cargo's rules: `--bin`, else the
/// selected packages (`-p`), else the package the current directory is in,
/// else the whole workspace; `default-run` decides between several, and
/// more than one candidate is an error that lists them.
pub fn select_binary(
    ws: &Workspace,
    bin: Option<&str>,
    packages: &[String],
) -> Result<String, String> {
    if let Some(b) = bin {
        return Ok(b.to_string());
    }
    let candidates: Vec<&Package> = if !packages.is_empty() {
        let found: Vec<&Package> = ws
            .packages
            .iter()
            .filter(|p| packages.contains(&p.name))
            .collect();
        if found.is_empty() {
            return Err(format!(
                "no package named {} in this workspace",
                packages.join(", ")
            ));
        }
        found
    } else if let Some(p) = ws
        .packages
        .iter()
        .filter(|p| ws.workdir.starts_with(&p.dir))
        .max_by_key(|p| p.dir.components().count())
    {
        vec![p]
    } else {
        ws.packages.iter().collect()
    };
    if let [p] = candidates.as_slice()
        && let Some(d) = &p.default_run
    {
        return Ok(d.clone());
    }
    let bins: Vec<&String> = candidates.iter().flat_map(|p| &p.bins).collect();
    match bins.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err("a bin target must be available for `run`".into()),
        many => Err(format!(
            "`run` could not determine which binary to run; use `--bin` or the `default-run` manifest key\n  available binaries: {}",
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// What cargo metadata says of one workspace member, reduced to what the
/// skeleton needs.
#[derive(Debug, Clone)]
pub struct Member {
    pub manifest: PathBuf,
    /// (source path, is it a library-like root)
    pub targets: Vec<(PathBuf, bool)>,
}

/// The skeleton of a workspace: pure, from the members cargo reported
/// (and the path dependencies outside the workspace), relative to `base`,
/// the directory that holds them all, whose workspace manifest is at
/// `root_manifest`.
pub fn skeleton(
    base: &Path,
    root_manifest: &Path,
    members: &[Member],
    extra_files: &[PathBuf],
) -> Vec<SkeletonFile> {
    let rel = |p: &Path| p.strip_prefix(base).ok().map(Path::to_path_buf);
    let mut out: Vec<SkeletonFile> = rel(root_manifest)
        .map(SkeletonFile::Copy)
        .into_iter()
        .collect();
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

/// A stable 64-bit hash, for names that must not change between runs or
/// versions (cache mount ids, image tags): the first 8 bytes of the
/// SHA-256 digest, big-endian, so that `{:016x}` prints the digest's first
/// 16 hex digits.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let digest = Sha256::digest(bytes);
    let first: [u8; 8] = digest[..8]
        .try_into()
        .expect("a SHA-256 digest has 32 bytes");
    u64::from_be_bytes(first)
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
            &root.join("Cargo.toml"),
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

    fn ws(workdir: &str, packages: Vec<Package>) -> Workspace {
        Workspace {
            git_branch: None,
            git_default_branch: None,
            config_build_rustflags: None,
            root: "/w".into(),
            target_dir: "/w/target".into(),
            workdir: workdir.into(),
            manifest: None,
            has_lockfile: true,
            skeleton: vec![],
            packages,
            prefix: PathBuf::new(),
            outside: vec![],
            pinned_toolchain: None,
            private: vec![],
            crates_io_mirror: false,
        }
    }

    #[test]
    fn toolchain_channel_reads_both_forms_of_the_file() {
        let toml = "[toolchain]\nchannel = \"1.80\"\ncomponents = [\"clippy\"]\n";
        assert_eq!(toolchain_channel(toml).as_deref(), Some("1.80"));
        assert_eq!(
            toolchain_channel("[toolchain]\npath = \"/opt/rust\"\n"),
            None
        );
        assert_eq!(
            toolchain_channel("nightly-2026-01-01\n").as_deref(),
            Some("nightly-2026-01-01")
        );
        assert_eq!(toolchain_channel("\n"), None);
    }

    fn pkg(name: &str, dir: &str, bins: &[&str], default_run: Option<&str>) -> Package {
        Package {
            name: name.into(),
            dir: dir.into(),
            bins: bins.iter().map(|b| b.to_string()).collect(),
            default_run: default_run.map(String::from),
        }
    }

    #[test]
    fn select_binary_follows_cargo_run() {
        let w = ws(
            "",
            vec![
                pkg("app", "app", &["app"], None),
                pkg("lib", "lib", &[], None),
            ],
        );
        assert_eq!(select_binary(&w, None, &[]).unwrap(), "app");
        assert_eq!(select_binary(&w, Some("other"), &[]).unwrap(), "other");
        let err = select_binary(&w, None, &["lib".into()]).unwrap_err();
        assert!(err.contains("a bin target must be available"), "{err}");
        assert!(
            select_binary(&w, None, &["nope".into()])
                .unwrap_err()
                .contains("no package named nope")
        );

        let w = ws(
            "",
            vec![
                pkg("a", "a", &["a1", "a2"], None),
                pkg("b", "b", &["b"], None),
            ],
        );
        let err = select_binary(&w, None, &[]).unwrap_err();
        assert!(err.contains("available binaries: a1, a2, b"), "{err}");
        // The package the current directory is in decides.
        let w2 = ws("b/src", w.packages.clone());
        assert_eq!(select_binary(&w2, None, &[]).unwrap(), "b");
        // default-run decides between a package's binaries.
        let w3 = ws("a", vec![pkg("a", "a", &["a1", "a2"], Some("a2"))]);
        assert_eq!(select_binary(&w3, None, &[]).unwrap(), "a2");
        // A root package (dir "") contains every directory.
        let w4 = ws("src", vec![pkg("root", "", &["root"], None)]);
        assert_eq!(select_binary(&w4, None, &[]).unwrap(), "root");
    }

    #[test]
    fn build_rustflags_count_only_when_no_target_table_has_its_own() {
        let flags = |t: &str| config_build_rustflags(t);
        assert_eq!(
            flags("[build]\nrustflags = [\"--cfg\", \"a b\"]\n"),
            Some(vec!["--cfg".into(), "a b".into()])
        );
        assert_eq!(
            flags("[build]\nrustflags = \"-C  target-cpu=native \"\n[target.x]\nlinker = \"cc\"\n"),
            Some(vec!["-C".into(), "target-cpu=native".into()])
        );
        assert_eq!(
            flags(
                "[build]\nrustflags = [\"-Dwarnings\"]\n[target.'cfg(unix)']\nrustflags = [\"-Cx\"]\n"
            ),
            None
        );
        assert_eq!(flags("[build]\njobs = 2\n"), None);
        assert_eq!(flags("[build]\nrustflags = []\n"), None);
        assert_eq!(flags("[build\n"), None);
    }

    #[test]
    fn the_common_ancestor_holds_the_root_and_every_outside_directory() {
        let (base, prefix) = common_ancestor(
            Path::new("/m/apps/ws"),
            &["/m/shared/units".into(), "/m/apps/lib".into()],
        );
        assert_eq!(
            (base.as_path(), prefix.as_path()),
            (Path::new("/m"), Path::new("apps/ws"))
        );
        let (base, prefix) = common_ancestor(Path::new("/m/ws"), &[]);
        assert_eq!(
            (base.as_path(), prefix.as_path()),
            (Path::new("/m/ws"), Path::new(""))
        );
        let ws = Workspace {
            prefix: "apps/ws".into(),
            ..super::tests::ws("", vec![])
        };
        assert_eq!(
            Workspace {
                root: "/m/apps/ws".into(),
                ..ws
            }
            .mount_root(),
            Path::new("/m")
        );
    }

    #[test]
    fn stable_hash_is_stable() {
        assert_eq!(stable_hash(b"/work/app"), stable_hash(b"/work/app"));
        assert_ne!(stable_hash(b"/work/app"), stable_hash(b"/work/app2"));
        // SHA-256 of nothing is e3b0c44298fc1c14...
        assert_eq!(stable_hash(b""), 0xe3b0_c442_98fc_1c14);
    }
}
