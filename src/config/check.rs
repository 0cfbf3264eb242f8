//! The checks made while parsing a configuration file (Cross.toml, or the
//! cross tables of a Cargo.toml): control characters in strings, syntax
//! and type errors with file, line and column, unknown keys with the
//! closest known key, and the keys cross requires; in the order
//! `CrossToml::parse` and `CargoMetadata::parse` make them.

use std::path::Path;

use super::{CrossToml, Warning};
use crate::error::{Error, Result};

/// Text that is not TOML: file, line, column and the parser's message.
pub(super) fn syntax_error(file: &Path, text: &str, e: &toml::de::Error) -> Error {
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

/// Every string in a configuration table is free of control characters
/// (`pre-build` commands may hold line breaks and tabs): the error names
/// the file, the line and the key.
pub(super) fn check_strings(
    file: &Path,
    text: &str,
    root: &toml::Table,
    prefix: &str,
) -> Result<()> {
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

/// Keys of `[build]`.
const BUILD_KEYS: &[&str] = &[
    "toolchain",
    "base-image",
    "ca-bundle",
    "default-target",
    "cache",
    "cache-from",
    "cache-to",
    "cache-private-deps",
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
    "cache-private-deps",
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

/// The unknown, retired, `[build]`-only and not-yet-applied keys of `root`
/// (whose tables are named with `prefix`), as warnings with file and line.
pub(super) fn unknown_keys(
    file: &Path,
    text: &str,
    root: &toml::Table,
    prefix: &str,
) -> Vec<Warning> {
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

fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    crate::error::nearest(key, known.iter().copied())
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

fn header_line(text: &str, table: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim().trim_start_matches('[').starts_with(table))
        .map(|i| i + 1)
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
pub(super) fn type_error(file: &Path, text: &str, e: &toml::de::Error) -> Error {
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

/// The keys cross requires in a table: `dockerfile` needs its `file`,
/// `image` and `zig.image` their `name`.
pub(super) fn check_required(file: &Path, text: &str, c: &CrossToml, prefix: &str) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{CargoMetadata, CrossToml, Warning};

    fn parse(text: &str) -> (CrossToml, Vec<Warning>) {
        CrossToml::parse(Path::new("Cross.toml"), text).unwrap()
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
}
