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
# without an engine; here they must run. One test at a time within a suite:
# each build already uses both cores.
#
# tests/real_world.rs (five targets, each compiling OpenSSL, AWS-LC and
# SQLite; dev profile here, ci/real-world.sh runs it in the release profile)
# runs beside the other suites, to use the time they spend waiting on
# package downloads, image exports and emulated test runs; both are mostly
# CPU-bound on two cores, so this saved about 150 s of a 69-minute run. Its
# output goes to a file, shown when it ends. tests/shared_cache.rs prunes the builder's cache, so it
# runs alone, last.
#
# Afterwards, whatever the outcome, the background suite is stopped and every
# image with green-cross's label is removed: the tests load runner and
# `dockerfile` images for each temporary workspace and target, and nothing
# else would. The build cache stays.
set -m
background=""
remove_test_images() {
    if [ -n "$background" ]; then kill -TERM -- "-$background" 2>/dev/null || true; fi
    docker image ls --quiet --filter label=dev.green-cross.image | sort -u |
        xargs -r docker image rm --force >/dev/null 2>&1 || true
}
trap remove_test_images EXIT
start=$(date +%s)
cargo test --locked --no-run
real_world_log=target/ci-real-world.log
cargo test --locked --test real_world -- --include-ignored --test-threads=1 \
    > "$real_world_log" 2>&1 &
background=$!
suites=(--lib --bins)
for f in tests/*.rs; do
    name=$(basename "$f" .rs)
    case "$name" in real_world | shared_cache) ;; *) suites+=(--test "$name") ;; esac
done
failed=0
cargo test --locked --no-fail-fast "${suites[@]}" -- --include-ignored --test-threads=1 || failed=1
wait "$background" || failed=1
background=""
echo "--- tests/real_world.rs (ran beside the suites above)"
cat "$real_world_log"
cargo test --locked --test shared_cache -- --include-ignored --test-threads=1 || failed=1
if [ "$failed" != 0 ]; then
    echo "ci/test.sh: FAILED after $(( $(date +%s) - start )) s" >&2
    exit 1
fi
echo "ci/test.sh: passed in $(( $(date +%s) - start )) s (after the engine set-up)"
