//! `green-cross builder create`: a docker-container buildx builder, for
//! engines whose own builder (the docker driver) cannot export build cache
//! (no containerd image store) or cannot be changed.

use std::process::Output;

use super::Engine;
use crate::error::{Error, Result};

/// The builder's name when none is given.
pub use crate::cli::DEFAULT_BUILDER_NAME as DEFAULT_NAME;

/// What `green-cross builder create` was asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateRequest {
    pub name: String,
    /// The BuildKit image (buildx's default, moby/buildkit, when None).
    pub image: Option<String>,
    /// A buildkitd.toml for the builder (registry mirrors, CAs, insecure
    /// registries).
    pub config: Option<String>,
    /// Make it the current builder (`docker buildx use`).
    pub use_it: bool,
}

/// The `docker buildx create` arguments. The builder shares the host's
/// network, so that a registry on the host's loopback (a local cache
/// registry, a mirror) is reachable from it, as it is from the engine
/// itself; it is started at once so that a BuildKit image that cannot be
/// pulled is an error now, not at the first build.
pub fn create_args(r: &CreateRequest) -> Vec<String> {
    let mut a: Vec<String> = ["buildx", "create", "--name", &r.name]
        .into_iter()
        .map(String::from)
        .collect();
    a.extend(
        [
            "--driver",
            "docker-container",
            "--driver-opt",
            "network=host",
        ]
        .map(String::from),
    );
    if let Some(image) = &r.image {
        a.extend(["--driver-opt".into(), format!("image={image}")]);
    }
    if let Some(c) = &r.config {
        a.extend(["--buildkitd-config".into(), c.clone()]);
    }
    if r.use_it {
        a.push("--use".into());
    }
    a.push("--bootstrap".into());
    a
}

/// The reason in buildx's output for a builder that did not start: its
/// last `ERROR:` line, else its last line.
pub fn failure_reason(output: &str) -> String {
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .rev()
        .find_map(|l| {
            l.strip_prefix("ERROR:")
                .or_else(|| l.split_once(" ERROR: ").map(|(_, r)| r))
        })
        .or_else(|| lines.last().copied())
        .unwrap_or("buildx gave no reason")
        .trim()
        .to_string()
}

/// The outcome of `create` when it did not fail.
#[derive(Debug, PartialEq, Eq)]
pub enum Created {
    /// A new builder, with its BuildKit version when buildx told it.
    New { buildkit: Option<String> },
    /// A builder of that name was there already, with its driver.
    Existing { driver: String },
}

fn joined(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

impl Engine {
    /// Create the builder, or leave an existing one of that name alone. A
    /// builder that does not start is removed again, so that no broken
    /// builder is left behind to fail the next build.
    pub fn create_builder(&self, r: &CreateRequest) -> Result<Created> {
        let existing = self
            .cmd()
            .args(["buildx", "inspect", &r.name])
            .output()
            .map_err(|e| self.spawn_error(e))?;
        if existing.status.success() {
            let driver = super::inspect_field(&String::from_utf8_lossy(&existing.stdout), "driver")
                .unwrap_or_else(|| "unknown".into());
            return Ok(Created::Existing { driver });
        }
        let out = self
            .cmd()
            .args(create_args(r))
            .output()
            .map_err(|e| self.spawn_error(e))?;
        let text = joined(&out);
        if out.status.success() {
            // `inspect` after bootstrap names the BuildKit version.
            let buildkit = self
                .cmd()
                .args(["buildx", "inspect", &r.name])
                .output()
                .ok()
                .and_then(|o| super::parse_buildkit_version(&String::from_utf8_lossy(&o.stdout)));
            return Ok(Created::New { buildkit });
        }
        // buildx keeps the instance of a builder that did not boot.
        let removed = self
            .cmd()
            .args(["buildx", "rm", &r.name])
            .output()
            .is_ok_and(|o| o.status.success());
        let image = r
            .image
            .as_deref()
            .unwrap_or("moby/buildkit (buildx's default)");
        Err(Error::Engine {
            message: format!(
                "could not create the docker-container builder `{}`: {}{}",
                r.name,
                failure_reason(&text),
                if removed {
                    ""
                } else {
                    "\n  (the half-made builder may still be listed by `docker buildx ls`; remove it with `docker buildx rm`)"
                }
            ),
            help: format!(
                "the builder runs BuildKit from the image {image}, which the engine must be able to pull: \
                 make its registry reachable, or copy the image to a registry the engine reaches and name it with --image; \
                 to keep the engine's own builder instead, turn on its containerd image store \
                 (\"features\": {{\"containerd-snapshotter\": true}} in /etc/docker/daemon.json, then restart dockerd), \
                 which lets it export build cache"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_args_share_the_host_network_and_start_the_builder() {
        let r = CreateRequest {
            name: "b".into(),
            ..Default::default()
        };
        assert_eq!(
            create_args(&r).join(" "),
            "buildx create --name b --driver docker-container --driver-opt network=host --bootstrap"
        );
        let r = CreateRequest {
            name: "b".into(),
            image: Some("mirror.test/moby/buildkit:v0.13.2".into()),
            config: Some("bk.toml".into()),
            use_it: true,
        };
        assert_eq!(
            create_args(&r).join(" "),
            "buildx create --name b --driver docker-container --driver-opt network=host \
             --driver-opt image=mirror.test/moby/buildkit:v0.13.2 --buildkitd-config bk.toml --use --bootstrap"
        );
    }

    #[test]
    fn the_reason_is_buildx_s_last_error() {
        // As buildx 0.13 printed it for an image it could not pull.
        let out = "#1 [internal] booting buildkit\n\
#1 pulling image moby/buildkit:buildx-stable-1 0.0s done\n\
#1 ERROR: Error response from daemon: failed to resolve reference \"docker.io/moby/buildkit:buildx-stable-1\": not found\n\
------\n > [internal] booting buildkit:\n------\n\
ERROR: Error response from daemon: failed to resolve reference \"docker.io/moby/buildkit:buildx-stable-1\": not found\n";
        assert_eq!(
            failure_reason(out),
            "Error response from daemon: failed to resolve reference \"docker.io/moby/buildkit:buildx-stable-1\": not found"
        );
        assert_eq!(failure_reason("permission denied\n"), "permission denied");
        assert_eq!(failure_reason(""), "buildx gave no reason");
    }
}
