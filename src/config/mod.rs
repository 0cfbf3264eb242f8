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

pub mod env;
mod resolve;
pub mod trust;
mod values;

pub use resolve::{
    CaBundle, DEFAULT_CA_BUNDLE, DEFAULT_DISTRO_BASE, Layer, Settings, Sources, TargetSettings,
};
pub use values::{BuildStd, Dockerfile, Image, Merge, PreBuild, Zig};

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

/// Keys of `[build]`.
const BUILD_KEYS: &[&str] = &[
    "toolchain",
    "base-image",
    "ca-bundle",
    "default-target",
    "cache",
    "cache-from",
    "cache-to",
    "env",
    "build-std",
    "xargo",
    "pre-build",
    "runner",
    "packages",
    "zig",
    "dockerfile",
    "image",
    "release",
];
/// Keys of `[build]` that `[target.<triple>]` does not take.
const BUILD_ONLY_KEYS: &[&str] = &[
    "toolchain",
    "base-image",
    "ca-bundle",
    "default-target",
    "cache",
    "cache-from",
    "cache-to",
];
const ENV_KEYS: &[&str] = &["passthrough", "volumes", "secrets"];
const ZIG_KEYS: &[&str] = &["enable", "version", "image"];
const IMAGE_KEYS: &[&str] = &["name", "toolchain"];
const DOCKERFILE_KEYS: &[&str] = &["file", "context", "build-args"];
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
const CROSS_KEYS_NOT_YET: &[&str] = &[];
/// Keys cross itself has retired.
const RETIRED: &[(&str, &str)] = &[("xargo", "build-std")];

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

/// The keys cross requires in a table: `dockerfile` needs its `file`,
/// `image` and `zig.image` their `name`.
fn check_required(file: &Path, text: &str, c: &CrossToml, prefix: &str) -> Result<()> {
    let sections = std::iter::once(("build".to_string(), &c.build))
        .chain(c.target.iter().map(|(t, s)| (format!("target.{t}"), s)));
    for (name, s) in sections {
        let table = format!("{prefix}{name}");
        let zig_image = s.zig.as_ref().and_then(|z| z.image.as_ref());
        let missing = [
            (
                s.dockerfile.as_ref().is_some_and(|d| d.file.is_none()),
                "dockerfile",
                "`file`, the Dockerfile's path",
            ),
            (
                s.image.as_ref().is_some_and(|i| i.name.is_none()),
                "image",
                "`name`, the image reference",
            ),
            (
                zig_image.is_some_and(|i| i.name.is_none()),
                "zig.image",
                "`name`, the image reference",
            ),
        ];
        if let Some((_, key, needs)) = missing.iter().find(|m| m.0) {
            let last = key.rsplit('.').next().unwrap_or(key);
            let line = header_line(text, &format!("{table}.{key}"))
                .or_else(|| key_line(text, &table, last))
                .unwrap_or(1);
            return Err(Error::ConfigType {
                file: file.to_path_buf(),
                line,
                column: 1,
                message: format!("`{key}` in [{table}] needs {needs}"),
            });
        }
    }
    Ok(())
}

/// Every string in a configuration table is free of control characters
/// (`pre-build` commands may hold line breaks and tabs): the error names
/// the file, the line and the key.
fn check_strings(file: &Path, text: &str, root: &toml::Table, prefix: &str) -> Result<()> {
    let mut found = None;
    for (k, v) in root {
        find_bad_string(v, prefix.trim_end_matches('.'), k, &mut found);
    }
    let Some(bad) = found else {
        return Ok(());
    };
    let line =
        key_line(text, &bad.table, &bad.key).map_or(String::new(), |l| format!("line {l}: "));
    let dotted = if bad.table.is_empty() {
        bad.key
    } else {
        format!("{}.{}", bad.table, bad.key)
    };
    Err(Error::ConfigValue {
        file: file.to_path_buf(),
        message: format!(
            "{line}`{dotted}` = \"{}\": {}",
            bad.value.escape_debug(),
            bad.problem
        ),
    })
}

/// A string of a configuration table that [`check_strings`] refuses.
struct BadString {
    table: String,
    key: String,
    value: String,
    problem: String,
}

/// The first refused string under `v`, the value of `key` in `table`.
fn find_bad_string(v: &toml::Value, table: &str, key: &str, found: &mut Option<BadString>) {
    match v {
        toml::Value::String(s) if found.is_none() => {
            let problem = if key == "pre-build" {
                crate::guard::commands_problem(s)
            } else {
                crate::guard::text_problem(s)
            };
            *found = problem.map(|problem| BadString {
                table: table.to_string(),
                key: key.to_string(),
                value: s.clone(),
                problem,
            });
        }
        toml::Value::Array(items) => items
            .iter()
            .for_each(|i| find_bad_string(i, table, key, found)),
        toml::Value::Table(t) => {
            let inner = if table.is_empty() {
                key.to_string()
            } else {
                format!("{table}.{key}")
            };
            for (k, v) in t {
                find_bad_string(v, &inner, k, found);
            }
        }
        _ => {}
    }
}

/// What the keys whose types serde would name by its own words take.
const EXPECTED: &[(&str, &str)] = &[
    ("toolchain", "\"rustup\" or \"distro\""),
    (
        "build-std",
        "true, false, or a list of crates of the standard library",
    ),
    (
        "pre-build",
        "a list of commands, or the path of a script in the workspace",
    ),
    (
        "zig",
        "true, false, a glibc version, or { enable, version, image }",
    ),
    ("image", "an image reference, or { name, toolchain }"),
    ("dockerfile", "a path, or { file, context, build-args }"),
    ("lto", "true, false, \"fat\", \"thin\" or \"off\""),
    (
        "strip",
        "true, false, \"none\", \"debuginfo\" or \"symbols\"",
    ),
    ("opt-level", "0, 1, 2, 3, \"s\" or \"z\""),
    ("panic", "\"unwind\" or \"abort\""),
];

/// A value of the wrong type (the text is valid TOML): file, line, column,
/// the key and what it takes.
fn type_error(file: &Path, text: &str, e: &toml::de::Error) -> Error {
    let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
    let key = text
        .lines()
        .nth(line.saturating_sub(1))
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| {
            k.trim()
                .rsplit('.')
                .next()
                .unwrap_or_default()
                .trim_matches('"')
                .to_string()
        })
        .unwrap_or_default();
    let message = match EXPECTED.iter().find(|(k, _)| *k == key) {
        Some((k, takes)) => format!("`{k}` takes {takes}"),
        // serde's own names of types are no help to a user.
        None if e.message().contains("enum") => format!("`{key}` has a value of the wrong type"),
        None => e.message().to_string(),
    };
    Error::ConfigType {
        file: file.to_path_buf(),
        line,
        column,
        message,
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

fn unknown_keys(file: &Path, text: &str, root: &toml::Table, prefix: &str) -> Vec<Warning> {
    let mut out = Vec::new();
    let at = |table: &str, key: &str| match key_line(text, table, key)
        .or_else(|| header_line(text, &format!("{table}.{key}")))
    {
        Some(l) => format!("{}:{l}", file.display()),
        None => file.display().to_string(),
    };
    let check = |out: &mut Vec<Warning>,
                 table: &str,
                 t: &toml::Table,
                 known: &[&str],
                 build_only: &[&str]| {
        for key in t.keys() {
            let here = at(table, key);
            let msg = if let Some((_, new)) = RETIRED.iter().find(|(old, _)| old == key) {
                format!("{here}: `{key}` in [{table}] is retired; use `{new}` instead")
            } else if build_only.contains(&key.as_str()) {
                format!("{here}: `{key}` is read from [build] only; in [{table}] it is ignored")
            } else if CROSS_KEYS_NOT_YET.contains(&key.as_str()) {
                format!(
                    "{here}: `{key}` in [{table}] is not applied by this version of green-cross yet; it is ignored"
                )
            } else if known.contains(&key.as_str()) {
                continue;
            } else {
                let hint = closest(key, known)
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                format!("{here}: unknown key `{key}` in [{table}]{hint}")
            };
            out.push(Warning(msg));
        }
    };
    let sub = |out: &mut Vec<Warning>, name: &str, t: &toml::Table| {
        if let Some(toml::Value::Table(rel)) = t.get("release") {
            check(out, &format!("{name}.release"), rel, RELEASE_KEYS, &[]);
        }
        if let Some(toml::Value::Table(env)) = t.get("env") {
            check(out, &format!("{name}.env"), env, ENV_KEYS, &[]);
        }
        for (key, known) in [
            ("zig", ZIG_KEYS),
            ("image", IMAGE_KEYS),
            ("dockerfile", DOCKERFILE_KEYS),
        ] {
            if let Some(toml::Value::Table(sub)) = t.get(key) {
                check(out, &format!("{name}.{key}"), sub, known, &[]);
            }
        }
        if let Some(toml::Value::Table(image)) = t.get("zig").and_then(|z| z.get("image")) {
            check(out, &format!("{name}.zig.image"), image, IMAGE_KEYS, &[]);
        }
    };
    for key in root.keys() {
        if key != "build" && key != "target" {
            let hint = closest(key, &["build", "target"])
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            let table = prefix.trim_end_matches('.');
            let at = match key_line(text, table, key)
                .or_else(|| header_line(text, &format!("{prefix}{key}")))
            {
                Some(l) => format!("{}:{l}", file.display()),
                None => file.display().to_string(),
            };
            out.push(Warning(format!(
                "{at}: unknown table `{prefix}{key}`{hint}"
            )));
        }
    }
    if let Some(toml::Value::Table(build)) = root.get("build") {
        let name = format!("{prefix}build");
        check(&mut out, &name, build, BUILD_KEYS, &[]);
        sub(&mut out, &name, build);
    }
    if let Some(toml::Value::Table(targets)) = root.get("target") {
        for (triple, t) in targets {
            if let toml::Value::Table(t) = t {
                let name = format!("{prefix}target.{triple}");
                check(&mut out, &name, t, BUILD_KEYS, BUILD_ONLY_KEYS);
                sub(&mut out, &name, t);
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
        assert!(s.contains("`lto` takes"), "{s}");
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
    fn a_value_of_the_wrong_type_says_what_the_key_takes_never_serde_s_names() {
        for (text, needle) in [
            (
                "[build]\nbuild-std = \"maybe\"\n",
                "`build-std` takes true, false",
            ),
            (
                "[build]\ntoolchain = 3\n",
                "`toolchain` takes \"rustup\" or \"distro\"",
            ),
            ("[build.release]\nlto = [1]\n", "`lto` takes true, false"),
            ("[target.x.env]\npassthrough = 3\n", "Cross.toml:2:"),
        ] {
            let e = CrossToml::parse(Path::new("Cross.toml"), text)
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{text}: {e}");
            assert!(
                !e.contains("enum") && !e.contains("TOML syntax"),
                "{text}: {e}"
            );
        }
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
    fn metadata_keys_are_checked_with_their_full_table_name() {
        let (_, w) = CargoMetadata::parse(
            Path::new("Cargo.toml"),
            "[package]\nname = \"x\"\n\n[package.metadata.cross.build]\npre-biuld = []\n",
        )
        .unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(
            w[0].0,
            "Cargo.toml:5: unknown key `pre-biuld` in [package.metadata.cross.build]; did you mean `pre-build`?"
        );
        let (_, w) = parse("[target.x]\ntoolchain = \"distro\"\n[target.x.env]\npasstrough = []\n");
        let all: Vec<_> = w.iter().map(|w| w.0.as_str()).collect();
        assert!(
            all.iter().any(|m| m.contains("read from [build] only")),
            "{all:?}"
        );
        assert!(all.iter().any(|m| m.starts_with("Cross.toml:4:") && m.contains("did you mean `passthrough`")), "{all:?}");
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
