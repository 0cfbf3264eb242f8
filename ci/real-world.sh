#!/usr/bin/env bash
# The longest end-to-end suite: tests/real_world.rs builds a workspace like
# the ones users have (libc, ring, bundled SQLite, C and C++ through cc,
# openssl vendored, tokio, rustls with aws-lc-rs, core-foundation, a path
# dependency outside the workspace) for the five mission targets in one
# invocation, and runs or inspects every artifact. Every target compiles
# OpenSSL, AWS-LC and SQLite from source, so it runs apart from ci/test.sh.
# Sets up the engine as ci/test.sh does; fails, never skips.
set -euo pipefail
cd "$(dirname "$0")/.."

. ci/engine-env.sh
start=$(date +%s)
cargo test --locked --test real_world -- --include-ignored --test-threads=1
echo "ci/real-world.sh: passed in $(( $(date +%s) - start )) s"
