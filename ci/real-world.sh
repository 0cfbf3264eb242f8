#!/usr/bin/env bash
# The longest end-to-end suite: tests/real_world.rs builds a workspace like
# the ones users have (libc, ring, bundled SQLite, C and C++ through cc,
# openssl vendored, tokio, rustls with aws-lc-rs, core-foundation, a path
# dependency outside the workspace) for the five mission targets in one
# invocation, and runs or inspects every artifact. ci/test.sh runs it in the
# dev profile; this runs it alone in the release profile (LTO, strip), where
# every target compiles OpenSSL, AWS-LC and SQLite with optimisations.
# Sets up the engine as ci/test.sh does; fails, never skips.
set -euo pipefail
cd "$(dirname "$0")/.."

. ci/engine-env.sh
start=$(date +%s)
GREEN_CROSS_E2E_REAL_WORLD_PROFILE=release \
    cargo test --locked --test real_world -- --include-ignored --test-threads=1
echo "ci/real-world.sh: passed in $(( $(date +%s) - start )) s"
