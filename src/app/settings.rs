//! The configuration of a workspace, read from its files: Cross.toml (or
//! CROSS_CONFIG's file) and Cargo.toml's metadata, checked for what a
//! repository may name, resolved with the environment.

use std::path::{Path, PathBuf};

use crate::config::trust::{self, ConfigFile};
use crate::config::{CargoMetadata, CrossToml, Env, Settings, Sources};
use crate::error::{Error, Result};

/// The largest configuration file read: far above any real Cross.toml,
/// far below what would exhaust memory (`CROSS_CONFIG=/dev/zero`).
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// A configuration file's text: a regular file of at most
/// [`MAX_CONFIG_BYTES`].
pub fn read_config(path: &Path) -> std::io::Result<String> {
    use std::io::{Error as IoError, ErrorKind, Read};
    let f = std::fs::File::open(path)?;
    if !f.metadata()?.is_file() {
        return Err(IoError::new(
            ErrorKind::InvalidInput,
            "not a regular file (a configuration is a TOML file)",
        ));
    }
    let mut text = String::new();
    f.take(MAX_CONFIG_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(IoError::new(
            ErrorKind::InvalidInput,
            "larger than 1 MiB: not a configuration file",
        ));
    }
    Ok(text)
}

/// `p` with symbolic links resolved as far as it exists (a file named in
/// a configuration need not exist yet).
pub fn real_path(cwd: &Path, p: &Path) -> PathBuf {
    let p = trust::normalize(&cwd.join(p));
    let mut existing = p.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            return rest.iter().rev().fold(real, |acc, c| acc.join(c));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return p,
        }
    }
}

pub fn load_settings(
    env: &Env,
    workspace: &crate::workspace::Workspace,
) -> Result<(Settings, Vec<String>)> {
    let mut all_warnings: Vec<String> = Vec::new();
    let config_path = env
        .value("CROSS_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.root.join("Cross.toml"));
    tracing::debug!(config = %config_path.display(), root = %workspace.root.display(), "configuration");
    let cwd = env.current_dir().unwrap_or_default();
    let real = |p: &Path| real_path(&cwd, p);
    let root = real(&workspace.root);
    let file = |path| ConfigFile {
        path,
        root: &root,
        env,
        real: &real,
    };
    let toml = match read_config(&config_path) {
        Ok(text) => {
            let (mut toml, warnings) = CrossToml::parse(&config_path, &text)?;
            trust::check(&mut toml, &file(&config_path))?;
            all_warnings.extend(warnings.into_iter().map(|w| w.0));
            toml
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !env.is_set("CROSS_CONFIG") => {
            if workspace.root.join("cross.toml").is_file() {
                all_warnings.push(format!(
                    "{} exists but the configuration file is Cross.toml (with a capital C), so it is not read, as with cross\n  help: rename it to Cross.toml",
                    workspace.root.join("cross.toml").display()
                ));
            }
            CrossToml::default()
        }
        Err(e) => return Err(Error::io("read", &config_path, e)),
    };
    let manifest = workspace.root.join("Cargo.toml");
    let cargo_metadata = match std::fs::read_to_string(&manifest) {
        Ok(text) => {
            let (mut meta, warnings) = CargoMetadata::parse(&manifest, &text)?;
            for c in meta.tables_mut() {
                trust::check(c, &file(&manifest))?;
            }
            all_warnings.extend(warnings.into_iter().map(|w| w.0));
            meta
        }
        Err(e) => return Err(Error::io("read", &manifest, e)),
    };
    let mut sources = Sources {
        cross_toml: toml,
        cargo_metadata,
    };
    // A single `pre-build` string is a script when the workspace has it.
    let is_file = |p: &str| !p.is_empty() && workspace.root.join(p).is_file();
    sources.cross_toml.classify_pre_build(&is_file);
    for c in sources.cargo_metadata.tables_mut() {
        c.classify_pre_build(&is_file);
    }
    all_warnings.extend(sources.warnings());
    let settings = Settings::resolve_sources(env, &sources)?;
    Ok((settings, all_warnings))
}
