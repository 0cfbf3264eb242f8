#!/usr/bin/env bash
# The main job, on a fresh machine: set up a BuildKit engine, install
# green-cross, and cross-compile a real workspace (a binary with a crates.io
# dependency and C code built by the cc crate) for four targets in one
# BuildKit solve. Prints the artifacts table and what each artifact is.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

if [ "$(id -u)" = 0 ]; then bash ci/setup-engine.sh; else sudo bash ci/setup-engine.sh; fi

cargo install --locked --quiet --path . --root "$repo/target/demo-install"
export PATH="$repo/target/demo-install/bin:$PATH"

# Offline-capable toolchain: a Debian base image with Debian's Rust.
export GREEN_CROSS_TOOLCHAIN=distro
export GREEN_CROSS_BASE_IMAGE="${GREEN_CROSS_BASE_IMAGE:-green-cross/debian:bookworm}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r tests/fixtures/hello-cross "$work/"
rm -rf "$work/hello-cross/target"
cd "$work/hello-cross"

targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-gnu x86_64-pc-windows-gnu aarch64-apple-darwin)
args=()
for t in "${targets[@]}"; do args+=(--target "$t"); done

green-cross build --release "${args[@]}"

echo
for t in "${targets[@]}"; do
    f=target/$t/release/hello-cross
    [ -f "$f" ] || f=$f.exe
    printf '%-28s %s\n' "$t" "$(file -b "$f" | cut -c1-90)"
done
echo
echo "x86_64-unknown-linux-musl says: $(target/x86_64-unknown-linux-musl/release/hello-cross)"
echo "aarch64-unknown-linux-gnu says: $(qemu-aarch64-static -L /usr/aarch64-linux-gnu target/aarch64-unknown-linux-gnu/release/hello-cross)"
