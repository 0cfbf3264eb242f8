//! The environment as a configuration layer: cross's mirrors of every
//! Cross.toml key (CROSS_BUILD_<KEY>, CROSS_TARGET_<TRIPLE>_<KEY>) and the
//! same names with a GREEN_CROSS_ prefix, which win over CROSS_ ones. The
//! result is a [`CrossToml`] whose target tables are keyed by the triple in
//! upper case with underscores, as the variables spell it.

use toml::{Table, Value};

use super::{CrossToml, Env, Section};
use crate::env::{not_a_flag, parse_flag};
use crate::error::{Error, Result};

/// How a variable's text becomes a TOML value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A string.
    Str,
    /// A boolean as [`crate::env::parse_flag`] reads it; other text is an error.
    Bool,
    /// A list split on whitespace.
    Words,
    /// A list split on whitespace and commas.
    WordsOrCommas,
    /// Commands: the whole text is one entry (cross runs it as one
    /// script, whether it has one line or several).
    Lines,
    /// A boolean when it reads as one, else a list split on whitespace and commas.
    BoolOrList,
    /// `true`/`false`, else an integer, else a string.
    Scalar,
    /// A boolean when it reads as one (numbers too), else a string.
    BoolOrStr,
}

/// Variable suffix, the key path it sets, and its kind. Longer suffixes
/// first, so that `ZIG_VERSION` is not read as `ZIG`.
const KEYS: &[(&str, &[&str], Kind)] = &[
    ("ENV_PASSTHROUGH", &["env", "passthrough"], Kind::Words),
    ("ENV_VOLUMES", &["env", "volumes"], Kind::Words),
    ("ENV_SECRETS", &["env", "secrets"], Kind::Words),
    ("BUILD_STD", &["build-std"], Kind::BoolOrList),
    ("XARGO", &["xargo"], Kind::Bool),
    ("PRE_BUILD", &["pre-build"], Kind::Lines),
    ("RUNNER", &["runner"], Kind::Str),
    ("PACKAGES", &["packages"], Kind::WordsOrCommas),
    ("ZIG_VERSION", &["zig", "version"], Kind::Str),
    (
        "ZIG_IMAGE_TOOLCHAIN",
        &["zig", "image", "toolchain"],
        Kind::WordsOrCommas,
    ),
    ("ZIG_IMAGE", &["zig", "image", "name"], Kind::Str),
    ("ZIG", &["zig"], Kind::BoolOrStr),
    ("DOCKERFILE_CONTEXT", &["dockerfile", "context"], Kind::Str),
    ("DOCKERFILE", &["dockerfile", "file"], Kind::Str),
    (
        "IMAGE_TOOLCHAIN",
        &["image", "toolchain"],
        Kind::WordsOrCommas,
    ),
    ("IMAGE", &["image", "name"], Kind::Str),
    ("RELEASE_PRESET", &["release", "preset"], Kind::Str),
    ("RELEASE_LTO", &["release", "lto"], Kind::Scalar),
    (
        "RELEASE_CODEGEN_UNITS",
        &["release", "codegen-units"],
        Kind::Scalar,
    ),
    ("RELEASE_STRIP", &["release", "strip"], Kind::Scalar),
    ("RELEASE_PANIC", &["release", "panic"], Kind::Str),
    ("RELEASE_OPT_LEVEL", &["release", "opt-level"], Kind::Scalar),
    ("RELEASE_CRT_STATIC", &["release", "crt-static"], Kind::Bool),
];

/// `[build]`-only keys: CROSS_BUILD_<KEY> and GREEN_CROSS_BUILD_<KEY>.
/// CROSS_BUILD_TARGET is cross's name for the default target.
const BUILD_ONLY: &[(&str, &[&str], Kind)] = &[
    ("DEFAULT_TARGET", &["default-target"], Kind::Str),
    ("TARGET", &["default-target"], Kind::Str),
    // cross's own spelling of CROSS_BUILD_BUILD_STD.
    ("STD", &["build-std"], Kind::BoolOrList),
    ("TOOLCHAIN", &["toolchain"], Kind::Str),
    ("BASE_IMAGE", &["base-image"], Kind::Str),
    ("CACHE_PRIVATE_DEPS", &["cache-private-deps"], Kind::Bool),
    ("CACHE_FROM", &["cache-from"], Kind::Words),
    ("CACHE_TO", &["cache-to"], Kind::Words),
    ("CACHE", &["cache"], Kind::Str),
];

/// Variables with these names are settings of their own, not key mirrors.
const NOT_MIRRORS: &[&str] = &["CROSS_BUILD_OPTS", "CROSS_BUILD_DOCKERFILE_NO_CACHE"];

/// Variables cross documents that have no meaning for green-cross, and why.
/// Setting one gives a warning, so that nobody relies on it silently.
pub const NOT_APPLICABLE: &[(&str, &str)] = &[
    (
        "CROSS_REMOTE",
        "builds send their context to the engine themselves; only `run` needs a local engine",
    ),
    (
        "CROSS_CUSTOM_TOOLCHAIN",
        "the toolchain comes from the toolchain stage, not the host's rustup",
    ),
    (
        "CROSS_CUSTOM_TOOLCHAIN_COMPAT",
        "the toolchain comes from the toolchain stage, not the host's rustup",
    ),
    (
        "CROSS_CONTAINER_IN_CONTAINER",
        "builds mount nothing from the host's file system",
    ),
    (
        "CROSS_ROOTLESS_CONTAINER_ENGINE",
        "builds mount nothing from the host's file system",
    ),
    (
        "CROSS_CONTAINER_USER_NAMESPACE",
        "builds mount nothing from the host's file system",
    ),
    (
        "CROSS_COMPATIBILITY_VERSION",
        "there is no older behaviour to select",
    ),
    (
        "CROSS_CONTAINER_ENGINE_NO_BUILDKIT",
        "green-cross needs BuildKit",
    ),
    ("XARGO_HOME", "xargo is retired in favour of build-std"),
    ("NIX_STORE", "the Nix store is not mounted into builds"),
];

/// Warnings for the set variables of [`NOT_APPLICABLE`].
pub fn not_applicable(env: &Env) -> Vec<String> {
    NOT_APPLICABLE
        .iter()
        .filter(|(name, _)| env.is_set(name))
        .map(|(name, why)| format!("{name} has no effect with green-cross: {why}"))
        .collect()
}

/// CROSS_CONTAINER_UID and CROSS_CONTAINER_GID: the user `run` runs the
/// program as in a runner container (both, or neither).
pub fn container_user(env: &Env) -> Result<Option<(u32, u32)>> {
    let get = |k: &str| -> Result<Option<u32>> {
        match env.value(k) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Error::InvalidSetting {
                    key: k.into(),
                    value: v.to_string(),
                    message: "a numeric id".into(),
                }),
        }
    };
    match (get("CROSS_CONTAINER_UID")?, get("CROSS_CONTAINER_GID")?) {
        (Some(u), Some(g)) => Ok(Some((u, g))),
        (None, None) => Ok(None),
        _ => Err(Error::InvalidSetting {
            key: "CROSS_CONTAINER_UID / CROSS_CONTAINER_GID".into(),
            value: String::new(),
            message: "set both, or neither".into(),
        }),
    }
}

/// Whether a fresh build may skip the engine: GREEN_CROSS_FINGERPRINT.
pub const FINGERPRINT_SWITCH: &str = "GREEN_CROSS_FINGERPRINT";

/// GREEN_CROSS_FINGERPRINT: on unless set to an off value (`0`, `false`,
/// `no`, `off`), read as every boolean variable is.
pub fn fingerprint_switch(env: &Env) -> Result<bool> {
    Ok(env.flag(FINGERPRINT_SWITCH)?.unwrap_or(true))
}

/// The boolean variables read outside the configuration's layer: checked
/// before anything runs, so that a value that is not a boolean is an error
/// that names it rather than a guess.
pub const SWITCHES: &[&str] = &["CROSS_DEBUG", "CROSS_NO_WARNINGS", FINGERPRINT_SWITCH];

/// Check every variable of [`SWITCHES`].
pub fn check_switches(env: &Env) -> Result<()> {
    SWITCHES.iter().try_for_each(|s| env.flag(s).map(drop))
}

fn commas(t: &str) -> Vec<&str> {
    t.split(|c: char| c == ',' || c.is_whitespace()).collect()
}

fn value(kind: Kind, name: &str, text: &str) -> Result<Value> {
    let list = |items: Vec<&str>| {
        Value::Array(
            items
                .into_iter()
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        )
    };
    Ok(match kind {
        Kind::Str => Value::String(text.to_string()),
        // Empty is false, as cross reads it; other text that is not a
        // boolean is an error rather than a guess.
        Kind::Bool if text.trim().is_empty() => Value::Boolean(false),
        Kind::Bool => Value::Boolean(parse_flag(text).ok_or_else(|| not_a_flag(name, text))?),
        Kind::Words => list(text.split_whitespace().collect()),
        Kind::WordsOrCommas => list(commas(text)),
        Kind::Lines => list(vec![text]),
        Kind::BoolOrList => match parse_flag(text) {
            Some(b) => Value::Boolean(b),
            None => list(commas(text)),
        },
        Kind::Scalar => match (text.trim(), text.trim().parse::<i64>()) {
            ("true", _) => Value::Boolean(true),
            ("false", _) => Value::Boolean(false),
            (_, Ok(n)) => Value::Integer(n),
            _ => Value::String(text.to_string()),
        },
        Kind::BoolOrStr => match parse_flag(text) {
            Some(b) => Value::Boolean(b),
            None => Value::String(text.to_string()),
        },
    })
}

fn set(table: &mut Table, path: &[&str], v: Value) {
    let (last, parents) = path.split_last().expect("a key path");
    let mut t = table;
    for p in parents {
        let entry = t
            .entry(p.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            // `zig = true` then `zig.version`: the short form becomes its table.
            let old = std::mem::replace(entry, Value::Table(Table::new()));
            if let Value::Table(t) = &mut *entry {
                t.extend(short_form(p, old));
            }
        }
        t = entry.as_table_mut().expect("made a table");
    }
    match (t.get_mut(*last), v) {
        // `zig.version` first, then `zig = true` or `zig = "2.17"`: keep the table.
        (Some(Value::Table(existing)), Value::Boolean(b)) => {
            existing.insert("enable".into(), Value::Boolean(b));
        }
        (Some(Value::Table(existing)), Value::String(s)) => {
            existing.insert("enable".into(), Value::Boolean(true));
            existing.insert("version".into(), Value::String(s));
        }
        (_, v) => {
            t.insert(last.to_string(), v);
        }
    }
}

/// The table a key's short form stands for: `zig = true` is `{ enable =
/// true }`, `zig = "2.17"` also sets `version`, `image = "x"` is `{ name =
/// "x" }`, `dockerfile = "x"` is `{ file = "x" }`.
fn short_form(key: &str, v: Value) -> Table {
    let mut t = Table::new();
    match (key, v) {
        ("zig", Value::Boolean(b)) => {
            t.insert("enable".into(), Value::Boolean(b));
        }
        ("zig", Value::String(s)) => {
            t.insert("enable".into(), Value::Boolean(true));
            t.insert("version".into(), Value::String(s));
        }
        ("image", v) => {
            t.insert("name".into(), v);
        }
        ("dockerfile", v) => {
            t.insert("file".into(), v);
        }
        _ => {}
    }
    t
}

/// One variable's meaning: the table it belongs to (None for `[build]`, else
/// the triple as spelled in the name), its key path and kind.
fn mirror(name: &str) -> Option<(Option<String>, &'static [&'static str], Kind)> {
    if NOT_MIRRORS.contains(&name) {
        return None;
    }
    let rest = name
        .strip_prefix("GREEN_CROSS_")
        .or_else(|| name.strip_prefix("CROSS_"))?;
    if let Some(key) = rest.strip_prefix("BUILD_") {
        return KEYS
            .iter()
            .chain(BUILD_ONLY)
            .find(|(suffix, _, _)| *suffix == key)
            .map(|(_, path, kind)| (None, *path, *kind));
    }
    let rest = rest.strip_prefix("TARGET_")?;
    KEYS.iter().find_map(|(suffix, path, kind)| {
        let triple = rest.strip_suffix(suffix)?.strip_suffix('_')?;
        (!triple.is_empty()).then(|| (Some(triple.to_string()), *path, *kind))
    })
}

/// The environment layer. A variable whose value does not fit its key is an
/// error that names the variable.
pub fn layer(env: &Env) -> Result<CrossToml> {
    let mut root = Table::new();
    // CROSS_ first, GREEN_CROSS_ second: the latter overwrite.
    let ordered = env
        .with_prefix("CROSS_")
        .chain(env.with_prefix("GREEN_CROSS_"));
    for (name, text) in ordered {
        let Some((triple, path, kind)) = mirror(name) else {
            continue;
        };
        if kind == Kind::Lines {
            crate::guard::commands(text, name)?;
        } else {
            crate::guard::text(text, name)?;
        }
        let v = value(kind, name, text)?;
        // Check the one variable alone, so that an error names it.
        let mut alone = Table::new();
        set(&mut alone, path, v.clone());
        Section::deserialize_table(alone).map_err(|message| Error::InvalidSetting {
            key: name.to_string(),
            value: text.to_string(),
            message,
        })?;
        let section = match &triple {
            None => root
                .entry("build")
                .or_insert_with(|| Value::Table(Table::new())),
            Some(t) => root
                .entry("target")
                .or_insert_with(|| Value::Table(Table::new()))
                .as_table_mut()
                .expect("a table")
                .entry(t.clone())
                .or_insert_with(|| Value::Table(Table::new())),
        };
        set(section.as_table_mut().expect("a table"), path, v);
    }
    Value::Table(root)
        .try_into()
        .map_err(|e: toml::de::Error| Error::InvalidSetting {
            key: "CROSS_BUILD_* / CROSS_TARGET_*".into(),
            value: String::new(),
            message: e.message().to_string(),
        })
}

impl Section {
    fn deserialize_table(t: Table) -> std::result::Result<Section, String> {
        Value::Table(t)
            .try_into()
            .map_err(|e: toml::de::Error| e.message().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BuildStd, PreBuild};

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn build_and_target_mirrors() {
        let l = layer(&env(&[
            ("CROSS_BUILD_ENV_PASSTHROUGH", "A B=1"),
            (
                "CROSS_BUILD_PRE_BUILD",
                "apt-get update\napt-get install -y x",
            ),
            ("CROSS_TARGET_AARCH64_UNKNOWN_LINUX_GNU_BUILD_STD", "true"),
            ("CROSS_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER", "native"),
            ("CROSS_BUILD_TARGET", "x86_64-unknown-linux-musl"),
            ("GREEN_CROSS_BUILD_PACKAGES", "libssl-dev,zlib1g-dev"),
            (
                "GREEN_CROSS_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RELEASE_OPT_LEVEL",
                "z",
            ),
            ("CROSS_BUILD_OPTS", "--network=host"),
            ("CROSS_DEBUG", "1"),
        ]))
        .unwrap();
        assert_eq!(
            l.build.env.passthrough.as_deref(),
            Some(&["A".to_string(), "B=1".to_string()][..])
        );
        assert_eq!(
            l.build.pre_build,
            Some(PreBuild::Lines(vec![
                "apt-get update\napt-get install -y x".into()
            ]))
        );
        assert_eq!(
            l.build.default_target.as_deref(),
            Some("x86_64-unknown-linux-musl")
        );
        assert_eq!(
            l.build.packages,
            Some(vec!["libssl-dev".into(), "zlib1g-dev".into()])
        );
        let t = l.target_section("aarch64-unknown-linux-gnu").unwrap();
        assert_eq!(t.build_std, Some(BuildStd::Enabled(true)));
        assert_eq!(t.runner.as_deref(), Some("native"));
        assert_eq!(t.release.opt_level.as_deref(), Some("z"));
    }

    #[test]
    fn green_cross_names_win_and_bad_values_name_the_variable() {
        let l = layer(&env(&[
            ("CROSS_BUILD_RUNNER", "qemu-user"),
            ("GREEN_CROSS_BUILD_RUNNER", "native"),
        ]))
        .unwrap();
        assert_eq!(l.build.runner.as_deref(), Some("native"));
        let e = layer(&env(&[("CROSS_BUILD_RELEASE_LTO", "huge")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("CROSS_BUILD_RELEASE_LTO"), "{e}");
        assert!(e.contains("lto takes"), "{e}");
    }

    #[test]
    fn zig_short_forms_become_a_table() {
        let l = layer(&env(&[
            ("CROSS_BUILD_ZIG", "true"),
            ("CROSS_BUILD_ZIG_VERSION", "2.17"),
        ]))
        .unwrap();
        let zig = l.build.zig.unwrap();
        assert_eq!(zig.enable, Some(true));
        assert_eq!(zig.version.as_deref(), Some("2.17"));
        let l = layer(&env(&[
            ("CROSS_BUILD_ZIG_IMAGE", "my/zig"),
            ("GREEN_CROSS_BUILD_ZIG", "2.28"),
        ]))
        .unwrap();
        let zig = l.build.zig.unwrap();
        assert_eq!(zig.version.as_deref(), Some("2.28"));
        assert_eq!(zig.image.unwrap().name.as_deref(), Some("my/zig"));
        // cross's parse_error_in_env: a zig image alone does not turn zig on.
        let l = layer(&env(&[
            ("CROSS_BUILD_STD", "false"),
            ("CROSS_BUILD_ZIG_IMAGE", "zig:local"),
        ]))
        .unwrap();
        assert_eq!(l.build.build_std, Some(BuildStd::Enabled(false)));
        let zig = l.build.zig.unwrap();
        assert_eq!((zig.enable, zig.version), (None, None));
        assert_eq!(zig.image.unwrap().name.as_deref(), Some("zig:local"));
    }

    #[test]
    fn container_user_needs_both_ids() {
        assert_eq!(container_user(&env(&[])).unwrap(), None);
        assert_eq!(
            container_user(&env(&[
                ("CROSS_CONTAINER_UID", "1000"),
                ("CROSS_CONTAINER_GID", "100")
            ]))
            .unwrap(),
            Some((1000, 100))
        );
        assert!(container_user(&env(&[("CROSS_CONTAINER_GID", "1")])).is_err());
    }

    #[test]
    fn booleans_in_the_layer_read_as_every_boolean_variable() {
        let l = layer(&env(&[("CROSS_BUILD_XARGO", "no")])).unwrap();
        assert_eq!(l.build.xargo, Some(false));
        let l = layer(&env(&[("CROSS_BUILD_XARGO", "2")])).unwrap();
        assert_eq!(l.build.xargo, Some(true));
    }
}
