//! Private dependencies, fetched by the host's cargo: the configuration
//! that points the build's cargo at the vendored copies of the private
//! packages and at nothing else (crates.io stays the build's own).
//!
//! The host's `cargo vendor` prints the source replacements for every
//! source of the lockfile; the build keeps those of the private sources,
//! pointed at the directory the vendored context is mounted on, and the
//! `[registries]` names the manifests use (cargo needs a registry's index
//! to name its packages, even when their sources are replaced).

use std::collections::BTreeMap;

use toml::{Table, Value};

use crate::env::Env;
use crate::lockfile::PrivatePackage;
use crate::plan::PrivateDeps;

/// The named build context that holds the vendored private packages.
pub const CONTEXT: &str = "green-cross-vendor";
/// Where the build mounts it.
pub const MOUNT: &str = "/green-cross/vendor";
/// The packages' directory inside it.
pub const CRATES: &str = "crates";
/// The cargo configuration file inside it.
pub const CONFIG: &str = "config.toml";
/// The file inside it that names its packages' contents (see
/// [`content_id`]).
pub const ID: &str = "id";
/// The name of the replacement source in that configuration.
const SOURCE: &str = "green-cross-private";

/// What the vendored packages hold, as one hex digest: each package's
/// directory name and its `.cargo-checksum.json` (the checksum of every
/// file, and the registry's checksum of the package). The build step
/// compares it with the one its cached target directory was built from.
/// The digest is needed because a vendored package's compiled output is
/// fresh to cargo as long as its version is the same, and a git
/// dependency's new commit usually is.
pub fn content_id(packages: &[(String, String)]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (dir, checksums) in packages {
        for part in [dir, checksums] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
    }
    crate::fingerprint::hex(&h.finalize())
}

/// The directory `cargo vendor --versioned-dirs` gives a package.
pub fn vendored_dir(p: &PrivatePackage) -> String {
    format!("{}-{}", p.name, p.version)
}

/// The vendored directories the build is handed: the private packages'
/// or every one when crates.io's come from the host too.
pub fn context_dirs(private: &PrivateDeps, all: &std::path::Path) -> std::io::Result<Vec<String>> {
    if !private.crates_io {
        return Ok(private.packages.iter().map(vendored_dir).collect());
    }
    let mut dirs = vec![];
    for e in std::fs::read_dir(all)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            dirs.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Whether a cargo configuration file's text replaces crates.io.
pub fn replaces_crates_io(text: &str) -> bool {
    text.parse::<Table>().is_ok_and(|t| {
        t.get("source")
            .and_then(|s| s.get("crates-io"))
            .and_then(|c| c.get("replace-with"))
            .is_some()
    })
}

/// The registries a lockfile's source names, from the `[registries]`
/// tables of cargo's configuration files (highest precedence first: the
/// workspace's, then its parents', then CARGO_HOME's) and the
/// CARGO_REGISTRIES_<NAME>_INDEX variables, which win.
pub fn registries(config_texts: &[&str], env: &Env) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for text in config_texts.iter().rev() {
        let Ok(t) = text.parse::<Table>() else {
            continue;
        };
        let Some(Value::Table(regs)) = t.get("registries") else {
            continue;
        };
        for (name, r) in regs {
            if let Some(Value::String(index)) = r.get("index") {
                out.insert(name.clone(), index.clone());
            }
        }
    }
    for (k, v) in env.with_prefix("CARGO_REGISTRIES_") {
        if let Some(name) = k
            .strip_prefix("CARGO_REGISTRIES_")
            .and_then(|n| n.strip_suffix("_INDEX"))
        {
            // The variable's name is the registry's upper-cased, with `_`
            // for `-`: it overrides a file's registry of that spelling.
            let known = out
                .keys()
                .find(|n| n.to_ascii_uppercase().replace('-', "_") == name)
                .cloned();
            out.insert(
                known.unwrap_or_else(|| name.to_ascii_lowercase()),
                v.to_string(),
            );
        }
    }
    out
}

/// The help line for a failed fetch of private dependencies, from cargo's
/// error text.
pub fn fetch_help(stderr: &str) -> String {
    let has = |s: &str| stderr.contains(s);
    // git over http(s): libgit2 asks git's credential helpers, the git CLI
    // its own setup; cargo's curl transport (any [http] setting) sends no
    // credentials at all.
    let http_git = has("credential.helper")
        || has("could not read Username")
        || has("Authentication failed for 'http")
        || has("failed to receive HTTP 200 response: got 401");
    let ssh = has("ssh-agent")
        || has("Permission denied (publickey")
        || has("no authentication methods succeeded")
        || has("unknown SSH host key");
    let token = has("token rejected") || has("no token found") || has("got 401");
    let proxy = has("got 407") || has("Proxy");
    let tail = "green-cross fetches private dependencies with the host's cargo, so `cargo fetch --locked` in the workspace must work first";
    if http_git {
        format!(
            "give git the repository's credentials (a credential helper: `git config --global credential.helper store`, or your git's own); with a proxy or CA in cargo's [http] settings, cargo's built-in git sends none: set net.git-fetch-with-cli = true; {tail}"
        )
    } else if has("unknown SSH host key") {
        format!(
            "add the git server's host key to ~/.ssh/known_hosts (or cargo's net.ssh.known-hosts); {tail}"
        )
    } else if ssh {
        format!(
            "start an ssh agent holding a key the git server accepts (`eval $(ssh-agent)`, `ssh-add`); {tail}"
        )
    } else if token {
        format!(
            "give cargo the registry's token: CARGO_REGISTRIES_<NAME>_TOKEN, `cargo login --registry <name>` or a credential provider; {tail}"
        )
    } else if proxy {
        format!(
            "check the proxy's address and credentials in HTTPS_PROXY / HTTP_PROXY (or cargo's http.proxy); {tail}"
        )
    } else {
        tail.to_string()
    }
}

/// The lockfile's spelling of a registry's index URL.
fn lock_source(index: &str) -> String {
    if index.starts_with("sparse+") || index.starts_with("registry+") {
        index.to_string()
    } else {
        format!("registry+{index}")
    }
}

/// The build's cargo configuration: the private sources of `cargo vendor`'s
/// printed configuration, replaced by the vendored directory at `mount`,
/// and the registries those packages come from.
pub fn build_config(
    printed: &str,
    deps: &PrivateDeps,
    registries: &BTreeMap<String, String>,
    mount: &str,
) -> Result<String, String> {
    let private = &deps.packages[..];
    let printed: Table = printed
        .parse()
        .map_err(|e| format!("cargo vendor printed a configuration that does not parse: {e}"))?;
    let mut sources = Table::new();
    if let Some(Value::Table(s)) = printed.get("source") {
        for (name, def) in s {
            let Value::Table(def) = def else { continue };
            let crates_io = deps.crates_io && name == "crates-io";
            if def.get("replace-with").is_none() || !(crates_io || serves_private(def, private)) {
                continue;
            }
            let mut def = def.clone();
            def.insert("replace-with".into(), SOURCE.into());
            sources.insert(name.clone(), Value::Table(def));
        }
    }
    let mut dir = Table::new();
    dir.insert("directory".into(), format!("{mount}/{CRATES}").into());
    sources.insert(SOURCE.into(), Value::Table(dir));
    let mut regs = Table::new();
    for (name, index) in registries {
        let used = private.iter().any(|p| p.source == lock_source(index));
        if used {
            let mut r = Table::new();
            r.insert("index".into(), index.clone().into());
            regs.insert(name.clone(), Value::Table(r));
        }
    }
    let mut out = Table::new();
    out.insert("source".into(), Value::Table(sources));
    if !regs.is_empty() {
        out.insert("registries".into(), Value::Table(regs));
    }
    Ok(toml::to_string(&out).expect("a table serialises"))
}

/// Whether a source definition of `cargo vendor`'s configuration is where
/// one of the private packages comes from.
fn serves_private(def: &Table, private: &[PrivatePackage]) -> bool {
    let text = |k: &str| def.get(k).and_then(Value::as_str);
    if let Some(git) = text("git") {
        let git = git.trim_end_matches('/');
        return private
            .iter()
            .filter(|p| p.is_git())
            .any(|p| git_url(&p.source).trim_end_matches('/') == git);
    }
    if let Some(index) = text("registry") {
        return private.iter().any(|p| p.source == lock_source(index));
    }
    false
}

/// A git source's URL without `git+`, its query and its commit.
fn git_url(source: &str) -> &str {
    let s = source.strip_prefix("git+").unwrap_or(source);
    s.split(['?', '#']).next().unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, source: &str) -> PrivatePackage {
        PrivatePackage {
            name: name.into(),
            version: "0.1.0".into(),
            source: source.into(),
        }
    }

    const PRINTED: &str = r#"
[source.crates-io]
replace-with = "vendored-sources"

[source."git+ssh://git@127.0.0.1:2222/srv/tool.git"]
git = "ssh://git@127.0.0.1:2222/srv/tool.git"
replace-with = "vendored-sources"

[source."sparse+http://127.0.0.1:8080/index/"]
registry = "sparse+http://127.0.0.1:8080/index/"
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "/home/me/app/target/green-cross/vendor/all"
"#;

    #[test]
    fn only_private_sources_are_replaced_and_their_registries_named() {
        let private = [
            pkg("corp-lib", "sparse+http://127.0.0.1:8080/index/"),
            pkg("tool", "git+ssh://git@127.0.0.1:2222/srv/tool.git#0123abc"),
        ];
        let regs = BTreeMap::from([
            (
                "corp".to_string(),
                "sparse+http://127.0.0.1:8080/index/".to_string(),
            ),
            (
                "other".to_string(),
                "sparse+http://elsewhere/index/".to_string(),
            ),
        ]);
        let deps = PrivateDeps {
            packages: private.to_vec(),
            cached: false,
            crates_io: false,
        };
        let text = build_config(PRINTED, &deps, &regs, MOUNT).unwrap();
        let t: Table = text.parse().unwrap();
        let s = t["source"].as_table().unwrap();
        assert!(!s.contains_key("crates-io"), "{text}");
        assert!(!s.contains_key("vendored-sources"), "{text}");
        assert_eq!(
            s["git+ssh://git@127.0.0.1:2222/srv/tool.git"]["replace-with"].as_str(),
            Some(SOURCE)
        );
        assert_eq!(
            s[SOURCE]["directory"].as_str(),
            Some("/green-cross/vendor/crates")
        );
        let r = t["registries"].as_table().unwrap();
        assert_eq!(r.keys().collect::<Vec<_>>(), ["corp"]);
        assert!(!text.contains("/home/me"), "no host path: {text}");
    }

    #[test]
    fn a_crates_io_mirror_of_the_user_s_is_replaced_too() {
        let deps = PrivateDeps {
            packages: vec![],
            cached: false,
            crates_io: true,
        };
        let text = build_config(PRINTED, &deps, &BTreeMap::new(), MOUNT).unwrap();
        let t: Table = text.parse().unwrap();
        assert_eq!(
            t["source"]["crates-io"]["replace-with"].as_str(),
            Some(SOURCE),
            "{text}"
        );
        assert!(replaces_crates_io(
            "[source.crates-io]\nreplace-with = \"corp\"\n[source.corp]\nregistry = \"sparse+https://m/\"\n"
        ));
        assert!(!replaces_crates_io("[source.corp]\nregistry = \"x\"\n"));
        assert!(!replaces_crates_io("not toml ["));
    }

    #[test]
    fn registries_come_from_the_files_then_the_environment() {
        let ws = "[registries.corp]\nindex = \"sparse+https://ws/index/\"\n";
        let home = "[registries.corp]\nindex = \"sparse+https://home/\"\n[registries.my-reg]\nindex = \"https://git/index\"\n";
        let env = Env::from([("CARGO_REGISTRIES_MY_REG_INDEX", "sparse+https://env/")]);
        let r = registries(&[ws, home], &env);
        assert_eq!(r["corp"], "sparse+https://ws/index/");
        assert_eq!(r["my-reg"], "sparse+https://env/");
        assert_eq!(
            lock_source("https://git/index"),
            "registry+https://git/index"
        );
    }

    #[test]
    fn the_help_line_follows_cargo_s_error() {
        let libgit2_ssh = "failed to authenticate when downloading repository\n  * attempted ssh-agent authentication, but no usernames succeeded: `git`";
        assert!(fetch_help(libgit2_ssh).contains("ssh agent"));
        let libgit2_http = "failed to authenticate when downloading repository\n  * attempted to find username/password via git's `credential.helper` support, but failed";
        assert!(fetch_help(libgit2_http).contains("credential helper"));
        let cli =
            "fatal: could not read Username for 'http://127.0.0.1:1': terminal prompts disabled";
        assert!(fetch_help(cli).contains("credential helper"));
        let curl = "failed to receive HTTP 200 response: got 401";
        assert!(fetch_help(curl).contains("git-fetch-with-cli"));
        let token = "token rejected for `corp`, please run `cargo login --registry corp`";
        assert!(fetch_help(token).contains("CARGO_REGISTRIES_<NAME>_TOKEN"));
        assert!(fetch_help("root@127.0.0.1: Permission denied (publickey).").contains("ssh agent"));
        assert!(fetch_help("got 407").contains("proxy"));
        assert!(fetch_help("something else").starts_with("green-cross fetches"));
    }

    #[test]
    fn a_printed_configuration_that_does_not_parse_is_an_error() {
        let none = PrivateDeps {
            packages: vec![],
            cached: false,
            crates_io: false,
        };
        assert!(build_config("[source", &none, &BTreeMap::new(), MOUNT).is_err());
    }

    #[test]
    fn the_content_id_changes_with_any_package_s_checksums() {
        let pkgs = |sum: &str| vec![("tool-0.1.0".to_string(), sum.to_string())];
        let a = content_id(&pkgs("{\"files\":{\"src/lib.rs\":\"aa\"}}"));
        assert_eq!(a, content_id(&pkgs("{\"files\":{\"src/lib.rs\":\"aa\"}}")));
        assert_ne!(a, content_id(&pkgs("{\"files\":{\"src/lib.rs\":\"ab\"}}")));
        assert_eq!(a.len(), 64);
        // Where one part ends is part of what is hashed.
        let split = |d: &str, c: &str| content_id(&[(d.to_string(), c.to_string())]);
        assert_ne!(split("ab", "c"), split("a", "bc"));
    }
}
