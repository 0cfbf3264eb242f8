#!/usr/bin/env bash
# Fuzzes configuration, environment and command line through planning and
# rendering (fuzz/fuzz_targets/plan.rs) with cargo-fuzz on a nightly
# toolchain, for SECONDS (default 600), starting from fuzz/seeds. Prints
# libFuzzer's figures; fails on the first crash, which it keeps in
# fuzz/artifacts/plan/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p fuzz/corpus/plan
cp -n fuzz/seeds/* fuzz/corpus/plan/ 2>/dev/null || true
cargo +nightly fuzz run plan fuzz/corpus/plan -- \
    -max_total_time="$seconds" -max_len=4096 -print_final_stats=1
