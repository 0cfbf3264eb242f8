#!/usr/bin/env bash
# Install and start everything green-cross's end-to-end tests, demo and
# benchmarks need on a Debian bookworm machine with no image registry:
#   - a Docker engine with BuildKit, buildx and the containerd image store
#   - a local OCI registry on 127.0.0.1:5000
#   - a second engine of its own (socket, TCP port 127.0.0.1:2385, bridge,
#     data), standing in for a remote builder (DOCKER_HOST), also reachable
#     over ssh (an sshd of its own on 127.0.0.1:2222, host alias
#     green-cross-e2e-ssh in /etc/ssh/ssh_config.d)
#   - qemu-user-static (with the arm64/armhf glibc), wine (and MinGW, for a
#     DLL shim wine 8 needs) and `file`, to check foreign artifacts
#   - a Debian base image made with debootstrap (no image is pulled)
#   - openssh-server, openssh-client and git, for the private-dependency
#     tests (tests/private_servers.rs), which start an sshd, an ssh-agent
#     and a git repository of their own; openssl and python3 for the same
#     repository over https (a certificate of its own, a TLS relay)
# Idempotent: every step checks before it acts. Run as root.
#
# Environment:
#   GREEN_CROSS_BASE_IMAGE   name of the base image to create (default below)
#   GREEN_CROSS_DEBIAN_MIRROR  Debian mirror for debootstrap (default: the
#                              first one the host's apt sources name)
set -euo pipefail

BASE_IMAGE="${GREEN_CROSS_BASE_IMAGE:-green-cross/debian:bookworm}"
REGISTRY_ADDR="127.0.0.1:5000"
REMOTE_SOCK="/run/green-cross-remote.sock"
REMOTE_TCP="127.0.0.1:2385"
REMOTE_BRIDGE="gcremote0"
REMOTE_NET="172.30.99"
SSH_PORT=2222
SSH_ALIAS="green-cross-e2e-ssh"
STATE_DIR="/var/lib/green-cross-ci"
LOG_DIR="/var/log/green-cross-ci"
mkdir -p "$STATE_DIR" "$LOG_DIR"

log() { printf '[setup-engine] %s\n' "$*" >&2; }
die() { printf '[setup-engine] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (apt-get and dockerd need it)"

# --- the Debian mirror the host already uses ---------------------------------
debian_mirror() {
    if [ -n "${GREEN_CROSS_DEBIAN_MIRROR:-}" ]; then
        echo "$GREEN_CROSS_DEBIAN_MIRROR"; return
    fi
    local m=""
    if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
        m=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources)
    fi
    if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
        m=$(awk '$1 == "deb" && $0 !~ /security/ {for (i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
    fi
    [ -n "$m" ] || die "no Debian mirror found in the apt sources; set GREEN_CROSS_DEBIAN_MIRROR"
    echo "$m"
}
MIRROR=$(debian_mirror)

# --- packages ----------------------------------------------------------------
apt_updated=0
apt_update() { if [ $apt_updated = 0 ]; then apt-get update -qq; apt_updated=1; fi; }

need_pkgs=()
for p in docker.io docker-buildx docker-registry qemu-user-static debootstrap file wine64 wine \
         libc6-arm64-cross libgcc-s1-arm64-cross libc6-armhf-cross libgcc-s1-armhf-cross curl \
         libstdc++6-arm64-cross llvm \
         gcc-mingw-w64-x86-64-win32 iproute2 openssh-server openssh-client zstd; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$p")
done
# Commands that may come from elsewhere than Debian's packages (Node.js,
# npm, git and Python often do): installed only when missing.
command -v iptables >/dev/null || need_pkgs+=(iptables)
command -v git >/dev/null || need_pkgs+=(git)
command -v openssl >/dev/null || need_pkgs+=(openssl)
command -v python3 >/dev/null || need_pkgs+=(python3)
command -v node >/dev/null || need_pkgs+=(nodejs)
command -v npm >/dev/null || need_pkgs+=(npm)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    # bookworm's docker.io (20.10) has BuildKit 0.8 and no buildx; trixie's
    # docker-buildx brings docker.io 26 and buildx 0.13. Pin trixie low so
    # nothing else is upgraded.
    if [ ! -f /etc/apt/sources.list.d/green-cross-trixie.sources ]; then
        cat > /etc/apt/sources.list.d/green-cross-trixie.sources <<SRC
Types: deb
URIs: $MIRROR
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
        cat > /etc/apt/preferences.d/green-cross-trixie <<PIN
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
        apt_updated=0
    fi
    apt_update
    log "installing: ${need_pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -t trixie docker-buildx docker.io >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        docker-registry qemu-user-static debootstrap file wine64 wine curl \
        libc6-arm64-cross libgcc-s1-arm64-cross libc6-armhf-cross libgcc-s1-armhf-cross \
        libstdc++6-arm64-cross llvm gcc-mingw-w64-x86-64-win32 iproute2 openssh-server openssh-client zstd >/dev/null
    for cmd_pkg in iptables:iptables git:git openssl:openssl python3:python3 node:nodejs npm:npm; do
        command -v "${cmd_pkg%%:*}" >/dev/null \
            || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${cmd_pkg#*:}" >/dev/null
    done
fi

# --- the engine --------------------------------------------------------------
mkdir -p /etc/docker
if ! grep -q containerd-snapshotter /etc/docker/daemon.json 2>/dev/null; then
    echo '{"features":{"containerd-snapshotter":true}}' > /etc/docker/daemon.json
    if pgrep -x dockerd >/dev/null; then
        log "restarting dockerd for the containerd image store"
        pkill -x dockerd || true
        for _ in $(seq 1 30); do pgrep -x dockerd >/dev/null || break; sleep 1; done
    fi
fi
if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    # dockerd starts its own containerd when none runs.
    nohup dockerd >"$LOG_DIR/dockerd.log" 2>&1 &
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { tail -n 30 "$LOG_DIR/dockerd.log" >&2; die "dockerd did not start"; }
fi
docker buildx version >/dev/null 2>&1 || die "docker buildx is not installed"
docker info --format '{{.DriverStatus}}' | grep -q 'io.containerd.snapshotter' \
    || log "warning: the containerd image store is not active; registry cache export will fail"

# --- the registry ------------------------------------------------------------
if ! curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; then
    log "starting a registry on $REGISTRY_ADDR"
    mkdir -p "$STATE_DIR/registry"
    cat > "$STATE_DIR/registry.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE_DIR/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
YML
    reg_bin=$(command -v docker-registry || echo /usr/bin/docker-registry)
    nohup "$reg_bin" serve "$STATE_DIR/registry.yml" >"$LOG_DIR/registry.log" 2>&1 &
    for _ in $(seq 1 30); do curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1 && break; sleep 1; done
    curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null || { tail -n 20 "$LOG_DIR/registry.log" >&2; die "the registry did not start"; }
fi

# --- the Debian base image ---------------------------------------------------
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    log "building $BASE_IMAGE with debootstrap"
    bash "$(dirname "$0")/../docker/debian-base.sh" "$BASE_IMAGE" "$MIRROR" >/dev/null
fi

# --- a second engine, for builds through DOCKER_HOST ---------------------------
# Its own data, exec root and bridge (with NAT and forwarding rules of its
# own, as it manages no iptables rules itself), the containerd image store,
# and the base image copied in.
remote() { DOCKER_HOST="unix://$REMOTE_SOCK" docker "$@"; }
if ! remote info >/dev/null 2>&1; then
    log "starting a second engine on $REMOTE_SOCK and tcp://$REMOTE_TCP"
    if ! ip link show "$REMOTE_BRIDGE" >/dev/null 2>&1; then
        ip link add name "$REMOTE_BRIDGE" type bridge
        ip addr add "$REMOTE_NET.1/24" dev "$REMOTE_BRIDGE"
    fi
    ip link set "$REMOTE_BRIDGE" up
    iptables -t nat -C POSTROUTING -s "$REMOTE_NET.0/24" ! -o "$REMOTE_BRIDGE" -j MASQUERADE 2>/dev/null \
        || iptables -t nat -A POSTROUTING -s "$REMOTE_NET.0/24" ! -o "$REMOTE_BRIDGE" -j MASQUERADE
    iptables -C FORWARD -i "$REMOTE_BRIDGE" ! -o "$REMOTE_BRIDGE" -j ACCEPT 2>/dev/null \
        || iptables -I FORWARD -i "$REMOTE_BRIDGE" ! -o "$REMOTE_BRIDGE" -j ACCEPT
    iptables -C FORWARD -o "$REMOTE_BRIDGE" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT 2>/dev/null \
        || iptables -I FORWARD -o "$REMOTE_BRIDGE" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    mkdir -p /etc/green-cross-remote
    echo '{"features":{"containerd-snapshotter":true}}' > /etc/green-cross-remote/daemon.json
    nohup dockerd --config-file /etc/green-cross-remote/daemon.json \
        --data-root /var/lib/green-cross-remote --exec-root /run/green-cross-remote \
        --pidfile /run/green-cross-remote.pid \
        -H "unix://$REMOTE_SOCK" -H "tcp://$REMOTE_TCP" \
        --bridge "$REMOTE_BRIDGE" --iptables=false --ip6tables=false \
        >"$LOG_DIR/dockerd-remote.log" 2>&1 &
    for _ in $(seq 1 60); do remote info >/dev/null 2>&1 && break; sleep 1; done
    remote info >/dev/null 2>&1 || { tail -n 30 "$LOG_DIR/dockerd-remote.log" >&2; die "the second engine did not start"; }
fi
if ! remote image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    log "copying $BASE_IMAGE into the second engine"
    docker save "$BASE_IMAGE" | remote load >/dev/null
fi

# --- ssh to the second engine (DOCKER_HOST=ssh://...) ------------------------
# An sshd of its own, for root with a key of its own, whose sessions talk to
# the second engine; the client side is one Host block for an alias.
SSH_DIR="$STATE_DIR/ssh"
mkdir -p "$SSH_DIR" /run/sshd
[ -f "$SSH_DIR/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$SSH_DIR/id_ed25519"
[ -f "$SSH_DIR/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$SSH_DIR/host_ed25519"
cp "$SSH_DIR/id_ed25519.pub" "$SSH_DIR/authorized_keys"
cat > "$SSH_DIR/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $SSH_PORT
HostKey $SSH_DIR/host_ed25519
AuthorizedKeysFile $SSH_DIR/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PidFile /run/green-cross-sshd.pid
SetEnv DOCKER_HOST=unix://$REMOTE_SOCK
CONF
printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$SSH_DIR/host_ed25519.pub")" > "$SSH_DIR/known_hosts"
cat > /etc/ssh/ssh_config.d/green-cross-e2e.conf <<CONF
Host $SSH_ALIAS
    HostName 127.0.0.1
    Port $SSH_PORT
    User root
    IdentityFile $SSH_DIR/id_ed25519
    IdentitiesOnly yes
    UserKnownHostsFile $SSH_DIR/known_hosts
    StrictHostKeyChecking yes
CONF
if ! { [ -f /run/green-cross-sshd.pid ] && kill -0 "$(cat /run/green-cross-sshd.pid)" 2>/dev/null; }; then
    log "starting sshd on 127.0.0.1:$SSH_PORT for the second engine"
    /usr/sbin/sshd -f "$SSH_DIR/sshd_config" -E "$LOG_DIR/sshd.log"
fi
for _ in $(seq 1 10); do
    DOCKER_HOST="ssh://$SSH_ALIAS" docker info >/dev/null 2>&1 && break
    sleep 1
done
DOCKER_HOST="ssh://$SSH_ALIAS" docker info >/dev/null 2>&1 \
    || { tail -n 20 "$LOG_DIR/sshd.log" >&2; die "the second engine does not answer over ssh://$SSH_ALIAS"; }

log "ready: engine $(docker version --format '{{.Server.Version}}'), buildx $(docker buildx version | awk '{print $2}'), registry $REGISTRY_ADDR, second engine tcp://$REMOTE_TCP and ssh://$SSH_ALIAS, base image $BASE_IMAGE"
