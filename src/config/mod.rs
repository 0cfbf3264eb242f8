//! Cross.toml: the serde model and its parsing (the checks made while
//! parsing a file, such as unknown-key warnings with file and line, are in
//! `check.rs`), and the one function that resolves every setting with its
//! precedence.
//!
//! Precedence, highest first: the environment (GREEN_CROSS_*, then the
//! standard variables such as CARGO_BUILD_TARGET), `[target.<triple>]`, then
//! `[build]`. Defaults are applied last, after the layers are merged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use check::{check_required, check_strings, syntax_error, type_error, unknown_keys};

mod check;
pub mod env;
mod resolve;
pub mod trust;
mod values;

pub use resolve::{
    CaBundle, DEFAULT_CA_BUNDLE, DEFAULT_DISTRO_BASE, Layer, Settings, Sources, TargetSettings,
};
pub use values::{BuildStd, Dockerfile, Image, Merge, PreBuild, Zig};

pub use crate::env::Env;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ToolchainMode {
    /// The official Rust image matching the host's rustc, tonistiigi/xx,
    /// `rustup target add`. Needs an image registry.
    #[default]
    Rustup,
    /// A Debian base image with Debian's Rust: works offline and air-gapped.
    Distro,
}

impl ToolchainMode {
    pub fn parse(s: &str) -> Option<ToolchainMode> {
        match s {
            "rustup" => Some(ToolchainMode::Rustup),
            "distro" => Some(ToolchainMode::Distro),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ToolchainMode::Rustup => "rustup",
            ToolchainMode::Distro => "distro",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Smallest binary: lto fat, codegen-units 1, strip, panic abort, opt-level z.
    Size,
    /// Fastest binary: lto fat, codegen-units 1, strip, panic unwind, opt-level 3.
    Speed,
}

/// Release profile settings, applied through CARGO_PROFILE_<NAME>_* and
/// rustflags without touching Cargo.toml. Every field is optional so that
/// layers merge field by field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ReleaseSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    #[serde(
        default,
        deserialize_with = "de_lto",
        skip_serializing_if = "Option::is_none"
    )]
    pub lto: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codegen_units: Option<u32>,
    #[serde(
        default,
        deserialize_with = "de_strip",
        skip_serializing_if = "Option::is_none"
    )]
    pub strip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub panic: Option<PanicStrategy>,
    #[serde(
        default,
        deserialize_with = "de_opt_level",
        skip_serializing_if = "Option::is_none"
    )]
    pub opt_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crt_static: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PanicStrategy {
    Unwind,
    Abort,
}

impl PanicStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            PanicStrategy::Unwind => "unwind",
            PanicStrategy::Abort => "abort",
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BoolOrString {
    Bool(bool),
    Int(i64),
    Str(String),
}

fn de_lto<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::de::Error as _;
    match BoolOrString::deserialize(d)? {
        BoolOrString::Bool(true) => Ok(Some("true".into())),
        BoolOrString::Bool(false) => Ok(Some("false".into())),
        BoolOrString::Str(s) if ["fat", "thin", "off"].contains(&s.as_str()) => Ok(Some(s)),
        _ => Err(D::Error::custom(
            "lto takes true, false, \"fat\", \"thin\" or \"off\"",
        )),
    }
}

fn de_strip<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::de::Error as _;
    match BoolOrString::deserialize(d)? {
        BoolOrString::Bool(true) => Ok(Some("true".into())),
        BoolOrString::Bool(false) => Ok(Some("false".into())),
        BoolOrString::Str(s) if ["none", "debuginfo", "symbols"].contains(&s.as_str()) => {
            Ok(Some(s))
        }
        _ => Err(D::Error::custom(
            "strip takes true, false, \"none\", \"debuginfo\" or \"symbols\"",
        )),
    }
}

fn de_opt_level<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::de::Error as _;
    match BoolOrString::deserialize(d)? {
        BoolOrString::Int(n) if (0..=3).contains(&n) => Ok(Some(n.to_string())),
        BoolOrString::Str(s) if ["0", "1", "2", "3", "s", "z"].contains(&s.as_str()) => Ok(Some(s)),
        _ => Err(D::Error::custom(
            "opt-level takes 0, 1, 2, 3, \"s\" or \"z\"",
        )),
    }
}

impl ReleaseSettings {
    /// `self` over `lower`, field by field.
    pub fn over(&self, lower: &ReleaseSettings) -> ReleaseSettings {
        ReleaseSettings {
            preset: self.preset.or(lower.preset),
            lto: self.lto.clone().or_else(|| lower.lto.clone()),
            codegen_units: self.codegen_units.or(lower.codegen_units),
            strip: self.strip.clone().or_else(|| lower.strip.clone()),
            panic: self.panic.or(lower.panic),
            opt_level: self.opt_level.clone().or_else(|| lower.opt_level.clone()),
            crt_static: self.crt_static.or(lower.crt_static),
        }
    }

    /// Fill the fields the preset defines and that no layer set.
    pub fn with_preset_applied(&self) -> ReleaseSettings {
        let Some(preset) = self.preset else {
            return self.clone();
        };
        let (opt, panic) = match preset {
            Preset::Size => ("z", PanicStrategy::Abort),
            Preset::Speed => ("3", PanicStrategy::Unwind),
        };
        self.over(&ReleaseSettings {
            preset: Some(preset),
            lto: Some("fat".into()),
            codegen_units: Some(1),
            strip: Some("true".into()),
            panic: Some(panic),
            opt_level: Some(opt.into()),
            crt_static: None,
        })
    }
}

/// `[build.env]` and `[target.<triple>.env]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct EnvKeys {
    /// `NAME` (the host's value) or `NAME=VALUE`.
    pub passthrough: Option<Vec<String>>,
    /// `NAME` (a host directory named by the host's $NAME) or `NAME=/path`.
    pub volumes: Option<Vec<String>>,
    /// `NAME`s of host variables that reach the compile steps as BuildKit
    /// secrets: never in the Dockerfile, a layer, the cache or a build
    /// record.
    pub secrets: Option<Vec<String>>,
}

/// One table of settings: `[build]` or `[target.<triple>]`, from Cross.toml,
/// from Cargo.toml's metadata, or from the environment. The first four keys
/// are read from `[build]` only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Section {
    pub toolchain: Option<ToolchainMode>,
    pub base_image: Option<String>,
    pub ca_bundle: Option<PathBuf>,
    pub default_target: Option<String>,
    /// The shared build cache: a repository (`REPO[:TEMPLATE]`) or `gha`.
    pub cache: Option<String>,
    /// BuildKit cache import specifications, in place of `cache`'s.
    pub cache_from: Option<Vec<String>>,
    /// BuildKit cache export specifications, in place of `cache`'s.
    pub cache_to: Option<Vec<String>>,
    /// Whether the compiled private dependencies (from git or a registry
    /// other than crates.io) may be in the dependencies layer, which a
    /// shared cache exports. Off unless set.
    pub cache_private_deps: Option<bool>,
    #[serde(default)]
    pub env: EnvKeys,
    pub build_std: Option<BuildStd>,
    /// Retired by cross in favour of build-std; read so that it can be
    /// reported.
    pub xargo: Option<bool>,
    pub pre_build: Option<PreBuild>,
    pub runner: Option<String>,
    /// Packages installed for the target architecture in the sysroot stage.
    pub packages: Option<Vec<String>>,
    pub zig: Option<Zig>,
    pub dockerfile: Option<Dockerfile>,
    pub image: Option<Image>,
    #[serde(default)]
    pub release: ReleaseSettings,
}

/// Kept for the name used across the code base: `[build]` is a [`Section`].
pub type BuildSection = Section;
/// `[target.<triple>]` is a [`Section`] too.
pub type TargetSection = Section;

/// A parsed Cross.toml (or nothing, when the workspace has none); the same
/// shape as `[package.metadata.cross]` and the environment layer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CrossToml {
    #[serde(default)]
    pub build: Section,
    #[serde(default)]
    pub target: BTreeMap<String, Section>,
}

impl CrossToml {
    /// `[target.<triple>]`; the environment layer keys its targets by the
    /// triple in CROSS_TARGET_<TRIPLE>_ form.
    pub fn target_section(&self, triple: &str) -> Option<&Section> {
        self.target
            .get(triple)
            .or_else(|| self.target.get(&crate::triple::env_upper(triple)))
    }
}

/// A problem worth telling the user about that does not stop the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning(pub String);

impl CrossToml {
    /// Parse Cross.toml text. Syntax and type errors carry file, line and
    /// column; unknown keys become warnings naming file, line, table and key.
    pub fn parse(file: &Path, text: &str) -> Result<(CrossToml, Vec<Warning>)> {
        let table: toml::Table = toml::from_str(text).map_err(|e| syntax_error(file, text, &e))?;
        check_strings(file, text, &table, "")?;
        let warnings = unknown_keys(file, text, &table, "");
        let parsed: CrossToml = toml::from_str(text).map_err(|e| type_error(file, text, &e))?;
        check_required(file, text, &parsed, "")?;
        Ok((parsed, warnings))
    }
}

/// The cross tables of a Cargo.toml: `[package.metadata.cross]` and
/// `[workspace.metadata.cross]` (either may be absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CargoMetadata {
    pub package: Option<CrossToml>,
    pub workspace: Option<CrossToml>,
}

#[derive(Deserialize)]
struct ManifestMeta {
    package: Option<MetaHolder>,
    workspace: Option<MetaHolder>,
}

#[derive(Deserialize)]
struct MetaHolder {
    metadata: Option<CrossHolder>,
}

#[derive(Deserialize)]
struct CrossHolder {
    cross: Option<CrossToml>,
}

impl CargoMetadata {
    /// The cross tables present, to check or adjust in place.
    pub fn tables_mut(&mut self) -> impl Iterator<Item = &mut CrossToml> {
        self.package.iter_mut().chain(self.workspace.iter_mut())
    }

    /// Parse the cross tables of a Cargo.toml, with the same errors and
    /// warnings as Cross.toml (the table names carry their full path).
    pub fn parse(file: &Path, text: &str) -> Result<(CargoMetadata, Vec<Warning>)> {
        let table: toml::Table = toml::from_str(text).map_err(|e| syntax_error(file, text, &e))?;
        let mut warnings = Vec::new();
        for top in ["package", "workspace"] {
            let cross = table
                .get(top)
                .and_then(|v| v.get("metadata"))
                .and_then(|v| v.get("cross"))
                .and_then(|v| v.as_table());
            if let Some(cross) = cross {
                check_strings(file, text, cross, &format!("{top}.metadata.cross."))?;
                warnings.extend(unknown_keys(
                    file,
                    text,
                    cross,
                    &format!("{top}.metadata.cross."),
                ));
            }
        }
        let parsed: ManifestMeta = toml::from_str(text).map_err(|e| type_error(file, text, &e))?;
        let get = |h: Option<MetaHolder>| h.and_then(|h| h.metadata).and_then(|m| m.cross);
        let (package, workspace) = (get(parsed.package), get(parsed.workspace));
        for (top, c) in [("package", &package), ("workspace", &workspace)] {
            if let Some(c) = c {
                check_required(file, text, c, &format!("{top}.metadata.cross."))?;
            }
        }
        Ok((CargoMetadata { package, workspace }, warnings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (CrossToml, Vec<Warning>) {
        CrossToml::parse(Path::new("Cross.toml"), text).unwrap()
    }

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_toolchain_then_toml_toolchain_then_default() {
        let (toml, _) = parse("[build]\ntoolchain = \"distro\"\n");
        let s = Settings::resolve(&env(&[("GREEN_CROSS_TOOLCHAIN", "rustup")]), &toml).unwrap();
        assert_eq!(s.toolchain, ToolchainMode::Rustup);
        let s = Settings::resolve(&env(&[]), &toml).unwrap();
        assert_eq!(s.toolchain, ToolchainMode::Distro);
        let s = Settings::resolve(&env(&[]), &CrossToml::default()).unwrap();
        assert_eq!(s.toolchain, ToolchainMode::Rustup);
    }

    #[test]
    fn env_base_image_then_toml_base_image_then_mode_default() {
        let (toml, _) = parse("[build]\ntoolchain = \"distro\"\nbase-image = \"corp/debian:12\"\n");
        let s = Settings::resolve(&env(&[("GREEN_CROSS_BASE_IMAGE", "local/deb")]), &toml).unwrap();
        assert_eq!(s.base_image.as_deref(), Some("local/deb"));
        let s = Settings::resolve(&env(&[]), &toml).unwrap();
        assert_eq!(s.base_image.as_deref(), Some("corp/debian:12"));
        let (toml, _) = parse("[build]\ntoolchain = \"distro\"\n");
        let s = Settings::resolve(&env(&[]), &toml).unwrap();
        assert_eq!(s.base_image.as_deref(), Some(DEFAULT_DISTRO_BASE));
        let s = Settings::resolve(&env(&[]), &CrossToml::default()).unwrap();
        assert_eq!(s.base_image, None);
    }

    #[test]
    fn env_ca_bundle_then_toml_then_ssl_cert_file_then_cargo_cainfo_then_system() {
        let (toml, _) = parse("[build]\nca-bundle = \"/corp/ca.pem\"\n");
        let e = env(&[
            ("GREEN_CROSS_CA_BUNDLE", "/x.pem"),
            ("SSL_CERT_FILE", "/s.pem"),
        ]);
        assert_eq!(
            Settings::resolve(&e, &toml).unwrap().ca_bundle,
            CaBundle::Explicit("/x.pem".into())
        );
        let e = env(&[("SSL_CERT_FILE", "/s.pem")]);
        assert_eq!(
            Settings::resolve(&e, &toml).unwrap().ca_bundle,
            CaBundle::Explicit("/corp/ca.pem".into())
        );
        let e = env(&[("SSL_CERT_FILE", "/s.pem"), ("CARGO_HTTP_CAINFO", "/c.pem")]);
        assert_eq!(
            Settings::resolve(&e, &CrossToml::default())
                .unwrap()
                .ca_bundle,
            CaBundle::FirstExisting(vec![
                "/s.pem".into(),
                "/c.pem".into(),
                DEFAULT_CA_BUNDLE.into()
            ])
        );
        let e = env(&[("GREEN_CROSS_CA_BUNDLE", "none")]);
        assert_eq!(
            Settings::resolve(&e, &toml).unwrap().ca_bundle,
            CaBundle::Disabled
        );
    }

    #[test]
    fn invalid_env_toolchain_is_an_error() {
        let err = Settings::resolve(
            &env(&[("GREEN_CROSS_TOOLCHAIN", "nix")]),
            &CrossToml::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("expected `rustup` or `distro`"));
    }

    #[test]
    fn target_release_then_build_release_then_preset() {
        let (toml, w) = parse(
            "[build.release]\npreset = \"size\"\nopt-level = 3\n\n[target.x86_64-unknown-linux-musl.release]\nlto = \"thin\"\n",
        );
        assert!(w.is_empty(), "{w:?}");
        let s = Settings::resolve(&env(&[]), &toml).unwrap();
        let r = s.release_for("x86_64-unknown-linux-musl");
        assert_eq!(r.lto.as_deref(), Some("thin")); // target layer
        assert_eq!(r.opt_level.as_deref(), Some("3")); // build layer over preset
        assert_eq!(r.codegen_units, Some(1)); // preset
        assert_eq!(r.panic, Some(PanicStrategy::Abort)); // preset
        let r = s.release_for("aarch64-unknown-linux-gnu");
        assert_eq!(r.lto.as_deref(), Some("fat"));
    }

    #[test]
    fn files_merge_first_then_env_target_toml_target_env_build_toml_build() {
        let t = "aarch64-unknown-linux-gnu";
        let (cross_toml, _) = parse(&format!(
            "[build]\nrunner = \"b-toml\"\npackages = [\"p-toml\"]\n[target.{t}]\npre-build = [\"t-toml\"]\n"
        ));
        let manifest = |tables: &str| {
            CargoMetadata::parse(
                Path::new("Cargo.toml"),
                &format!("[package]\nname = \"x\"\n{tables}"),
            )
            .unwrap()
            .0
        };
        let package =
            format!("[package.metadata.cross.target.{t}]\nrunner = \"t-pkg\"\nbuild-std = true\n");
        let workspace = "[workspace.metadata.cross.build]\nbuild-std = false\npackages = [\"p-ws\"]\n[workspace.metadata.cross.build.release]\nlto = \"thin\"\n";
        // With both metadata tables, the workspace's alone counts (as in cross).
        let both = Sources {
            cross_toml: cross_toml.clone(),
            cargo_metadata: manifest(&format!("{package}{workspace}")),
        };
        let w = both.warnings();
        assert!(w[0].contains("only the workspace's is used"), "{w:?}");
        // Keys both files set differently are named: Cross.toml's win.
        assert!(
            w[1].starts_with(
                "Cross.toml and [workspace.metadata.cross] both set `build.packages`:"
            ),
            "{w:?}"
        );
        assert_eq!(w.len(), 2);
        let ts = Settings::resolve_sources(&env(&[]), &both)
            .unwrap()
            .for_target(t);
        assert_eq!(ts.runner.as_deref(), Some("b-toml"));
        assert_eq!(ts.pre_build, Some(PreBuild::Lines(vec!["t-toml".into()])));
        assert_eq!(ts.build_std, Some(BuildStd::Enabled(false)));
        assert_eq!(ts.release.lto.as_deref(), Some("thin"));
        // A list is replaced by a higher file's, never gathered.
        assert_eq!(ts.packages, ["p-toml"]);

        // The files merge before target-over-build applies: the package
        // table's [target] beats Cross.toml's [build].
        let package_only = Sources {
            cross_toml,
            cargo_metadata: manifest(&package),
        };
        assert!(package_only.warnings().is_empty());
        let s = Settings::resolve_sources(&env(&[]), &package_only).unwrap();
        assert_eq!(s.for_target(t).runner.as_deref(), Some("t-pkg"));
        assert_eq!(s.for_target(t).build_std, Some(BuildStd::Enabled(true)));
        // The files' [target] beats the environment's [build]; the
        // environment's [target] beats everything.
        let e = env(&[("CROSS_BUILD_RUNNER", "b-env")]);
        let s = Settings::resolve_sources(&e, &package_only).unwrap();
        assert_eq!(s.for_target(t).runner.as_deref(), Some("t-pkg"));
        assert_eq!(
            s.for_target("x86_64-unknown-linux-gnu").runner.as_deref(),
            Some("b-env")
        );
        let e = env(&[
            ("CROSS_BUILD_RUNNER", "b-env"),
            ("CROSS_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER", "t-env"),
        ]);
        let s = Settings::resolve_sources(&e, &package_only).unwrap();
        assert_eq!(s.for_target(t).runner.as_deref(), Some("t-env"));
    }

    #[test]
    fn speed_preset() {
        let r = ReleaseSettings {
            preset: Some(Preset::Speed),
            ..Default::default()
        }
        .with_preset_applied();
        assert_eq!(r.opt_level.as_deref(), Some("3"));
        assert_eq!(r.panic, Some(PanicStrategy::Unwind));
        assert_eq!(r.strip.as_deref(), Some("true"));
    }
}
