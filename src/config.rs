//! Cross.toml: the serde model, unknown-key warnings with file and line, and
//! the one function that resolves every setting with its precedence.
//!
//! Precedence, highest first: the environment (GREEN_CROSS_*, then the
//! standard variables such as CARGO_BUILD_TARGET), `[target.<triple>]`, then
//! `[build]`. Defaults are applied last, after the layers are merged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The environment, injected: logic never reads `std::env`.
pub type Env = BTreeMap<String, String>;

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

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BuildSection {
    pub toolchain: Option<ToolchainMode>,
    pub base_image: Option<String>,
    pub ca_bundle: Option<PathBuf>,
    pub default_target: Option<String>,
    #[serde(default)]
    pub release: ReleaseSettings,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TargetSection {
    #[serde(default)]
    pub release: ReleaseSettings,
}

/// A parsed Cross.toml (or nothing, when the workspace has none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CrossToml {
    #[serde(default)]
    pub build: BuildSection,
    #[serde(default)]
    pub target: BTreeMap<String, TargetSection>,
}

/// A problem worth telling the user about that does not stop the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning(pub String);

const BUILD_KEYS: &[&str] = &[
    "toolchain",
    "base-image",
    "ca-bundle",
    "default-target",
    "release",
];
const TARGET_KEYS: &[&str] = &["release"];
const RELEASE_KEYS: &[&str] = &[
    "preset",
    "lto",
    "codegen-units",
    "strip",
    "panic",
    "opt-level",
    "crt-static",
];
/// cross's keys that this version reads but does not apply yet.
const CROSS_KEYS_NOT_YET: &[&str] = &[
    "env",
    "image",
    "pre-build",
    "build-std",
    "zig",
    "dockerfile",
    "runner",
    "packages",
];
/// Keys cross itself has retired.
const RETIRED: &[(&str, &str)] = &[("xargo", "build-std")];

impl CrossToml {
    /// Parse Cross.toml text. Syntax and type errors carry file, line and
    /// column; unknown keys become warnings naming file, line, table and key.
    pub fn parse(file: &Path, text: &str) -> Result<(CrossToml, Vec<Warning>)> {
        let table: toml::Table = toml::from_str(text).map_err(|e| syntax_error(file, text, &e))?;
        let warnings = unknown_keys(file, text, &table);
        let parsed: CrossToml = toml::from_str(text).map_err(|e| syntax_error(file, text, &e))?;
        Ok((parsed, warnings))
    }
}

fn syntax_error(file: &Path, text: &str, e: &toml::de::Error) -> Error {
    let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
    Error::ConfigSyntax {
        file: file.to_path_buf(),
        line,
        column,
        message: e.message().to_string(),
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// The line of `key` inside table `table` (dotted), best effort.
fn key_line(text: &str, table: &str, key: &str) -> Option<usize> {
    let header = format!("[{table}]");
    let mut in_table = table.is_empty();
    let mut fallback = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            in_table = line.replace(' ', "") == header;
            continue;
        }
        let Some((lhs, _)) = line.split_once('=') else {
            continue;
        };
        let lhs = lhs.trim();
        let last = lhs
            .rsplit('.')
            .next()
            .unwrap_or(lhs)
            .trim()
            .trim_matches('"');
        if last == key {
            if in_table {
                return Some(i + 1);
            }
            if fallback.is_none() && lhs.contains('.') {
                fallback = Some(i + 1);
            }
        }
    }
    fallback
}

fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(key, k), *k))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

fn unknown_keys(file: &Path, text: &str, root: &toml::Table) -> Vec<Warning> {
    let mut out = Vec::new();
    let check = |out: &mut Vec<Warning>, table: &str, t: &toml::Table, known: &[&str]| {
        for key in t.keys() {
            if known.contains(&key.as_str()) {
                continue;
            }
            let at = match key_line(text, table, key) {
                Some(l) => format!("{}:{l}", file.display()),
                None => file.display().to_string(),
            };
            let msg = if let Some((_, new)) = RETIRED.iter().find(|(old, _)| old == key) {
                format!("{at}: `{key}` in [{table}] is retired; use `{new}` instead")
            } else if CROSS_KEYS_NOT_YET.contains(&key.as_str()) {
                format!(
                    "{at}: `{key}` in [{table}] is not applied by this version of green-cross yet; it is ignored"
                )
            } else {
                let hint = closest(key, known)
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                format!("{at}: unknown key `{key}` in [{table}]{hint}")
            };
            out.push(Warning(msg));
        }
    };
    for key in root.keys() {
        if key != "build" && key != "target" {
            let hint = closest(key, &["build", "target"])
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            let at = match key_line(text, "", key).or_else(|| header_line(text, key)) {
                Some(l) => format!("{}:{l}", file.display()),
                None => file.display().to_string(),
            };
            out.push(Warning(format!("{at}: unknown table `{key}`{hint}")));
        }
    }
    if let Some(toml::Value::Table(build)) = root.get("build") {
        check(&mut out, "build", build, BUILD_KEYS);
        if let Some(toml::Value::Table(rel)) = build.get("release") {
            check(&mut out, "build.release", rel, RELEASE_KEYS);
        }
    }
    if let Some(toml::Value::Table(targets)) = root.get("target") {
        for (triple, t) in targets {
            if let toml::Value::Table(t) = t {
                let name = format!("target.{triple}");
                check(&mut out, &name, t, TARGET_KEYS);
                if let Some(toml::Value::Table(rel)) = t.get("release") {
                    check(&mut out, &format!("{name}.release"), rel, RELEASE_KEYS);
                }
            }
        }
    }
    out
}

fn header_line(text: &str, table: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim().trim_start_matches('[').starts_with(table))
        .map(|i| i + 1)
}

/// Where the CA bundle handed to downloading build steps comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "paths")]
pub enum CaBundle {
    /// Named by GREEN_CROSS_CA_BUNDLE or `[build] ca-bundle`: must exist.
    Explicit(PathBuf),
    /// The first of these that exists, or none.
    FirstExisting(Vec<PathBuf>),
    /// `GREEN_CROSS_CA_BUNDLE=none`: do not pass one.
    Disabled,
}

pub const DEFAULT_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// The default base image of distro mode.
pub const DEFAULT_DISTRO_BASE: &str = "debian:bookworm";

/// Every setting the planner needs, resolved from the layers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub toolchain: ToolchainMode,
    /// The base image for the toolchain stage, when the user or the mode
    /// names one (distro mode always has one).
    pub base_image: Option<String>,
    pub ca_bundle: CaBundle,
    /// `[build] default-target`.
    pub default_target: Option<String>,
    /// `[build.release]`, before per-target layers.
    pub build_release: ReleaseSettings,
    /// `[target.<triple>.release]`.
    pub target_release: BTreeMap<String, ReleaseSettings>,
}

impl Settings {
    /// Resolve every setting: environment over `[target.<triple>]` over
    /// `[build]`, defaults last.
    pub fn resolve(env: &Env, toml: &CrossToml) -> Result<Settings> {
        let toolchain = match env.get("GREEN_CROSS_TOOLCHAIN").filter(|v| !v.is_empty()) {
            Some(v) => ToolchainMode::parse(v).ok_or_else(|| Error::InvalidSetting {
                key: "GREEN_CROSS_TOOLCHAIN".into(),
                value: v.clone(),
                message: "expected `rustup` or `distro`".into(),
            })?,
            None => toml.build.toolchain.unwrap_or_default(),
        };
        let base_image = env
            .get("GREEN_CROSS_BASE_IMAGE")
            .filter(|v| !v.is_empty())
            .cloned()
            .or_else(|| toml.build.base_image.clone())
            .or_else(|| {
                (toolchain == ToolchainMode::Distro).then(|| DEFAULT_DISTRO_BASE.to_string())
            });
        let ca_bundle = match env.get("GREEN_CROSS_CA_BUNDLE").filter(|v| !v.is_empty()) {
            Some(v) if v == "none" => CaBundle::Disabled,
            Some(v) => CaBundle::Explicit(PathBuf::from(v)),
            None => match &toml.build.ca_bundle {
                Some(p) => CaBundle::Explicit(p.clone()),
                None => {
                    let mut c: Vec<PathBuf> = ["SSL_CERT_FILE", "CARGO_HTTP_CAINFO"]
                        .iter()
                        .filter_map(|k| env.get(*k).filter(|v| !v.is_empty()))
                        .map(PathBuf::from)
                        .collect();
                    c.push(PathBuf::from(DEFAULT_CA_BUNDLE));
                    CaBundle::FirstExisting(c)
                }
            },
        };
        Ok(Settings {
            toolchain,
            base_image,
            ca_bundle,
            default_target: toml.build.default_target.clone(),
            build_release: toml.build.release.clone(),
            target_release: toml
                .target
                .iter()
                .map(|(t, s)| (t.clone(), s.release.clone()))
                .collect(),
        })
    }

    /// The release settings for one target: `[target.<triple>.release]`
    /// over `[build.release]`, then the preset filled in.
    pub fn release_for(&self, triple: &str) -> ReleaseSettings {
        let merged = match self.target_release.get(triple) {
            Some(t) => t.over(&self.build_release),
            None => self.build_release.clone(),
        };
        merged.with_preset_applied()
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
    fn syntax_error_names_file_line_and_column() {
        let err = CrossToml::parse(Path::new("Cross.toml"), "[build]\ntoolchain = \n").unwrap_err();
        let s = err.to_string();
        assert!(s.starts_with("Cross.toml:2:"), "{s}");
    }

    #[test]
    fn wrong_type_names_line() {
        let err = CrossToml::parse(
            Path::new("Cross.toml"),
            "[build]\n\n[build.release]\nlto = 7\n",
        )
        .unwrap_err();
        let s = err.to_string();
        assert!(s.starts_with("Cross.toml:4:"), "{s}");
        assert!(s.contains("lto takes"), "{s}");
    }

    #[test]
    fn unknown_key_warns_with_line_and_suggestion() {
        let (_, w) = parse("[build]\ntoolchian = \"distro\"\n");
        assert_eq!(w.len(), 1);
        assert_eq!(
            w[0].0,
            "Cross.toml:2: unknown key `toolchian` in [build]; did you mean `toolchain`?"
        );
    }

    #[test]
    fn unknown_release_key_and_retired_key() {
        let (_, w) = parse(
            "[target.aarch64-unknown-linux-gnu]\nxargo = true\n[target.aarch64-unknown-linux-gnu.release]\nltoo = true\n",
        );
        let all: Vec<_> = w.iter().map(|w| w.0.as_str()).collect();
        assert!(
            all.iter()
                .any(|m| m.contains("`xargo`") && m.contains("build-std")),
            "{all:?}"
        );
        assert!(
            all.iter()
                .any(|m| m.starts_with("Cross.toml:4:") && m.contains("did you mean `lto`")),
            "{all:?}"
        );
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
