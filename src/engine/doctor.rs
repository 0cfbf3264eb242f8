//! `green-cross doctor`: what the engine and the builder can do for
//! green-cross, each finding with what to do about it.

use std::fmt;
use std::process::Stdio;

use super::{Engine, inspect_field};
use crate::config::Env;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub status: Status,
    pub subject: String,
    pub detail: String,
}

impl Check {
    pub fn new(status: Status, subject: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            status,
            subject: subject.into(),
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self.status {
            Status::Ok => "ok",
            Status::Warn => "warning",
            Status::Fail => "error",
        };
        // Continuation lines (help) are indented under the detail.
        let detail = self.detail.replace('\n', "\n           ");
        write!(f, "{status:>8}  {}: {detail}", self.subject)
    }
}

impl Engine {
    /// The builder, its cache export, and whether the engine has the images
    /// a build starts from (`images`, none when not asked). Stops after a
    /// builder that does not answer: nothing else can be asked then.
    pub fn doctor(&self, env: &Env, images: &[String]) -> Vec<Check> {
        let mut out = Vec::new();
        let buildkit = match self.check(env) {
            Ok(v) => v,
            Err(e) => {
                out.push(Check::new(Status::Fail, "builder", e.to_string()));
                return out;
            }
        };
        let inspect = self
            .inspect()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let name = inspect_field(&inspect, "name").unwrap_or_else(|| "?".into());
        let driver = inspect_field(&inspect, "driver").unwrap_or_else(|| "?".into());
        let where_ = match (
            &self.context,
            env.get("DOCKER_HOST").filter(|h| !h.is_empty()),
        ) {
            (Some(c), _) => format!(" in the docker context `{c}`"),
            (None, Some(h)) => format!(" at DOCKER_HOST={h}"),
            (None, None) => String::new(),
        };
        out.push(Check::new(
            Status::Ok,
            "builder",
            format!(
                "`{name}` ({driver} driver{where_}), BuildKit {}",
                buildkit.as_deref().unwrap_or("embedded in the engine")
            ),
        ));
        out.push(match self.cache_export_blocker() {
            Some(why) => Check::new(Status::Warn, "cache export", why),
            None => Check::new(
                Status::Ok,
                "cache export",
                "the builder can export build cache (--cache, cache-to)",
            ),
        });
        // Only a docker-driver builder builds from the engine's images;
        // other builders pull for themselves.
        if driver == "docker" {
            for image in images {
                let present = self
                    .cmd()
                    .args(["image", "inspect", "--format", "{{.Id}}", image])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                out.push(if present {
                    Check::new(Status::Ok, format!("image {image}"), "in the engine")
                } else {
                    Check::new(
                        Status::Warn,
                        format!("image {image}"),
                        "not in the engine: the first build pulls it\n\
                         help: where its registry is out of reach, `docker load` it beforehand, \
                         or build from an image the engine has (base-image / GREEN_CROSS_BASE_IMAGE, \
                         distro mode)",
                    )
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_read_as_status_subject_detail_with_help_indented() {
        let c = Check::new(Status::Warn, "image x", "not here\nhelp: load it");
        assert_eq!(
            c.to_string(),
            " warning  image x: not here\n           help: load it"
        );
        assert_eq!(
            Check::new(Status::Ok, "builder", "`default`").to_string(),
            "      ok  builder: `default`"
        );
    }
}
