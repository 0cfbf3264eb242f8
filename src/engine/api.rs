//! The engine's API, through bollard: a tokio runtime for one call, the
//! engine's version.

use std::time::Duration;

use crate::error::{Error, Result};

/// Ask the engine for its version through its API (bollard).
pub(super) fn engine_version_via_api(docker_host: &str) -> Result<String> {
    let no_engine = |detail: String| {
        Error::Engine {
        message: format!(
            "no Docker engine answers{}: {detail}",
            if docker_host.is_empty() { String::new() } else { format!(" at DOCKER_HOST={docker_host}") }
        ),
        help: "start the Docker engine (`dockerd`, or Docker Desktop), or point DOCKER_HOST at one; on a Debian machine ci/setup-engine.sh installs and starts one".into(),
    }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| no_engine(e.to_string()))?;
    rt.block_on(async {
        let docker =
            bollard::Docker::connect_with_defaults().map_err(|e| no_engine(e.to_string()))?;
        let v = tokio::time::timeout(Duration::from_secs(10), docker.version())
            .await
            .map_err(|_| no_engine("timed out after 10 s".into()))?
            .map_err(|e| no_engine(e.to_string()))?;
        Ok(v.version.unwrap_or_default())
    })
}
