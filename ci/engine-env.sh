# Sourced by ci/test.sh and ci/real-world.sh from the repository root:
# installs and starts what the end-to-end tests need (ci/setup-engine.sh,
# as root), fails when the engine does not answer, and exports the base
# image the tests build on.
if [ "$(id -u)" = 0 ]; then
    bash ci/setup-engine.sh
else
    sudo --preserve-env=GREEN_CROSS_BASE_IMAGE,GREEN_CROSS_DEBIAN_MIRROR bash ci/setup-engine.sh
fi
docker info >/dev/null || { echo "$0: the Docker engine is not running" >&2; exit 1; }
export GREEN_CROSS_E2E_BASE_IMAGE="${GREEN_CROSS_BASE_IMAGE:-green-cross/debian:bookworm}"
