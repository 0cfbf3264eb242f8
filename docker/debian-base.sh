#!/usr/bin/env bash
# Make a Debian bookworm base image for green-cross's distro mode without
# pulling anything from an image registry: debootstrap a minimal root file
# system from a Debian mirror and `docker import` it. For air-gapped and
# offline machines; use it with
#   GREEN_CROSS_TOOLCHAIN=distro GREEN_CROSS_BASE_IMAGE=<name> green-cross build ...
# or `[build] toolchain = "distro"` and `base-image = "<name>"` in Cross.toml.
#
# Usage (as root): docker/debian-base.sh NAME MIRROR
#   NAME    the image to create, e.g. green-cross/debian:bookworm
#   MIRROR  a Debian mirror URL (the same one apt uses on this host will do);
#           the image's apt sources name it, with bookworm-updates and
#           bookworm-security (MIRROR with /debian replaced by
#           /debian-security).
set -euo pipefail
name="${1:?usage: docker/debian-base.sh NAME MIRROR}"
mirror="${2:?usage: docker/debian-base.sh NAME MIRROR}"
security="${mirror%/debian}/debian-security"

command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
log="$root.debootstrap.log"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$log" 2>&1 \
    || { tail -n 20 "$log" >&2; echo "debootstrap failed (full log: $log)" >&2; exit 1; }
rm -f "$log"
cat > "$root/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SRC
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["bash"]' - "$name" >/dev/null
echo "$name"
