//! What Cargo.lock says about where the dependencies come from: crates.io
//! (public, fetched inside the build), or somewhere private (a git
//! repository, another registry), which the host's cargo fetches with the
//! user's credentials.

use serde::{Deserialize, Serialize};

/// The source strings crates.io has in a lockfile (git index, sparse index).
const CRATES_IO: &[&str] = &[
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

/// A locked package that does not come from crates.io or a path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PrivatePackage {
    pub name: String,
    pub version: String,
    /// The lockfile's source: `git+ssh://…#<commit>`, `registry+…`,
    /// `sparse+…`. Not in `plan --json`: a URL may hold credentials.
    #[serde(skip_serializing)]
    pub source: String,
}

impl PrivatePackage {
    /// The package id spec cargo takes with `-p`: `name@version`.
    pub fn spec(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// Whether it comes from a git repository (else another registry).
    pub fn is_git(&self) -> bool {
        self.source.starts_with("git+")
    }
}

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<Locked>,
}

#[derive(Deserialize)]
struct Locked {
    name: String,
    version: String,
    source: Option<String>,
}

/// The lockfile's packages from neither crates.io nor a path, sorted. A
/// lockfile that does not parse gives none: cargo reports it.
pub fn private_packages(lock_text: &str) -> Vec<PrivatePackage> {
    let Ok(lock) = toml::from_str::<Lock>(lock_text) else {
        return vec![];
    };
    let mut out: Vec<PrivatePackage> = lock
        .package
        .into_iter()
        .filter_map(|p| {
            let source = p.source?;
            (!CRATES_IO.contains(&source.as_str())).then_some(PrivatePackage {
                name: p.name,
                version: p.version,
                source,
            })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["corp-lib", "libc", "tool"]

[[package]]
name = "corp-lib"
version = "0.2.1"
source = "sparse+http://127.0.0.1:8080/index/"
checksum = "00"

[[package]]
name = "libc"
version = "0.2.170"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "00"

[[package]]
name = "serde"
version = "1.0.0"
source = "sparse+https://index.crates.io/"

[[package]]
name = "tool"
version = "0.1.0"
source = "git+ssh://git@127.0.0.1:2222/srv/tool.git#0123456789abcdef"
"#;

    #[test]
    fn packages_from_git_and_other_registries_are_private() {
        let p = private_packages(LOCK);
        let specs: Vec<String> = p.iter().map(PrivatePackage::spec).collect();
        assert_eq!(specs, ["corp-lib@0.2.1", "tool@0.1.0"]);
        assert!(!p[0].is_git() && p[1].is_git());
    }

    #[test]
    fn no_lockfile_or_a_broken_one_names_none() {
        assert!(private_packages("").is_empty());
        assert!(private_packages("[[package]]\nname = 1\n").is_empty());
    }
}
