//! The environment, injected. The process environment is read once, by
//! [`Env::from_process`] (which main.rs calls), into an [`Env`]; every other
//! part of green-cross is handed that value (tests build their own), and
//! reads variables through the questions below, so that "empty means
//! unset", booleans and word lists are read one way everywhere.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// A snapshot of environment variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
    /// The process's current directory, when known.
    cwd: Option<PathBuf>,
}

impl Env {
    pub fn new() -> Env {
        Env::default()
    }

    /// The process environment and current directory, read once: every
    /// other part of green-cross is handed this snapshot (clippy.toml
    /// forbids reading them elsewhere). A variable whose name or value is
    /// not UTF-8 is left out.
    #[allow(clippy::disallowed_methods)]
    pub fn from_process() -> Env {
        let mut env: Env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        env.cwd = std::env::current_dir().ok();
        env
    }

    /// The same variables in another current directory.
    pub fn in_dir(mut self, cwd: impl Into<PathBuf>) -> Env {
        self.cwd = Some(cwd.into());
        self
    }

    /// The current directory, as the process had it at start.
    pub fn current_dir(&self) -> Result<PathBuf> {
        self.cwd.clone().ok_or_else(|| {
            Error::io(
                "read the current directory",
                ".",
                std::io::Error::other("it was not known when green-cross started"),
            )
        })
    }

    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }

    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.vars.remove(name)
    }

    /// The value as set, empty or not. Most readers want [`Env::value`].
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The value when it is set to something other than blanks: a variable
    /// set to the empty string counts as unset, as cargo and cross read
    /// them.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }

    /// Whether the variable is set to something other than blanks.
    pub fn is_set(&self, name: &str) -> bool {
        self.value(name).is_some()
    }

    /// A boolean variable: `None` when unset or blank; else as
    /// [`parse_flag`] reads the text, and an error for text it does not
    /// read, rather than a guess.
    pub fn flag(&self, name: &str) -> Result<Option<bool>> {
        let Some(v) = self.value(name) else {
            return Ok(None);
        };
        parse_flag(v).map(Some).ok_or_else(|| not_a_flag(name, v))
    }

    /// Whether a boolean variable is on (unset is off; text that is not a
    /// boolean is an error).
    pub fn is_on(&self, name: &str) -> Result<bool> {
        Ok(self.flag(name)?.unwrap_or(false))
    }

    /// A list of words separated by blanks (empty when unset).
    pub fn words(&self, name: &str) -> Vec<&str> {
        self.get(name)
            .map(|v| v.split_whitespace().collect())
            .unwrap_or_default()
    }

    /// Every variable, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The variables whose names start with `prefix`, in name order.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.iter().filter(move |(k, _)| k.starts_with(prefix))
    }

    /// The directory for temporary files: $TMPDIR, else /tmp (what the
    /// standard library's `temp_dir` reads).
    pub fn temp_dir(&self) -> PathBuf {
        self.value("TMPDIR")
            .map_or_else(|| "/tmp".into(), PathBuf::from)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Env {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Env {
        Env {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            cwd: None,
        }
    }
}

impl<K: Into<String>, V: Into<String>, const N: usize> From<[(K, V); N]> for Env {
    fn from(pairs: [(K, V); N]) -> Env {
        pairs.into_iter().collect()
    }
}

/// The error for a boolean variable set to text [`parse_flag`] does not read.
pub fn not_a_flag(name: &str, text: &str) -> Error {
    Error::InvalidSetting {
        key: name.into(),
        value: text.escape_debug().to_string(),
        message: "a boolean: `1`, `true`, `yes`, `on`, or `0`, `false`, `no`, `off`".into(),
    }
}

/// The one reading of a boolean's text: `true`, `yes`, `on` and a non-zero
/// number are on; `false`, `no`, `off` and `0` are off (any case, blanks
/// around ignored). `None` for any other text.
pub fn parse_flag(text: &str) -> Option<bool> {
    let t = text.trim().to_ascii_lowercase();
    match t.as_str() {
        "true" | "yes" | "on" => Some(true),
        "false" | "no" | "off" => Some(false),
        _ => t.parse::<i64>().ok().map(|n| n != 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_blank_values_count_as_unset() {
        let env = Env::from([("A", ""), ("B", "  "), ("C", "x")]);
        assert_eq!(env.get("A"), Some(""));
        assert_eq!(env.value("A"), None);
        assert_eq!(env.value("B"), None);
        assert_eq!(env.value("C"), Some("x"));
        assert!(!env.is_set("A") && !env.is_set("Z") && env.is_set("C"));
    }

    #[test]
    fn one_reading_of_booleans() {
        for on in ["1", "2", "-1", "true", "TRUE", "yes", "on", " On "] {
            assert_eq!(parse_flag(on), Some(true), "{on}");
        }
        for off in ["0", "false", "False", "no", "NO", "off"] {
            assert_eq!(parse_flag(off), Some(false), "{off}");
        }
        for neither in ["", "maybe", "y", "tru"] {
            assert_eq!(parse_flag(neither), None, "{neither}");
        }
        let env = Env::from([("N", "no"), ("Y", "1"), ("E", ""), ("M", "maybe")]);
        assert_eq!(env.flag("N").unwrap(), Some(false));
        assert_eq!(env.flag("Y").unwrap(), Some(true));
        assert_eq!(env.flag("E").unwrap(), None);
        assert_eq!(env.flag("U").unwrap(), None);
        assert!(!env.is_on("N").unwrap() && env.is_on("Y").unwrap() && !env.is_on("U").unwrap());
        let e = env.flag("M").unwrap_err().to_string();
        assert!(e.contains('M') && e.contains("maybe"), "{e}");
    }

    #[test]
    fn words_and_prefixes() {
        let env = Env::from([("L", " a  b\tc "), ("P_1", "x"), ("P_2", "y"), ("Q", "z")]);
        assert_eq!(env.words("L"), ["a", "b", "c"]);
        assert!(env.words("U").is_empty());
        let p: Vec<_> = env.with_prefix("P_").map(|(k, _)| k).collect();
        assert_eq!(p, ["P_1", "P_2"]);
    }

    #[test]
    fn temp_dir_is_tmpdir_or_tmp() {
        assert_eq!(Env::new().temp_dir(), PathBuf::from("/tmp"));
        assert_eq!(
            Env::from([("TMPDIR", "")]).temp_dir(),
            PathBuf::from("/tmp")
        );
        assert_eq!(
            Env::from([("TMPDIR", "/var/t")]).temp_dir(),
            PathBuf::from("/var/t")
        );
    }
}
