//! One error type for green-cross. Every variant says what to do next.

use std::path::PathBuf;

/// Exit code for green-cross's own errors (cargo uses 101 for its own).
pub const EXIT_OWN_ERROR: i32 = 101;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown target `{triple}`{}\n  help: run `green-cross targets` to list the supported targets", fmt_suggestion(.suggestion))]
    UnknownTarget {
        triple: String,
        suggestion: Option<String>,
    },

    #[error("{file}:{line}:{column}: {message}\n  help: fix the TOML syntax at that position")]
    ConfigSyntax {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    #[error(
        "{file}:{line}:{column}: {message}\n  help: see Cross.toml.example for what each key takes"
    )]
    ConfigType {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    #[error("{file}: {message}\n  help: see Cross.toml.example for every key and its type")]
    ConfigValue { file: PathBuf, message: String },

    #[error("invalid value `{value}` for {key}: {message}")]
    InvalidSetting {
        key: String,
        value: String,
        message: String,
    },

    #[error("invalid target recipe {name}: {message}")]
    Recipe { name: String, message: String },

    #[error("{0}")]
    Usage(String),

    #[error(
        "could not read the cargo workspace: {message}\n  help: run `cargo metadata --no-deps` in the same directory to see cargo's own error"
    )]
    Metadata { message: String },

    #[error("cannot run `{program}`: {message}\n  help: {help}")]
    Spawn {
        program: String,
        message: String,
        help: String,
    },

    #[error("{message}\n  help: {help}")]
    Engine { message: String, help: String },

    #[error("{message}\n  help: {help}")]
    PrivateDeps { message: String, help: String },

    #[error("the build failed\n  the engine's full output is kept in {}\n  help: the lines above show the failing step; rerun with -v for every step", .log.display())]
    BuildFailed { log: PathBuf },

    #[error("the engine could not fetch the image {image}: {reason}\n  the engine's full output is kept in {}\n  help: make {image} reachable from the engine (its registry, a mirror in the engine's registry-mirrors, or `docker pull` / `docker load` beforehand); to build from an image the engine already has, name it with `base-image` in Cross.toml or GREEN_CROSS_BASE_IMAGE and use distro mode (GREEN_CROSS_TOOLCHAIN=distro)", .log.display())]
    ImageUnavailable {
        image: String,
        reason: String,
        log: PathBuf,
    },

    #[error("interrupted; no artifact was written")]
    Interrupted,

    #[error("{action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn fmt_suggestion(s: &Option<String>) -> String {
    match s {
        Some(s) => format!("; did you mean `{s}`?"),
        None => String::new(),
    }
}

impl Error {
    /// The process exit code for this error: 130 for Ctrl-C, 101
    /// otherwise (a failing cargo is not an error of green-cross's: its
    /// code is returned as the build's outcome).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Interrupted => 130,
            _ => EXIT_OWN_ERROR,
        }
    }

    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// "Did you mean": the known word nearest to `word` (Jaro-Winkler over
/// 0.8), the first of equals; None when nothing is near.
pub fn nearest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for k in known {
        let score = strsim::jaro_winkler(word, k);
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, k));
        }
    }
    best.filter(|(s, _)| *s > 0.8).map(|(_, k)| k)
}
