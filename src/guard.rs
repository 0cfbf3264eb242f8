//! What a value from outside (configuration, environment, command line,
//! file names) may hold before the planner uses it. Every value that
//! reaches the Dockerfile is either checked against its grammar here
//! (image references, variable names, package and crate names, profile
//! names) or free text without control characters, which the renderer
//! then quotes: a line break would end the instruction whatever the
//! quoting, so it is refused with an error naming where the value came
//! from.

use std::fmt::Display;

use crate::cli::Invocation;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// The first control character in `value` (line breaks, NUL, escape...)
/// but a tab or U+001F, the separator of cargo's CARGO_ENCODED_RUSTFLAGS:
/// neither ends an instruction or a quoted word.
fn control_char(value: &str) -> Option<char> {
    value
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\u{1f}'))
}

fn refuse(what: &dyn Display, value: &str, message: String) -> Error {
    Error::InvalidSetting {
        key: what.to_string(),
        value: value.escape_debug().to_string(),
        message,
    }
}

/// Why `value` cannot be free text (flags, paths, arguments), if it
/// cannot: a control character.
pub fn text_problem(value: &str) -> Option<String> {
    control_char(value).map(|c| {
        format!(
            "it holds the control character U+{:04X}, which no build can take\n  help: remove it (a line break or a NUL byte cannot be passed to the build)",
            c as u32
        )
    })
}

/// Why `value` cannot be `pre-build` commands, if it cannot: line breaks
/// and tabs are allowed (they run as a script), no other control character.
pub fn commands_problem(value: &str) -> Option<String> {
    text_problem(&value.replace(['\n', '\t'], " "))
}

/// Free text (flags, paths, arguments): anything but control characters.
pub fn text(value: &str, what: impl Display) -> Result<()> {
    match text_problem(value) {
        None => Ok(()),
        Some(p) => Err(refuse(&what, value, p)),
    }
}

/// A path inside the build (a workspace's directories, a volume's mount
/// point): free text without the characters that BuildKit's mount options
/// and its word processing give a meaning (`,` `"` `'` `$` `` ` `` `\\`).
pub fn build_path(value: &str, what: impl Display) -> Result<()> {
    text(value, &what)?;
    match value.chars().find(|c| ",\"'$`\\".contains(*c)) {
        None => Ok(()),
        Some(c) => Err(refuse(
            &what,
            value,
            format!(
                "the build cannot mount or enter a path with `{c}` in it\n  help: rename the directory (letters, digits, blanks and `-_.+@%:;&()[]{{}}#=!~` are fine)"
            ),
        )),
    }
}

/// `pre-build` commands: see [`commands_problem`].
pub fn commands(value: &str, what: impl Display) -> Result<()> {
    match commands_problem(value) {
        None => Ok(()),
        Some(p) => Err(refuse(&what, value, p)),
    }
}

/// An environment variable's name: a letter or `_`, then letters, digits
/// and `_`.
pub fn env_name(value: &str, what: impl Display) -> Result<()> {
    let mut chars = value.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        return Ok(());
    }
    Err(refuse(
        &what,
        value,
        "not a variable name\n  help: a name has letters, digits and `_`, and does not start with a digit".into(),
    ))
}

/// A name made of letters, digits, `-` and `_` (cargo's profile and crate
/// names).
pub fn cargo_name(value: &str, what: impl Display) -> Result<()> {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Ok(());
    }
    Err(refuse(
        &what,
        value,
        "not a name cargo takes\n  help: use letters, digits, `-` and `_`".into(),
    ))
}

/// The crates of the standard library that `-Zbuild-std` builds.
const STD_CRATES: &[&str] = &[
    "alloc",
    "compiler_builtins",
    "core",
    "panic_abort",
    "panic_unwind",
    "proc_macro",
    "std",
    "test",
];

/// A crate `-Zbuild-std` takes.
pub fn std_crate(value: &str, what: impl Display) -> Result<()> {
    if STD_CRATES.contains(&value) {
        return Ok(());
    }
    Err(refuse(
        &what,
        value,
        format!(
            "not a crate of the standard library\n  help: build-std is true, false, or a list of {}",
            STD_CRATES.join(", ")
        ),
    ))
}

/// A package for apt or apk: one word that is not an option, with the
/// characters package names, architecture qualifiers (`:arm64`) and
/// version constraints (`=1.2`, `>=3`) use.
pub fn package(value: &str, what: impl Display) -> Result<()> {
    let ok = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-._:=~<>@".contains(c));
    if ok {
        return Ok(());
    }
    Err(refuse(
        &what,
        value,
        "not a package name\n  help: name one package per entry (`libssl-dev`, `libssl-dev:arm64`, `openssl-dev`); commands belong in `pre-build`".into(),
    ))
}

/// An image reference: `[registry[:port]/]path[:tag][@digest]`, in the
/// characters that grammar allows (no blanks, quotes or `$`).
pub fn image(value: &str, what: impl Display) -> Result<()> {
    if is_image_reference(value) {
        return Ok(());
    }
    Err(refuse(
        &what,
        value,
        "not an image reference\n  help: write it as docker does: `debian:bookworm`, `registry.example.com/team/rust:1.95`, `name@sha256:<digest>`".into(),
    ))
}

fn is_image_reference(value: &str) -> bool {
    let (rest, digest) = match value.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (value, None),
    };
    if let Some(d) = digest {
        let Some((alg, hex)) = d.split_once(':') else {
            return false;
        };
        let alg_ok = !alg.is_empty()
            && alg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-_".contains(c));
        if !alg_ok || hex.len() < 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return false;
        }
    }
    // A tag is after the last `:` that follows the last `/`.
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
        None => (rest, None),
    };
    let tag_ok = tag.is_none_or(|t| {
        (1..=128).contains(&t.len())
            && t.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    });
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && c.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-:".contains(c))
    };
    tag_ok && !name.is_empty() && name.split('/').all(component_ok)
}

/// The command line of a build: every argument free text, the profile a
/// cargo name.
pub fn invocation(inv: &Invocation) -> Result<()> {
    if let Some(tc) = &inv.toolchain {
        text(tc, "the `+toolchain` argument")?;
    }
    if let Some(p) = &inv.profile {
        cargo_name(p, "--profile")?;
    }
    let args = inv
        .targets
        .iter()
        .chain(&inv.cargo_args)
        .chain(&inv.trailing);
    for a in args {
        text(a, "a command-line argument")?;
    }
    Ok(())
}

/// The workspace's paths that reach the build: where cargo runs, the
/// root's place below the mounted directory, the path dependencies
/// outside the root, the skeleton's files.
pub fn workspace(ws: &Workspace) -> Result<()> {
    let paths = [ws.workdir.as_path(), &ws.prefix]
        .into_iter()
        .chain(ws.manifest.as_deref())
        .chain(ws.outside.iter().map(|o| o.rel.as_path()))
        .chain(ws.skeleton.iter().map(|f| f.path()));
    for p in paths {
        build_path(&p.to_string_lossy(), "a path in the workspace")?;
    }
    Ok(())
}

/// A value the build takes from the host's environment.
pub fn env_value(name: &str, value: &str) -> Result<()> {
    text(value, format_args!("${name} (environment)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_are_docker_s() {
        for ok in [
            "debian:bookworm",
            "green-cross/debian:bookworm",
            "localhost:5000/team/rust:1.95.0-slim",
            "registry.example.com/org/img",
            "rust@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "rust:1-alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(is_image_reference(ok), "{ok}");
        }
        for bad in [
            "",
            " ",
            "a b",
            "img:",
            ":tag",
            "img@",
            "img@sha256:xyz",
            "$(id)",
            "${BASE}",
            "a\nRUN id",
            "-img",
            "img;id",
            "\"img\"",
            "img//x",
        ] {
            assert!(!is_image_reference(bad), "{bad}");
        }
    }

    #[test]
    fn control_characters_are_refused_with_the_key_named() {
        let e = text("-C a\nRUN id", "RUSTFLAGS (environment)")
            .unwrap_err()
            .to_string();
        assert!(e.contains("RUSTFLAGS (environment)"), "{e}");
        assert!(e.contains("U+000A"), "{e}");
        assert!(e.contains("\\n"), "the value is shown escaped: {e}");
        assert!(text("a\0b", "x").is_err());
        assert!(
            text("é ü \u{2028}", "x").is_ok(),
            "neither BuildKit nor sh breaks lines at U+2028"
        );
        assert!(text("-C opt-level=1 'x'", "x").is_ok());
        assert!(
            text("--cfg\u{1f}a b\t", "x").is_ok(),
            "CARGO_ENCODED_RUSTFLAGS"
        );
        assert!(text("\u{85}", "x").is_err());
        assert!(commands("apt-get update\napt-get install -y\tx", "x").is_ok());
        assert!(commands("a\r\nb", "x").is_err());
    }

    #[test]
    fn names_follow_their_grammar() {
        assert!(env_name("RUST_LOG", "x").is_ok());
        assert!(env_name("_X1", "x").is_ok());
        for bad in ["", "1X", "A;echo", "A B", "A=B", "A,target=/etc"] {
            assert!(env_name(bad, "x").is_err(), "{bad}");
        }
        assert!(cargo_name("release-lto", "x").is_ok());
        assert!(cargo_name("a/b", "x").is_err());
        assert!(cargo_name("$(id)", "x").is_err());
        for ok in [
            "libssl-dev",
            "libssl-dev:arm64",
            "g++",
            "openssl-dev",
            "so:libc.musl-x86_64.so.1",
            "zlib=1.3",
        ] {
            assert!(package(ok, "x").is_ok(), "{ok}");
        }
        for bad in ["", "-oAPT::Update::Pre-Invoke::=id", "a b", "a;b", "$(id)"] {
            assert!(package(bad, "x").is_err(), "{bad}");
        }
    }
}
