#!/usr/bin/env bash
# Benchmarks: wall time of the same work done four ways, measured in this
# run, on two workspaces, for one target. Each figure is the median of RUNS
# runs; ratios are against plain cargo on the host.
#
# Ways:
#   cargo    cargo on the host
#   image    cargo inside green-cross's own image for the target (its
#            sysroot stage, loaded into the engine) with the environment of
#            its build step, the workspace bind-mounted
#   cross    cross 0.2.5 (from crates.io), with that same image as its
#            `image` in Cross.toml (cross brings the host's toolchain)
#   gc       green-cross
# Cases:
#   cold     empty caches, images present: target dir removed and a fresh
#            CARGO_HOME (downloads included) for cargo, image and cross;
#            `docker buildx prune -af` for green-cross
#   no-op    the same command again, nothing changed
#   edit     after a one-line change in the leaf crate
#   fresh    green-cross only: a builder pruned of everything, with the
#            registry cache of an earlier build of the same sources warm
#            (--cache); its ratio is against green-cross's own cold build
# Workspaces:
#   fixture  tests/fixtures/hello-cross (2 crates, 5 from crates.io)
#   self     this repository's own workspace (its Cargo.lock: 150 crates)
#
# Usage: ci/bench.sh [TARGET]   (default x86_64-unknown-linux-gnu)
# Environment: RUNS (default 3), WORKSPACES (default "fixture self"),
#              GREEN_CROSS_BASE_IMAGE.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
target="${1:-x86_64-unknown-linux-gnu}"
runs="${RUNS:-3}"
workspaces="${WORKSPACES:-fixture self}"
registry="127.0.0.1:5000"

if [ "$(id -u)" = 0 ]; then bash ci/setup-engine.sh; else sudo bash ci/setup-engine.sh; fi
cargo build --locked --release --quiet
gc="$repo/target/release/green-cross"
export GREEN_CROSS_TOOLCHAIN=distro
export GREEN_CROSS_BASE_IMAGE="${GREEN_CROSS_BASE_IMAGE:-green-cross/debian:bookworm}"

# cross 0.2.5, installed once.
cross_root="/var/lib/green-cross-ci/cross-0.2.5"
if [ ! -x "$cross_root/bin/cross" ]; then
    cargo install cross --version 0.2.5 --locked --root "$cross_root" --quiet
fi
cross="$cross_root/bin/cross"

work=$(mktemp -d)
cleanup() {
    # Files written as root by containers.
    docker run --rm -v "$work:$work" "$GREEN_CROSS_BASE_IMAGE" rm -rf "$work" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# The toolchain image: green-cross's own stages up to the target's sysroot
# (Rust, the C toolchain and linker), loaded; cargo runs in it with the
# environment of green-cross's build step (its rustflags: lld).
image="green-cross-bench/toolchain:distro"
mkdir -p "$work/probe"
fixture_manifest="$repo/tests/fixtures/hello-cross/Cargo.toml"
"$gc" dockerfile --target "$target" --manifest-path "$fixture_manifest" >"$work/probe/Dockerfile"
docker buildx build --quiet --load --tag "$image" --target "sysroot-$target" \
    --secret id=green-cross-ca,src=/etc/ssl/certs/ca-certificates.crt \
    --file "$work/probe/Dockerfile" "$work/probe" >/dev/null
"$gc" plan --target "$target" --manifest-path "$fixture_manifest" | python3 -c '
import json, sys
for k, v in json.load(sys.stdin)["targets"][0]["build_env"].items():
    print(f"{k}={v}")' >"$work/build.env"

now() { date +%s.%N; }
# time_it CMD...: prints seconds; fails loudly if CMD fails.
time_it() {
    local t0 t1
    t0=$(now)
    "$@" >"$work/last.log" 2>&1 || { tail -n 40 "$work/last.log" >&2; echo "bench: '$*' failed" >&2; exit 1; }
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
median() { sort -g | awk '{a[NR]=$1} END {m=(NR+1)/2; if (NR%2) print a[m]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# One command per way, run in the workspace.
run_cargo() { CARGO_HOME="$work/home-cargo" cargo build --locked --target "$target"; }
run_image() {
    docker run --rm -v "$ws:$ws" -w "$ws" -v "$work/home-image:/usr/local/cargo" \
        --env-file "$work/build.env" \
        -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
        -e CARGO_HTTP_CAINFO=/etc/ssl/certs/ca-certificates.crt \
        "$image" cargo build --locked --target "$target"
}
run_cross() {
    CARGO_HOME="$work/home-cross" CROSS_CONFIG="$work/Cross-bench.toml" \
        "$cross" build --locked --target "$target"
}
run_gc() { "$gc" build --target "$target" "$@"; }
printf '[target.%s]\nimage = "%s"\n' "$target" "$image" >"$work/Cross-bench.toml"

clean_for() {
    case "$1" in
        gc) docker buildx prune -af >/dev/null ;;
        *) rm -rf "$work/home-$1" ;;
    esac
    docker run --rm -v "$ws:$ws" "$GREEN_CROSS_BASE_IMAGE" rm -rf "$ws/target" >/dev/null
}

declare -A fig
edits=0
for name in $workspaces; do
    ws="$work/ws-$name"
    case "$name" in
        fixture) cp -r tests/fixtures/hello-cross "$ws"; leaf="$ws/app/src/main.rs" ;;
        self) mkdir -p "$ws"; git -C "$repo" archive HEAD | tar -x -C "$ws"; leaf="$ws/src/main.rs" ;;
        *) echo "bench: unknown workspace $name" >&2; exit 2 ;;
    esac
    rm -rf "$ws/target"
    cd "$ws"
    for way in cargo image cross gc; do
        cold=(); noop=(); edit=()
        for _ in $(seq 1 "$runs"); do
            clean_for "$way"
            cold+=("$(time_it "run_$way")")
            noop+=("$(time_it "run_$way")")
            edits=$((edits + 1))
            echo "// bench edit $edits" >>"$leaf"
            edit+=("$(time_it "run_$way")")
        done
        fig[$name-$way-cold]=$(printf '%s\n' "${cold[@]}" | median)
        fig[$name-$way-noop]=$(printf '%s\n' "${noop[@]}" | median)
        fig[$name-$way-edit]=$(printf '%s\n' "${edit[@]}" | median)
        echo "bench: $name $way done" >&2
    done
    # A fresh builder with the registry cache warm.
    cache="$registry/green-cross-bench/$name-$(date +%s%N)"
    time_it run_gc --cache "$cache" >/dev/null
    fresh=()
    for _ in $(seq 1 "$runs"); do
        clean_for gc
        fresh+=("$(time_it run_gc --cache "$cache")")
    done
    fig[$name-gc-fresh]=$(printf '%s\n' "${fresh[@]}" | median)
    cd "$repo"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", b / a }'; }
printf '\ntarget %s, median of %s runs, %s cores; ratios against cargo on the host\n' "$target" "$runs" "$(nproc)"
for name in $workspaces; do
    printf '\n%s\n' "$name"
    printf '%-7s %9s %9s %6s %9s %6s %9s %6s  %s\n' case cargo image ratio cross ratio gc ratio "aim (issue 4)"
    for c in cold noop edit; do
        a=${fig[$name-cargo-$c]} i=${fig[$name-image-$c]} x=${fig[$name-cross-$c]} g=${fig[$name-gc-$c]}
        case $c in
            noop) aim=$(awk -v g="$g" 'BEGIN { print (g <= 0.3 ? "met" : "missed") " (<= 0.30s)" }') ;;
            edit) aim=$(awk -v g="$g" -v a="$a" 'BEGIN { printf "%s (<= %.2fs)", (g <= a + 0.3 ? "met" : "missed"), a + 0.3 }') ;;
            *) aim="" ;;
        esac
        printf '%-7s %8.2fs %8.2fs %6s %8.2fs %6s %8.2fs %6s  %s\n' "$c" "$a" "$i" "$(ratio "$a" "$i")" \
            "$x" "$(ratio "$a" "$x")" "$g" "$(ratio "$a" "$g")" "$aim"
    done
    g=${fig[$name-gc-fresh]} cg=${fig[$name-gc-cold]}
    speedup=$(awk -v a="$cg" -v b="$g" 'BEGIN { printf "%.1f", a / b }')
    printf '%-7s %9s %9s %6s %9s %6s %8.2fs %6s  %s\n' fresh - - - - - "$g" "" \
        "$(awk -v s="$speedup" 'BEGIN { print (s >= 5 ? "met" : "missed") }') (${speedup}x faster than gc cold; aim >= 5x)"
done
