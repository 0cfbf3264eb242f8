#!/usr/bin/env bash
# Runs every test of green-cross: unit, golden Dockerfiles, CLI, docs, the
# end-to-end builds of the fixture for all nine targets, and the real-world
# workspace for the five mission targets, on a real BuildKit engine. Installs and starts what those need first
# (ci/setup-engine.sh). Fails, never skips, when the engine cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."

. ci/engine-env.sh

# The registry ci/setup-engine.sh runs, for the shared-cache test (which
# prunes the builder's cache: cargo runs its test binary, shared_cache,
# after e2e's).
export GREEN_CROSS_E2E_REGISTRY="127.0.0.1:5000"
# The second engine ci/setup-engine.sh starts, for builds through DOCKER_HOST
# (tcp:// and ssh://) and --builder.
export GREEN_CROSS_E2E_REMOTE="tcp://127.0.0.1:2385"
export GREEN_CROSS_E2E_SSH="ssh://green-cross-e2e-ssh"
# The GitHub Action and the example workflow: actionlint and the schemas.
bash ci/lint-actions.sh
# Lints, as errors: among them clippy.toml's rule that only env.rs reads
# the process environment.
cargo clippy --locked --all-targets -- -D warnings

# The end-to-end tests are #[ignore]d for a plain `cargo test` on a machine
# without an engine; here they must run. One test at a time: each build
# already uses both cores.
# Afterwards, whatever the outcome, every image with green-cross's label is
# removed: the tests load runner and `dockerfile` images for each temporary
# workspace and target, and nothing else would. The build cache stays.
remove_test_images() {
    docker image ls --quiet --filter label=dev.green-cross.image | sort -u |
        xargs -r docker image rm --force >/dev/null 2>&1 || true
}
trap remove_test_images EXIT
# tests/real_world.rs (five targets, each compiling OpenSSL, AWS-LC and
# SQLite) builds in the dev profile here; ci/real-world.sh runs it in the
# release profile.
start=$(date +%s)
cargo test --locked --no-fail-fast -- --include-ignored --test-threads=1
echo "ci/test.sh: passed in $(( $(date +%s) - start )) s (after the engine set-up)"
