//! Whether the engine can build: it answers, buildx is there, its BuildKit
//! is recent enough, and what its builder cannot do (`dockerfile` images,
//! cache export). Also the reading of `docker buildx inspect`.

use super::Engine;
use super::api::engine_version_via_api;
use crate::config::Env;
use crate::error::{Error, Result};

/// The oldest BuildKit that runs our Dockerfiles (heredocs, COPY --chmod,
/// RUN --network, named contexts).
pub const MIN_BUILDKIT: (u64, u64) = (0, 11);
/// The oldest engine whose embedded BuildKit (docker driver) is recent
/// enough.
pub const MIN_ENGINE_FOR_DOCKER_DRIVER: u64 = 23;

impl Engine {
    /// Check that an engine answers, that buildx is there, and that its
    /// BuildKit is recent enough. Returns the BuildKit version when known.
    pub fn check(&self, env: &Env) -> Result<Option<String>> {
        let docker_host = env.get("DOCKER_HOST").unwrap_or_default().to_string();
        // A named builder may live elsewhere than DOCKER_HOST: buildx
        // inspect tells whether it answers.
        let engine_version = if docker_host.starts_with("ssh://") || self.builder.is_some() {
            None
        } else {
            Some(engine_version_via_api(&docker_host)?)
        };
        // One `buildx inspect` tells both whether buildx is there and
        // whether the builder answers (each docker call costs ~0.1 s).
        let out = self.inspect().map_err(|e| self.spawn_error(e))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if buildx_missing(&stderr) {
                return Err(Error::Engine {
                    message: format!("docker buildx is not available: {}", stderr.trim()),
                    help: "install the buildx plugin (Debian: apt-get install docker-buildx; elsewhere see https://github.com/docker/buildx#installing)".into(),
                });
            }
            return Err(Error::Engine {
                message: format!(
                    "the builder{} does not answer: {}",
                    self.builder.as_deref().map(|b| format!(" `{b}`")).unwrap_or_default(),
                    stderr.trim()
                ),
                help: "`docker buildx ls` lists the builders; check --builder, BUILDX_BUILDER and DOCKER_HOST".into(),
            });
        }
        let text = String::from_utf8_lossy(&out.stdout);
        // Distribution builds of the engine report their embedded BuildKit
        // as v0.0.0+unknown: then the engine's own version tells (engine 23
        // and later embed BuildKit 0.11 or newer).
        let version = parse_buildkit_version(&text).filter(|v| major_minor(v) != Some((0, 0)));
        if version.is_none()
            && inspect_field(&text, "driver").as_deref() == Some("docker")
            && let Some((maj, _)) = engine_version.as_deref().and_then(major_minor)
            && maj < MIN_ENGINE_FOR_DOCKER_DRIVER
        {
            return Err(Error::Engine {
                        message: format!(
                            "the Docker engine is {}; its embedded BuildKit is too old for green-cross (engine {MIN_ENGINE_FOR_DOCKER_DRIVER}.0 or newer is needed)",
                            engine_version.as_deref().unwrap_or_default()
                        ),
                        help: "upgrade the Docker engine, or create a docker-container builder with a recent BuildKit and select it with BUILDX_BUILDER".into(),
                    });
        }
        if let Some(v) = &version
            && let Some((maj, min)) = major_minor(v)
            && (maj, min) < MIN_BUILDKIT
        {
            return Err(Error::Engine {
                        message: format!(
                            "the builder's BuildKit is {v}; green-cross needs {}.{} or newer",
                            MIN_BUILDKIT.0, MIN_BUILDKIT.1
                        ),
                        help: "upgrade the Docker engine (23.0 or newer embeds a recent BuildKit), or select a newer builder with BUILDX_BUILDER".into(),
                    });
        }
        Ok(version)
    }

    /// Why this builder cannot build a plan's `dockerfile` images, if it
    /// cannot.
    pub fn custom_images_blocker(&self) -> Option<Error> {
        let out = self.inspect().ok()?;
        custom_images_blocker_for(&String::from_utf8_lossy(&out.stdout))
    }

    /// Why the active builder cannot export build cache, if it cannot: the
    /// docker driver exports cache only with the containerd image store.
    pub fn cache_export_blocker(&self) -> Option<String> {
        let out = self.inspect().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        if inspect_field(&text, "driver").as_deref() != Some("docker") {
            return None;
        }
        let out = self
            .cmd()
            .args(["info", "--format", "{{json .DriverStatus}}"])
            .output()
            .ok()?;
        let status = String::from_utf8_lossy(&out.stdout);
        (out.status.success() && !status.contains("io.containerd.snapshotter")).then(|| {
            "the active builder (docker driver) cannot export build cache: the engine does not use the containerd image store\n  \
             help: turn the store on (\"features\": {\"containerd-snapshotter\": true} in /etc/docker/daemon.json, then restart dockerd), \
             or build with a docker-container builder: `green-cross builder create` makes one, then --builder green-cross or BUILDX_BUILDER=green-cross".to_string()
        })
    }
}

/// Whether the docker CLI said that it has no buildx plugin.
fn buildx_missing(stderr: &str) -> bool {
    stderr.contains("'buildx' is not a docker command")
        || stderr.contains("unknown command \"buildx\"")
}

/// Why the `dockerfile` images of a plan cannot be built with this builder
/// (from `docker buildx inspect`), if they cannot: they are loaded into the
/// engine, and only a docker-driver builder's FROM finds loaded images.
fn custom_images_blocker_for(inspect: &str) -> Option<Error> {
    let driver = inspect_field(inspect, "driver")?;
    let name = inspect_field(inspect, "name").unwrap_or_default();
    (driver != "docker").then(|| Error::Engine {
        message: format!(
            "`dockerfile` needs a builder with the docker driver, and the builder `{name}` uses the {driver} driver: \
             the image built from the Dockerfile is loaded into the engine, where this builder's FROM cannot find it"
        ),
        help: "build with the engine's own builder (`--builder default`, or unset BUILDX_BUILDER), \
               or build and push the image yourself and name it with `image`"
            .into(),
    })
}

/// `BuildKit version: v0.13.2` (or `Buildkit:` in older buildx) from
/// `docker buildx inspect`.
pub fn parse_buildkit_version(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        let k = k.trim().to_ascii_lowercase();
        (k == "buildkit version" || k == "buildkit")
            .then(|| v.trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

/// The first `Key: value` line of `docker buildx inspect` with this key.
pub(super) fn inspect_field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().to_string())
    })
}

fn major_minor(v: &str) -> Option<(u64, u64)> {
    let v = v.trim_start_matches('v');
    let mut it = v.split(['.', '+', '-']);
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_images_need_the_docker_driver() {
        let docker = "Name:          default\nDriver:        docker\n\nNodes:\nName: default\n";
        assert!(custom_images_blocker_for(docker).is_none());
        let container = "Name:          ci\nDriver:        docker-container\n";
        let why = custom_images_blocker_for(container).unwrap().to_string();
        assert!(
            why.contains("the builder `ci` uses the docker-container driver"),
            "{why}"
        );
        assert!(why.contains("help: "), "{why}");
    }

    #[test]
    fn a_missing_buildx_plugin_is_told_apart_from_a_silent_builder() {
        assert!(buildx_missing(
            "docker: 'buildx' is not a docker command.\nSee 'docker --help'"
        ));
        assert!(!buildx_missing("ERROR: no builder \"nope\" found"));
    }

    #[test]
    fn buildkit_version_is_parsed() {
        let text = "Name:   default\nDriver: docker\nNodes:\nName:      default\nStatus:    running\nBuildKit version: v0.13.2\nPlatforms: linux/amd64\n";
        assert_eq!(parse_buildkit_version(text).as_deref(), Some("v0.13.2"));
        assert_eq!(major_minor("v0.13.2"), Some((0, 13)));
        assert_eq!(major_minor("0.8.2+abc"), Some((0, 8)));
        assert_eq!(parse_buildkit_version("Name: x\n"), None);
        assert_eq!(
            inspect_field("Name: d\nDriver:        docker\n", "driver").as_deref(),
            Some("docker")
        );
        assert_eq!(major_minor("v0.0.0+unknown"), Some((0, 0)));
    }
}
