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
        let where_ = match (&self.context, env.value("DOCKER_HOST")) {
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
        out.push(self.build_cache_check(&inspect, &name));
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

impl Engine {
    /// How much build cache the builder holds, and what its garbage
    /// collector keeps: a layer it evicted is rebuilt by the next build
    /// (an identical rebuild that takes minutes), never lost.
    fn build_cache_check(&self, inspect: &str, name: &str) -> Check {
        let du = self
            .buildx(&["du"])
            .stderr(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        build_cache_finding(&du, inspect, name)
    }
}

/// The finding from `docker buildx du` and `docker buildx inspect`.
fn build_cache_finding(du: &str, inspect: &str, name: &str) -> Check {
    let total = inspect_field(du, "total").unwrap_or_else(|| "unknown".into());
    let keep = gc_keep_bytes(inspect);
    let held = format!("{total} held by `{name}`");
    let how = "help: a docker-driver builder is the engine's own: `builder.gc.defaultKeepStorage` \
               in daemon.json sets its cap; a docker-container builder reads `gckeepstorage` \
               from its buildkitd.toml (`docker buildx create --config`)";
    match keep {
        Some(keep) => {
            let near = match (bytes(&total), bytes(&keep)) {
                (Some(t), Some(k)) => t >= k * 0.8,
                _ => false,
            };
            let status = if near { Status::Warn } else { Status::Ok };
            Check::new(
                status,
                "build cache",
                format!(
                    "{held}; its garbage collector keeps {keep}: beyond that it evicts the least \
                     recently used layers, which the next build makes again\n{how}"
                ),
            )
        }
        None => Check::new(
            Status::Ok,
            "build cache",
            format!(
                "{held}; BuildKit's garbage collector keeps 10% of the builder's disk by default \
                 and drops cache mounts (cargo's target dir) unused for 48 hours once they pass \
                 512MB: evicted layers are rebuilt by the next build, so an unchanged build can \
                 take minutes again\n{how}"
            ),
        ),
    }
}

/// The largest `Keep Bytes` of the builder's GC policy rules, as
/// `docker buildx inspect` prints them (builders with a BuildKit daemon of
/// their own; the docker driver prints none).
fn gc_keep_bytes(inspect: &str) -> Option<String> {
    inspect
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == "Keep Bytes").then(|| v.trim().to_string())
        })
        .max_by(|a, b| bytes(a).unwrap_or(0.0).total_cmp(&bytes(b).unwrap_or(0.0)))
}

/// `4.862GB`, `512MB`, `26GiB`, `1024B`: bytes (powers of ten for the
/// decimal units, as docker prints them; of two for the binary ones).
fn bytes(v: &str) -> Option<f64> {
    let v = v.trim();
    let split = v.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().ok()?;
    let mul = match unit.trim() {
        "B" => 1.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "KiB" => 1024.0,
        "MiB" => 1024f64.powi(2),
        "GiB" => 1024f64.powi(3),
        "TiB" => 1024f64.powi(4),
        _ => return None,
    };
    Some(n * mul)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_cache_is_measured_against_the_builders_gc_cap() {
        let du = "ID\tRECLAIMABLE\tSIZE\tLAST ACCESSED\nab12\ttrue\t1.2GB\t2 hours ago\n\
                  Shared:\t\t49.88MB\nPrivate:\t4.812GB\nReclaimable:\t4.862GB\nTotal:\t\t4.862GB\n";
        // The docker driver prints no policy: the defaults are explained.
        let c = build_cache_finding(du, "Name: default\nDriver: docker\n", "default");
        assert_eq!(c.status, Status::Ok);
        assert!(
            c.detail
                .starts_with("4.862GB held by `default`; BuildKit's garbage collector keeps 10%"),
            "{}",
            c.detail
        );
        assert!(
            c.detail.contains("builder.gc.defaultKeepStorage"),
            "{}",
            c.detail
        );
        // A builder with its own daemon prints its rules: the largest cap counts.
        let inspect = "Driver: docker-container\nGC Policy rule#0:\n  All: false\n  Keep Bytes: 512MB\n\
                       GC Policy rule#1:\n  All: true\n  Keep Bytes: 5.5GB\n";
        let c = build_cache_finding(du, inspect, "ci");
        assert_eq!(c.status, Status::Warn, "4.862GB is past 80% of 5.5GB");
        assert!(c.detail.contains("keeps 5.5GB"), "{}", c.detail);
        let inspect = inspect.replace("5.5GB", "26GB");
        assert_eq!(build_cache_finding(du, &inspect, "ci").status, Status::Ok);
        assert_eq!(bytes("512MB"), Some(512e6));
        assert_eq!(bytes("2GiB"), Some(2.0 * 1024f64.powi(3)));
        assert_eq!(bytes("lots"), None);
    }

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
