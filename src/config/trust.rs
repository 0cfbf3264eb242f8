//! What a repository's own files may make green-cross read or write on the
//! host. A configuration file inside the workspace (its Cross.toml, the
//! `[*.metadata.cross]` tables of its Cargo.toml, or a file inside it that
//! CROSS_CONFIG names) comes with the code, so building an untrusted pull
//! request must not hand it the machine's files: every host path it names
//! (`ca-bundle`, `env.volumes`, `dockerfile` and its `context`, a
//! `type=local` cache) has to resolve inside the workspace, symbolic links
//! followed (a `ca-bundle` in the system's trust store, which is public,
//! excepted). The environment, the command line and a configuration file
//! outside the workspace (CROSS_CONFIG) are the user's, and may name any
//! path. Relative paths of a file are resolved against its directory.

use std::path::{Component, Path, PathBuf};

use super::{CrossToml, Env, Section};
use crate::error::{Error, Result};

/// Where systems keep the public certificates they trust: a `ca-bundle`
/// there is no secret, wherever the file that names it is.
const SYSTEM_TRUST_STORES: &[&str] = &[
    "/etc/ssl/",
    "/etc/pki/",
    "/etc/ca-certificates/",
    "/usr/share/ca-certificates/",
    "/usr/local/share/ca-certificates/",
];

/// One configuration file, as the trust check sees it.
pub struct ConfigFile<'a> {
    /// The file, for messages and for resolving its relative paths.
    pub path: &'a Path,
    /// The workspace root (symbolic links resolved).
    pub root: &'a Path,
    /// The host's environment (for `env.volumes` entries that name a
    /// variable).
    pub env: &'a Env,
    /// The real path of a host path, symbolic links resolved as far as the
    /// path exists (injected: the shell passes the file system's).
    pub real: &'a dyn Fn(&Path) -> PathBuf,
}

impl ConfigFile<'_> {
    /// Whether the file is the repository's: inside the workspace.
    pub fn is_repository(&self) -> bool {
        (self.real)(self.path).starts_with(self.root)
    }

    fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}

/// `..` and `.` taken out of a path without reading the file system.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Resolve the file's relative `ca-bundle` against its directory, and
/// refuse host paths outside the workspace when the file is the
/// repository's.
pub fn check(config: &mut CrossToml, file: &ConfigFile) -> Result<()> {
    let dir = file.dir();
    let repository = file.is_repository();
    let sections = std::iter::once(("build".to_string(), &mut config.build)).chain(
        config
            .target
            .iter_mut()
            .map(|(t, s)| (format!("target.{t}"), s)),
    );
    for (table, section) in sections {
        if let Some(ca) = &section.ca_bundle {
            section.ca_bundle = Some(normalize(&dir.join(ca)));
        }
        if repository {
            for (key, path) in host_paths(section, file) {
                let real = (file.real)(&path);
                let public =
                    key == "ca-bundle" && SYSTEM_TRUST_STORES.iter().any(|d| real.starts_with(d));
                if !real.starts_with(file.root) && !public {
                    return Err(outside(file, &table, key, &path));
                }
            }
        }
    }
    Ok(())
}

/// The host paths a section names, with their keys: absolute, as they
/// will be used (relative `dockerfile` paths are the workspace root's).
fn host_paths(s: &Section, file: &ConfigFile) -> Vec<(&'static str, PathBuf)> {
    let mut out = Vec::new();
    if let Some(ca) = &s.ca_bundle {
        out.push(("ca-bundle", ca.clone()));
    }
    for v in s.env.volumes.iter().flatten() {
        let path = match v.split_once('=') {
            Some((_, p)) => Some(p.to_string()),
            None => file.env.get(v.trim()).map(str::to_string),
        };
        out.extend(path.map(|p| ("env.volumes", PathBuf::from(p))));
    }
    let in_root = |p: &str| normalize(&file.root.join(p));
    if let Some(d) = &s.dockerfile {
        for p in d.file.iter().chain(&d.context) {
            out.push(("dockerfile", in_root(p)));
        }
    }
    let caches = s.cache_from.iter().chain(&s.cache_to).flatten();
    for spec in caches {
        out.extend(local_cache_path(spec).map(|p| ("cache-from / cache-to", p)));
    }
    out
}

/// The directory of a `type=local` cache specification.
fn local_cache_path(spec: &str) -> Option<PathBuf> {
    let fields: Vec<&str> = spec.split(',').map(str::trim).collect();
    if !fields.contains(&"type=local") {
        return None;
    }
    fields
        .iter()
        .find_map(|f| f.strip_prefix("src=").or_else(|| f.strip_prefix("dest=")))
        .map(|p| PathBuf::from(p.replace("{triple}", "x")))
}

fn outside(file: &ConfigFile, table: &str, key: &str, path: &Path) -> Error {
    Error::ConfigValue {
        file: file.path.to_path_buf(),
        message: format!(
            "`{table}.{key}` names {}, outside the workspace: a repository's own configuration cannot hand the build files from elsewhere on this machine\n  help: name it where the repository cannot: the environment (GREEN_CROSS_CA_BUNDLE, CROSS_BUILD_ENV_VOLUMES, ...) or a Cross.toml outside the workspace named by CROSS_CONFIG",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> CrossToml {
        CrossToml::parse("Cross.toml".as_ref(), text).unwrap().0
    }

    /// The file system of the tests: `/w/app` is the workspace, and
    /// `/w/app/link` a symbolic link to `/home/me`.
    fn real(p: &Path) -> PathBuf {
        let p = normalize(p);
        match p.strip_prefix("/w/app/link") {
            Ok(rest) => Path::new("/home/me").join(rest),
            Err(_) => p,
        }
    }

    fn check_in(path: &str, text: &str, env: &Env) -> Result<CrossToml> {
        let mut c = parse(text);
        let file = ConfigFile {
            path: Path::new(path),
            root: Path::new("/w/app"),
            env,
            real: &real,
        };
        check(&mut c, &file).map(|()| c)
    }

    #[test]
    fn a_repository_s_file_names_host_paths_inside_the_workspace_only() {
        let env: Env = [("HOME".to_string(), "/home/me".to_string())].into();
        let repo = "/w/app/Cross.toml";
        for bad in [
            "[build]\nca-bundle = \"/home/me/.ssh/id_ed25519\"\n",
            "[build]\nca-bundle = \"../../home/me/.ssh/id_ed25519\"\n",
            "[build]\nca-bundle = \"link/.ssh/id_ed25519\"\n",
            "[build.env]\nvolumes = [\"SSH=/home/me/.ssh\"]\n",
            "[target.x86_64-unknown-linux-musl.env]\nvolumes = [\"HOME\"]\n",
            "[target.x86_64-unknown-linux-musl]\ndockerfile = { file = \"Dockerfile\", context = \"/\" }\n",
            "[target.x86_64-unknown-linux-musl]\ndockerfile = \"../Dockerfile\"\n",
            "[build]\ncache-to = [\"type=local,dest=/home/me/.config,mode=max\"]\n",
        ] {
            let e = check_in(repo, bad, &env).unwrap_err().to_string();
            assert!(e.contains("outside the workspace"), "{bad}: {e}");
            assert!(e.contains("/w/app/Cross.toml"), "{e}");
            // The same file outside the workspace is the user's own.
            assert!(check_in("/etc/ci/Cross.toml", bad, &env).is_ok(), "{bad}");
        }
        for ok in [
            "[build]\nca-bundle = \"certs/corp.pem\"\n",
            "[build]\nca-bundle = \"/etc/ssl/certs/ca-certificates.crt\"\n",
            "[build.env]\nvolumes = [\"ASSETS=/w/app/assets\"]\n",
            "[build]\ncache-to = [\"type=local,dest=/w/app/.cache/{triple}\"]\n",
            "[build]\ncache = \"registry.example.com/cache\"\n",
            "[target.x86_64-unknown-linux-musl]\ndockerfile = { file = \"docker/Dockerfile\", context = \"docker\" }\n",
        ] {
            assert!(check_in(repo, ok, &env).is_ok(), "{ok}");
        }
    }

    #[test]
    fn a_relative_ca_bundle_is_the_config_file_s_neighbour() {
        let c = check_in(
            "/etc/ci/Cross.toml",
            "[build]\nca-bundle = \"../certs/ca.pem\"\n",
            &Env::new(),
        )
        .unwrap();
        assert_eq!(c.build.ca_bundle, Some(PathBuf::from("/etc/certs/ca.pem")));
    }
}
