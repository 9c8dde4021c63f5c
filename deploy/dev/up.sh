#!/usr/bin/env bash
# Runs the whole Ferry platform on this machine, on loopback: installs what it needs,
# builds, starts etcd, then every service and the gateway. Ctrl-C stops everything.
#
# Ports (override with FERRY_BASE_PORT): gateway 7000, build 7001, deploy 7002,
# catalog 7003, storage 7004, routing 7005; etcd 2379/2380 (FERRY_ETCD_PORT); the OCI
# registry of built images 5000 (FERRY_REGISTRY_PORT).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. deploy/dev/lib.sh
deploy/dev/setup.sh

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/ferry-target}
cargo build --release --workspace --bins
bin="$CARGO_TARGET_DIR/release"
# The routing service's in-network DNS endpoints run ferry-forward in a container: a
# static binary (std only), imported as a one-file image into each engine.
RUSTFLAGS="-C target-feature=+crt-static" cargo build -p ferry-forward --release \
  --target x86_64-unknown-linux-gnu --target-dir "$CARGO_TARGET_DIR/static"
export FERRY_ROUTING_FORWARDER_BINARY="$CARGO_TARGET_DIR/static/x86_64-unknown-linux-gnu/release/ferry-forward"

state=${FERRY_STATE_DIR:-$HOME/.local/share/ferry}
mkdir -p "$state/logs"
base=${FERRY_BASE_PORT:-7000}
etcd_port=${FERRY_ETCD_PORT:-2379}

pids=()
stopping=0
stop_all() {
  trap - INT TERM EXIT
  stopping=1
  echo "up: stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # Poll rather than `wait`: inside a signal trap `wait` can return early, and etcd must
  # outlive the services (they revoke their leases on the way out).
  for _ in $(seq 1 150); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  # The local Docker engine goes with its containers: the platform's instances.
  stop_dockerd "$state/docker" || true
  if [ -n "${REGISTRY_PID:-}" ]; then kill "$REGISTRY_PID" 2>/dev/null || true; fi
  if [ -n "${ETCD_PID:-}" ]; then
    kill "$ETCD_PID" 2>/dev/null || true
    wait "$ETCD_PID" 2>/dev/null || true
  fi
}
trap stop_all INT TERM EXIT

start_etcd "$state/etcd" "$etcd_port" "$((etcd_port + 1))"
export FERRY_ETCD_ENDPOINTS="127.0.0.1:$etcd_port"
echo "up: etcd on $FERRY_ETCD_ENDPOINTS (data in $state/etcd)"

# The key secrets are encrypted with (kept in the state directory, readable by its owner
# only; every replica of a real installation gets the same FERRY_SECRETS_KEY).
key_file="$state/secrets.key"
if [ ! -s "$key_file" ]; then
  (umask 077 && head -c 32 /dev/urandom | base64 >"$key_file")
fi
FERRY_SECRETS_KEY=$(cat "$key_file")
export FERRY_SECRETS_KEY

# The deploy service's runtime: a private local Docker engine, one host of region `local`.
start_dockerd "$state/docker" 3
export FERRY_DOCKER_ENGINES="local=$DOCKER_SOCKET@local/local-1"
echo "up: docker engine at $DOCKER_SOCKET (the deploy service's runtime \"docker\")"

# The build service: builder containers on the same engine, images pushed to a private
# registry on loopback, a busybox builder image (Debian's busybox-static; no image can be
# pulled here) that is also in the registry as a base image, `ferry/busybox:latest`.
start_registry "$state/registry" "${FERRY_REGISTRY_PORT:-5000}"
export FERRY_BUILD_DOCKER_HOST=$DOCKER_SOCKET
export FERRY_BUILD_REGISTRY=$REGISTRY_ADDR
export FERRY_BUILD_WORK_DIR=$state/build
export FERRY_BUILD_BUILDER_IMAGE=${FERRY_BUILD_BUILDER_IMAGE:-ferry-builder:busybox}
if ! docker -H "$DOCKER_SOCKET" image inspect ferry-builder:busybox >/dev/null 2>&1; then
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
  tar -C "$rootfs" -c . | docker -H "$DOCKER_SOCKET" import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - ferry-builder:busybox >/dev/null
  rm -rf "$rootfs"
fi
docker -H "$DOCKER_SOCKET" tag ferry-builder:busybox "$REGISTRY_ADDR/ferry/busybox:latest"
docker -H "$DOCKER_SOCKET" push -q "$REGISTRY_ADDR/ferry/busybox:latest" >/dev/null
echo "up: registry at $REGISTRY_ADDR (base image $REGISTRY_ADDR/ferry/busybox:latest), builder image $FERRY_BUILD_BUILDER_IMAGE"

# The gateway authenticates every call (FERRY_AUTH=disabled turns that off). Its first
# start writes the bootstrap admin token, readable only by you, to this file.
export FERRY_BOOTSTRAP_TOKEN_FILE=${FERRY_BOOTSTRAP_TOKEN_FILE:-$state/bootstrap-token}

port=$base
for service in gateway build deploy catalog storage routing; do
  "$bin/ferry-$service" --listen "127.0.0.1:$port" >"$state/logs/$service.log" 2>&1 &
  pids+=($!)
  echo "up: ferry-$service on 127.0.0.1:$port (log $state/logs/$service.log)"
  port=$((port + 1))
done
if [ "${FERRY_AUTH:-enabled}" = disabled ]; then
  echo "up: authentication is DISABLED (FERRY_AUTH=disabled)"
else
  echo "up: bootstrap admin token (first start only): $FERRY_BOOTSTRAP_TOKEN_FILE"
  echo "up:   call with: -H \"authorization: Bearer \$(cat $FERRY_BOOTSTRAP_TOKEN_FILE)\""
fi
echo "up: Ferry is running; Ctrl-C stops it"
wait -n "${pids[@]}" || true
if [ "$stopping" = 0 ]; then
  echo "up: a service exited; see $state/logs" >&2
  exit 1
fi
