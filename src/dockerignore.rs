//! The workspace context's ignore rules: the text the build writes next to
//! its Dockerfile (`Dockerfile.dockerignore`, which BuildKit reads instead
//! of the workspace's own `.dockerignore`), and those rules applied as
//! BuildKit applies them, for the fingerprint, which must see the files
//! BuildKit is sent and no others.
//!
//! BuildKit reads the file with moby's ignorefile, matches paths with
//! moby's patternmatcher and walks the context with fsutil: each pattern
//! becomes a regular expression (`*` and `?` stop at `/`, `**` crosses
//! directories); walking down, a pattern that matched a directory matches
//! everything in it; the last pattern that matches decides, so a later
//! `!pattern` puts back what an earlier one left out. [`Ignore`] follows
//! the same steps.

use std::fs;

use regex_automata::dfa::regex::Regex;

use crate::plan::BuildPlan;

/// The Dockerfile's ignore file. The workspace is the context; keep cargo's
/// target dir and .git out, plus whatever the user's own .dockerignore says.
pub fn rules(plan: &BuildPlan) -> String {
    let mut ignore = String::new();
    if let Ok(user) = fs::read_to_string(plan.workspace_root.join(".dockerignore")) {
        ignore.push_str(&user);
        ignore.push('\n');
    }
    ignore.push_str(".git\n");
    if let Ok(rel) = plan.target_dir.strip_prefix(&plan.workspace_root) {
        ignore.push_str(&format!("{}\n", rel.display()));
    }
    ignore
}

/// Ignore rules, read from the text of an ignore file.
#[derive(Debug)]
pub struct Ignore {
    patterns: Vec<Pattern>,
    /// Whether a `!pattern` has wildcards, so that it may put back
    /// something inside any left-out directory.
    wild_exceptions: bool,
}

/// What each pattern said of a directory, for the check of its entries
/// (none at the top of the context).
#[derive(Debug, Clone, Default)]
pub struct DirMatches(Vec<bool>);

#[derive(Debug)]
struct Pattern {
    /// `!pattern`: puts back what earlier patterns left out.
    exclusion: bool,
    /// The pattern as written, cleaned (`./a//b/` is `a/b`).
    text: String,
    matcher: Matcher,
}

/// How a pattern matches, as patternmatcher chooses: plain text is
/// compared, `dir/**` and `**/name` are a prefix and a suffix, anything
/// else is a regular expression.
#[derive(Debug)]
enum Matcher {
    Exact,
    Prefix,
    Suffix,
    Regex(Box<Regex>),
}

impl Ignore {
    /// The rules of an ignore file. Comments (`#` first on the line) and
    /// blank lines are skipped, a leading `/` is dropped. An error for a
    /// pattern BuildKit would refuse, and for one that this reading cannot
    /// be sure to match as BuildKit does (a wildcard, a nested class or a
    /// set operation inside `[...]`; `\b`, which Go reads as a word
    /// boundary): the fingerprint then does not apply.
    pub fn parse(text: &str) -> Result<Ignore, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            let mut p = line.trim();
            if p.is_empty() {
                continue;
            }
            let exclusion = p.starts_with('!');
            if exclusion {
                p = p[1..].trim();
            }
            let mut p = if p.is_empty() {
                String::new()
            } else {
                clean(p)
            };
            if p.len() > 1 && p.starts_with('/') {
                p.remove(0);
            }
            // Then patternmatcher cleans the line again, with its `!`.
            let line = clean(&format!("{}{p}", if exclusion { "!" } else { "" }));
            let (exclusion, text) = match line.strip_prefix('!') {
                Some("") => return Err("`!` alone is not a pattern".into()),
                Some(rest) => (true, rest.to_string()),
                None => (false, line),
            };
            let matcher = compile(&text).map_err(|e| format!("`{text}`: {e}"))?;
            patterns.push(Pattern {
                exclusion,
                text,
                matcher,
            });
        }
        let wild_exceptions = patterns
            .iter()
            .any(|p| p.exclusion && p.without_trailing_glob().contains(WILDCARDS));
        Ok(Ignore {
            patterns,
            wild_exceptions,
        })
    }

    /// Whether the rules leave out `path` (relative to the context,
    /// `/`-separated), given what they said of its directory; and what they
    /// say of `path`, for its entries. The last pattern that matches
    /// decides; one that matched the directory matches its entries.
    pub fn check(&self, path: &str, dir: &DirMatches) -> (bool, DirMatches) {
        let mut excluded = false;
        let mut matched = vec![false; self.patterns.len()];
        for (i, p) in self.patterns.iter().enumerate() {
            let mut m = dir.0.get(i).copied().unwrap_or(false);
            if !m {
                // Only a pattern that could change the answer is tried.
                if p.exclusion != excluded {
                    continue;
                }
                m = p.matches(path);
                // Without the directory's answers, its parents are tried.
                if !m && dir.0.is_empty() {
                    m = path
                        .match_indices('/')
                        .any(|(end, _)| p.matches(&path[..end]));
                }
            }
            matched[i] = m;
            if m {
                excluded = !p.exclusion;
            }
        }
        (excluded, DirMatches(matched))
    }

    /// Whether something inside the left-out directory `dir` may be put
    /// back by a `!pattern`, so that the directory must be walked: when one
    /// has wildcards or names a path inside it. Otherwise BuildKit does
    /// not enter it, and neither need the fingerprint.
    pub fn may_put_back_under(&self, dir: &str) -> bool {
        let dir = format!("{dir}/");
        self.wild_exceptions
            || self
                .patterns
                .iter()
                .filter(|p| p.exclusion)
                .any(|p| format!("{}/", p.without_trailing_glob()).starts_with(&dir))
    }
}

/// The characters that make a `!pattern` a wildcard one for fsutil.
const WILDCARDS: [char; 6] = ['*', '[', ']', '?', '^', '\\'];

impl Pattern {
    /// The text without a trailing `/**` or `/*`.
    fn without_trailing_glob(&self) -> &str {
        let t = self.text.strip_suffix("/**").unwrap_or(&self.text);
        t.strip_suffix("/*").unwrap_or(t)
    }

    fn matches(&self, path: &str) -> bool {
        match &self.matcher {
            Matcher::Exact => path == self.text,
            Matcher::Prefix => path.starts_with(&self.text[..self.text.len() - 2]),
            Matcher::Suffix => {
                let suffix = &self.text[2..];
                path.ends_with(suffix) || suffix.strip_prefix('/') == Some(path)
            }
            Matcher::Regex(re) => re.is_match(path),
        }
    }
}

/// The pattern's matcher, built as patternmatcher builds it.
fn compile(pattern: &str) -> Result<Matcher, String> {
    #[derive(PartialEq)]
    enum Kind {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let mut re = String::from("^");
    let mut kind = Kind::Exact;
    let mut in_class = false;
    let mut chars = pattern.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        // Rust's classes, unlike Go's, nest and have `&&`, `--` and `~~`.
        let set_operation = matches!(c, '&' | '-' | '~') && chars.peek() == Some(&c);
        if in_class && (matches!(c, '*' | '?' | '[') || set_operation) {
            return Err("a wildcard, a nested class or a set operation inside `[...]`".into());
        }
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                if chars.peek().is_none() {
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        re.push_str(".*");
                        kind = Kind::Regex;
                    }
                } else {
                    re.push_str("(.*/)?");
                    kind = Kind::Regex;
                }
                if first {
                    kind = Kind::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                kind = Kind::Regex;
            }
            '?' => {
                re.push_str("[^/]");
                kind = Kind::Regex;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                re.push('\\');
                re.push(c);
            }
            '\\' => match chars.next() {
                Some(next) => {
                    re.push('\\');
                    re.push(next);
                    kind = Kind::Regex;
                }
                None => return Err("a `\\` ends it".into()),
            },
            '[' | ']' => {
                in_class = c == '[';
                re.push(c);
                kind = Kind::Regex;
            }
            _ => re.push(c),
        }
        first = false;
    }
    Ok(match kind {
        Kind::Exact => Matcher::Exact,
        Kind::Prefix => Matcher::Prefix,
        Kind::Suffix => Matcher::Suffix,
        Kind::Regex => {
            re.push('$');
            Matcher::Regex(Box::new(Regex::new(&re).map_err(|e| e.to_string())?))
        }
    })
}

/// A path cleaned as Go's `filepath.Clean` cleans it: no empty or `.`
/// parts, `..` applied where it can be, `.` for nothing.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(text: &str) -> Ignore {
        Ignore::parse(text).unwrap()
    }

    /// Whether a walk from the top leaves `path` out, as BuildKit's does:
    /// each directory on the way checked first.
    fn out(ig: &Ignore, path: &str) -> bool {
        let mut dir = DirMatches::default();
        let mut excluded = false;
        for (end, _) in path.match_indices('/').chain([(path.len(), "")]) {
            (excluded, dir) = ig.check(&path[..end], &dir);
        }
        excluded
    }

    #[test]
    fn paths_are_cleaned_as_go_cleans_them() {
        for (path, cleaned) in [
            ("a/b", "a/b"),
            ("./a//b/", "a/b"),
            ("a/../b", "b"),
            ("../a", "../a"),
            ("/../a", "/a"),
            ("/", "/"),
            ("", "."),
            ("a/..", "."),
        ] {
            assert_eq!(clean(path), cleaned, "{path}");
        }
    }

    #[test]
    fn a_directory_leaves_out_everything_below_it() {
        let ig = ignore(".git\ntarget\n");
        assert!(out(&ig, "target"));
        assert!(out(&ig, "target/debug/app"));
        assert!(out(&ig, ".git/HEAD"));
        assert!(!out(&ig, "src/target.rs"));
        assert!(!out(&ig, "sub/target"), "patterns are anchored at the top");
        // Checked alone, a path's parents are tried.
        assert!(ig.check("target/debug/app", &DirMatches::default()).0);
    }

    #[test]
    fn wildcards_stop_at_slashes_and_double_stars_do_not() {
        let ig = ignore("*.log\nsrc/*/gen.rs\ndocs/**\n**/tmp\nbuild?\n");
        assert!(out(&ig, "debug.log"));
        assert!(!out(&ig, "logs/debug.log"), "`*` stays in one directory");
        assert!(out(&ig, "src/a/gen.rs"));
        assert!(!out(&ig, "src/a/b/gen.rs"));
        assert!(out(&ig, "docs/x/y.md"));
        assert!(out(&ig, "tmp") && out(&ig, "a/b/tmp/c"));
        assert!(out(&ig, "build1") && !out(&ig, "build12"));
        let deep = ignore("**/*.bak\na/**/z\n");
        assert!(out(&deep, "x.bak") && out(&deep, "p/q/x.bak"));
        assert!(out(&deep, "a/z") && out(&deep, "a/b/c/z"));
    }

    #[test]
    fn later_exceptions_put_files_back() {
        let ig = ignore("*.md\n!README.md\ndocs\n!docs/keep\n");
        assert!(out(&ig, "CHANGES.md"));
        assert!(!out(&ig, "README.md"));
        assert!(out(&ig, "docs/other"));
        assert!(!out(&ig, "docs/keep/a.txt"));
        assert!(ig.may_put_back_under("docs"));
        assert!(!ig.may_put_back_under("target"));
        assert!(ignore("x\n!*.rs\n").may_put_back_under("target"));
        assert!(!ignore("x\n!docs/**\n").may_put_back_under("target"));
    }

    #[test]
    fn walking_down_a_directory_s_match_is_kept() {
        // As BuildKit walks, a `!pattern` is tried on a directory only when
        // the directory is left out: `!d` was not tried on `d`, so it does
        // not put back `d/x.md`, which `**/*.md` leaves out. Checked alone,
        // with its parents tried, it would be put back.
        let ig = ignore("**/*.md\n!d\n");
        assert!(out(&ig, "d/x.md"));
        assert!(!ig.check("d/x.md", &DirMatches::default()).0);
    }

    #[test]
    fn comments_blank_lines_and_leading_slashes() {
        let ig = ignore("\u{feff}# a comment\n\n  /secret.txt  \r\n ./a/b/\n");
        assert_eq!(ig.patterns.len(), 2);
        assert!(out(&ig, "secret.txt"));
        assert!(out(&ig, "a/b/c"));
        assert!(!out(&ig, "# a comment"));
    }

    #[test]
    fn escapes_and_classes() {
        let ig = ignore("file[0-9].txt\nstar\\*\na.b\n");
        assert!(out(&ig, "file3.txt") && !out(&ig, "filex.txt"));
        assert!(out(&ig, "star*") && !out(&ig, "starry"));
        assert!(out(&ig, "a.b") && !out(&ig, "axb"), "`.` is no wildcard");
    }

    #[test]
    fn what_buildkit_refuses_or_might_read_otherwise_is_an_error() {
        for text in ["!\n", "a[\n", "a\\\n", "[*]\n", "[a&&b]\n"] {
            assert!(Ignore::parse(text).is_err(), "{text:?}");
        }
    }
}
