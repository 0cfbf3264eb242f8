//! The shared build cache: from `cache`, `cache-from` and `cache-to` to
//! BuildKit's `--cache-from` / `--cache-to` specifications. Pure: the git
//! branch and the toolchain come in as facts.
//!
//! `cache = "REPO"` (or `REPO:TEMPLATE`, or `gha`, or `gha:TEMPLATE`)
//! exports every layer of the build (`mode=max`) to `REPO:<tag>` and
//! imports from that tag and from the default branch's. The tag is
//! [`DEFAULT_TAG`] unless a template is given; `{triple}`, `{toolchain}`
//! and `{branch}` are filled in, and the result is made a valid tag. With
//! `{triple}` in the template, each target of the build has a tag of its
//! own (the registry stores the layers they share once).
//!
//! `cache-from` / `cache-to` are lists of BuildKit cache specifications,
//! templated the same way, that replace the ones `cache` would give.
//! Exports never fail a build: `ignore-error=true` is added unless the
//! specification says otherwise, and the engine reports what was not
//! exported.

use serde::Serialize;

use crate::error::{Error, Result};

/// The tag template when `cache` names a repository without one.
pub const DEFAULT_TAG: &str = "{triple}-{toolchain}-{branch}";
/// The branch name used when the workspace is not on a branch.
pub const DETACHED: &str = "detached";
/// The default branch when git does not say.
pub const DEFAULT_BRANCH: &str = "main";
const PLACEHOLDERS: &[&str] = &["triple", "toolchain", "branch"];

/// The cache settings, as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CacheSettings {
    /// `cache`: a repository, `gha`, either with `:TEMPLATE`.
    pub cache: Option<String>,
    /// `cache-from`: BuildKit cache import specifications.
    pub from: Option<Vec<String>>,
    /// `cache-to`: BuildKit cache export specifications.
    pub to: Option<Vec<String>>,
}

/// What the tags are made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheFacts<'a> {
    pub triples: &'a [String],
    /// `distro`, or the Rust version of the toolchain image.
    pub toolchain: &'a str,
    /// The current branch; `None` when detached.
    pub branch: Option<&'a str>,
    /// The repository's default branch, when known.
    pub default_branch: Option<&'a str>,
}

/// The cache specifications of one build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CachePlan {
    pub from: Vec<String>,
    pub to: Vec<String>,
}

impl CachePlan {
    pub fn is_empty(&self) -> bool {
        self.from.is_empty() && self.to.is_empty()
    }
}

/// A valid image tag from any text: `[A-Za-z0-9_.-]`, not starting with
/// `.` or `-`, at most 128 characters.
pub fn sanitize_tag(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_start_matches(['.', '-']);
    let mut tag: String = trimmed.chars().take(128).collect();
    if tag.is_empty() {
        tag = "latest".into();
    }
    tag
}

/// Fill `{triple}`, `{toolchain}` and `{branch}` in.
fn fill(template: &str, triple: &str, toolchain: &str, branch: &str) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else {
            return Err(bad_template(template, "a `{` without its `}`"));
        };
        let name = &rest[start + 1..start + len];
        out.push_str(match name {
            "triple" => triple,
            "toolchain" => toolchain,
            "branch" => branch,
            _ => {
                return Err(bad_template(
                    template,
                    &format!("unknown placeholder `{{{name}}}`"),
                ));
            }
        });
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn bad_template(template: &str, what: &str) -> Error {
    Error::InvalidSetting {
        key: "cache".into(),
        value: template.into(),
        message: format!(
            "{what}; the placeholders are {}",
            PLACEHOLDERS
                .iter()
                .map(|p| format!("{{{p}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `REPO[:TEMPLATE]` split at the tag's colon (not a registry port's).
fn split_ref(r: &str) -> (&str, Option<&str>) {
    let name_start = r.rfind('/').map_or(0, |i| i + 1);
    match r[name_start..].find(':') {
        Some(i) => (&r[..name_start + i], Some(&r[name_start + i + 1..])),
        None => (r, None),
    }
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// Specifications with the placeholders filled in, once per triple when
/// `{triple}` is used.
fn expand(specs: &[String], facts: &CacheFacts, branch: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for spec in specs {
        for triple in facts.triples {
            // Only the tag-like values are made valid (ref=, scope=): the
            // rest is left as written.
            let filled = sanitize_spec(&fill(spec, triple, facts.toolchain, branch)?);
            push_unique(&mut out, filled);
        }
    }
    Ok(out)
}

/// A ref's tag made valid.
fn sanitize_ref(r: &str) -> String {
    match split_ref(r) {
        (repo, Some(tag)) => format!("{repo}:{}", sanitize_tag(tag)),
        (repo, None) => repo.to_string(),
    }
}

/// In `type=registry,ref=R,...` or `type=gha,scope=S,...`, the ref's tag or
/// the scope made valid.
fn sanitize_spec(spec: &str) -> String {
    spec.split(',')
        .map(|part| match part.split_once('=') {
            Some(("ref", v)) => format!("ref={}", sanitize_ref(v)),
            Some(("scope", v)) => format!("scope={}", sanitize_tag(v)),
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn with_ignore_error(spec: String) -> String {
    if spec.split(',').any(|p| p.starts_with("ignore-error=")) {
        spec
    } else {
        format!("{spec},ignore-error=true")
    }
}

/// Why `cache`'s repository cannot be used, if it cannot (`::::`, a blank,
/// a quote): said as a warning, and the build goes on without the shared
/// cache, as it does when the cache cannot be reached.
pub fn unusable_repository(settings: &CacheSettings) -> Option<String> {
    let cache = settings.cache.as_deref()?.trim();
    if cache.is_empty() {
        return None;
    }
    let (repo, _) = split_ref(cache);
    if repo == "gha" || crate::guard::image(repo, "cache").is_ok() {
        return None;
    }
    Some(format!(
        "the shared cache `{}` is not a repository (`REPO[:TEMPLATE]`, e.g. registry.example.com/team/cache, or `gha`); building without it",
        cache.escape_debug()
    ))
}

/// The `--cache-from` / `--cache-to` specifications for a build.
pub fn cache_plan(settings: &CacheSettings, facts: &CacheFacts) -> Result<CachePlan> {
    // Branch names may hold `/`: made tag-safe before they go in.
    let branch = &sanitize_tag(facts.branch.unwrap_or(DETACHED));
    let default_branch = &sanitize_tag(facts.default_branch.unwrap_or(DEFAULT_BRANCH));
    let mut plan = CachePlan::default();
    if let Some(cache) = settings.cache.as_deref().filter(|c| !c.trim().is_empty()) {
        let (repo, template) = split_ref(cache.trim());
        let template = template.unwrap_or(DEFAULT_TAG);
        let spec = |tag: &str| {
            if repo == "gha" {
                (format!("type=gha,scope={tag}"), "mode=max")
            } else {
                (
                    format!("type=registry,ref={repo}:{tag}"),
                    "mode=max,image-manifest=true,oci-mediatypes=true",
                )
            }
        };
        for triple in facts.triples {
            let tag = sanitize_tag(&fill(template, triple, facts.toolchain, branch)?);
            let fallback = sanitize_tag(&fill(template, triple, facts.toolchain, default_branch)?);
            let (to, opts) = spec(&tag);
            push_unique(&mut plan.from, to.clone());
            push_unique(&mut plan.from, spec(&fallback).0);
            push_unique(&mut plan.to, format!("{to},{opts},ignore-error=true"));
        }
    }
    if let Some(from) = &settings.from {
        plan.from = expand(from, facts, branch)?;
    }
    if let Some(to) = &settings.to {
        plan.to = expand(to, facts, branch)?
            .into_iter()
            .map(with_ignore_error)
            .collect();
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(triples: &'a [String], branch: Option<&'a str>) -> CacheFacts<'a> {
        CacheFacts {
            triples,
            toolchain: "distro",
            branch,
            default_branch: Some("main"),
        }
    }

    #[test]
    fn tags_are_made_valid() {
        assert_eq!(sanitize_tag("feature/ünïcode x"), "feature--n-code-x");
        assert_eq!(sanitize_tag("-.x"), "x");
        assert_eq!(sanitize_tag(""), "latest");
        assert_eq!(sanitize_tag(&"a".repeat(200)).len(), 128);
    }

    #[test]
    fn a_repository_gets_the_default_tag_and_the_default_branch_as_fallback() {
        let t = vec!["aarch64-unknown-linux-gnu".to_string()];
        let s = CacheSettings {
            cache: Some("127.0.0.1:5000/org/app-cache".into()),
            ..Default::default()
        };
        let p = cache_plan(&s, &facts(&t, Some("feature/x"))).unwrap();
        assert_eq!(
            p.from,
            [
                "type=registry,ref=127.0.0.1:5000/org/app-cache:aarch64-unknown-linux-gnu-distro-feature-x",
                "type=registry,ref=127.0.0.1:5000/org/app-cache:aarch64-unknown-linux-gnu-distro-main",
            ]
        );
        assert_eq!(
            p.to,
            [
                "type=registry,ref=127.0.0.1:5000/org/app-cache:aarch64-unknown-linux-gnu-distro-feature-x,mode=max,image-manifest=true,oci-mediatypes=true,ignore-error=true"
            ]
        );
        // On the default branch, one ref.
        let p = cache_plan(&s, &facts(&t, Some("main"))).unwrap();
        assert_eq!(p.from.len(), 1);
    }

    #[test]
    fn a_template_without_the_triple_gives_one_ref_for_several_targets() {
        let t = vec!["a-b-c".to_string(), "d-e-f".to_string()];
        let s = CacheSettings {
            cache: Some("reg.example:443/cache:{branch}".into()),
            ..Default::default()
        };
        let p = cache_plan(&s, &facts(&t, None)).unwrap();
        assert_eq!(
            p.from,
            [
                "type=registry,ref=reg.example:443/cache:detached",
                "type=registry,ref=reg.example:443/cache:main"
            ]
        );
        assert_eq!(p.to.len(), 1);
        // With the triple, one per target.
        let s = CacheSettings {
            cache: Some("gha".into()),
            ..Default::default()
        };
        let p = cache_plan(&s, &facts(&t, Some("main"))).unwrap();
        assert_eq!(
            p.to,
            [
                "type=gha,scope=a-b-c-distro-main,mode=max,ignore-error=true",
                "type=gha,scope=d-e-f-distro-main,mode=max,ignore-error=true"
            ]
        );
    }

    #[test]
    fn lists_replace_and_are_templated_and_exports_never_fail_the_build() {
        let t = vec!["x86_64-unknown-linux-musl".to_string()];
        let s = CacheSettings {
            cache: Some("r/c".into()),
            from: Some(vec!["type=local,src=/tmp/c-{triple}".into()]),
            to: Some(vec![
                "type=local,dest=/tmp/c-{triple},mode=max".into(),
                "type=registry,ref=r/c:{branch},ignore-error=false".into(),
            ]),
        };
        let p = cache_plan(&s, &facts(&t, Some("a/b"))).unwrap();
        assert_eq!(p.from, ["type=local,src=/tmp/c-x86_64-unknown-linux-musl"]);
        assert_eq!(
            p.to,
            [
                "type=local,dest=/tmp/c-x86_64-unknown-linux-musl,mode=max,ignore-error=true",
                "type=registry,ref=r/c:a-b,ignore-error=false"
            ]
        );
    }

    #[test]
    fn unknown_placeholders_are_refused_with_the_known_ones() {
        let t = vec!["x".to_string()];
        let s = CacheSettings {
            cache: Some("r/c:{target}".into()),
            ..Default::default()
        };
        let e = cache_plan(&s, &facts(&t, None)).unwrap_err().to_string();
        assert!(e.contains("unknown placeholder `{target}`"), "{e}");
        assert!(e.contains("{triple}, {toolchain}, {branch}"), "{e}");
    }
}
