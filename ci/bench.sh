#!/usr/bin/env bash
# Wall-time figures for green-cross on the fixture workspace, for one
# target, next to plain `cargo build` of the same workspace on the host,
# all measured in this run. Each figure is the median of RUNS runs.
#
#   cold:  green-cross after `docker buildx prune -af` (every stage from
#          scratch; base image present); cargo after `cargo clean`
#   no-op: the same command again with nothing changed
#
# Usage: ci/bench.sh [TARGET]   (default x86_64-unknown-linux-gnu)
# Environment: RUNS (default 3), GREEN_CROSS_BASE_IMAGE.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
target="${1:-x86_64-unknown-linux-gnu}"
runs="${RUNS:-3}"

if [ "$(id -u)" = 0 ]; then bash ci/setup-engine.sh; else sudo bash ci/setup-engine.sh; fi
cargo build --locked --release --quiet
gc="$repo/target/release/green-cross"
export GREEN_CROSS_TOOLCHAIN=distro
export GREEN_CROSS_BASE_IMAGE="${GREEN_CROSS_BASE_IMAGE:-green-cross/debian:bookworm}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r tests/fixtures/hello-cross "$work/ws"
rm -rf "$work/ws/target"
cd "$work/ws"

now() { date +%s.%N; }
# time_it CMD...: prints seconds, fails loudly if CMD fails.
time_it() {
    local t0 t1
    t0=$(now)
    "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; echo "bench: '$*' failed" >&2; exit 1; }
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
median() { sort -g | awk '{a[NR]=$1} END {m=(NR+1)/2; if (NR%2) print a[m]; else print (a[NR/2]+a[NR/2+1])/2}'; }

declare -A fig
for kind in cargo gc; do
    cold=(); noop=()
    for _ in $(seq 1 "$runs"); do
        if [ $kind = cargo ]; then
            cargo clean -q
            cold+=("$(time_it cargo build --release --locked)")
            noop+=("$(time_it cargo build --release --locked)")
        else
            docker buildx prune -af >/dev/null
            rm -rf target
            cold+=("$(time_it "$gc" build --release --target "$target")")
            noop+=("$(time_it "$gc" build --release --target "$target")")
        fi
    done
    fig[$kind-cold]=$(printf '%s\n' "${cold[@]}" | median)
    fig[$kind-noop]=$(printf '%s\n' "${noop[@]}" | median)
done

printf '\nfixture workspace, target %s, median of %s runs, %s\n\n' "$target" "$runs" "$(nproc) cores"
printf '%-8s %14s %16s %8s\n' case "cargo (host)" "green-cross" ratio
for c in cold noop; do
    a=${fig[cargo-$c]}; b=${fig[gc-$c]}
    printf '%-8s %13.2fs %15.2fs %7.1fx\n' "$c" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { print b / a }')"
done
