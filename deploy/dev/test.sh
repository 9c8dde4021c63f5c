#!/usr/bin/env bash
# Runs Ferry's whole test suite on this machine: installs what it needs (deploy/dev/setup.sh),
# starts a private etcd on loopback for the tests that share one, a Kubernetes test control
# plane on it (deploy/dev/kube), two private Docker engines (two hosts for the Docker
# runtime's zone tests) and an OCI registry, runs every test, stops them all.
# Tests that need their own etcd processes (3-member clusters, compaction) or their own
# Docker engine (an engine that stops answering) start them.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. deploy/dev/lib.sh
. deploy/dev/kube/for-tests.sh
deploy/dev/setup.sh

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/ferry-target}
work=$(mktemp -d /tmp/ferry-test.XXXXXX)
cleanup() {
  kube_test_stop || true
  # Each engine's containers are removed before it stops (stop_dockerd).
  for engine in "$work/docker1" "$work/docker2"; do
    stop_dockerd "$engine" || true
  done
  for ip in ${FERRY_TEST_LOCAL_IPS//,/ }; do
    ip addr del "$ip/32" dev lo 2>/dev/null || true
  done
  if [ -n "${REGISTRY_PID:-}" ]; then
    kill "$REGISTRY_PID" 2>/dev/null || true
  fi
  if [ -n "${ETCD_PID:-}" ]; then
    kill "$ETCD_PID" 2>/dev/null || true
    wait "$ETCD_PID" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

client=$(free_port); peer=$(free_port)
start_etcd "$work/etcd" "$client" "$peer"
export FERRY_ETCD_ENDPOINTS="127.0.0.1:$client"
echo "test: etcd on $FERRY_ETCD_ENDPOINTS"

# A real Kubernetes control plane (kube-apiserver, controller manager, scheduler, kwok's
# simulated nodes in two zones) on that etcd, built once from the Go module proxy.
kube_test_start "$work/kube" "$FERRY_ETCD_ENDPOINTS"
echo "test: kubernetes at $FERRY_TEST_KUBECONFIG"

# Two Docker engines side by side, with address pools that never overlap.
start_dockerd "$work/docker1" 1
export FERRY_TEST_DOCKER_HOST=$DOCKER_SOCKET
start_dockerd "$work/docker2" 2
export FERRY_TEST_DOCKER_HOST_2=$DOCKER_SOCKET
echo "test: docker engines at $FERRY_TEST_DOCKER_HOST and $FERRY_TEST_DOCKER_HOST_2"

# Two local non-loopback addresses (TEST-NET-2, on lo): Kubernetes refuses loopback
# addresses in EndpointSlices, and the routing tests need outside-looking servers that are
# really here (a stopped one must refuse connections at once).
export FERRY_TEST_LOCAL_IPS=198.51.100.10,198.51.100.11
for ip in ${FERRY_TEST_LOCAL_IPS//,/ }; do
  ip addr add "$ip/32" dev lo 2>/dev/null || ip addr show dev lo | grep -q "inet $ip/" || {
    echo "test: cannot add $ip to lo (needs root or CAP_NET_ADMIN)" >&2
    exit 1
  }
done

# An OCI registry for the build service's images.
start_registry "$work/registry" "$(free_port)"
export FERRY_TEST_REGISTRY=$REGISTRY_ADDR
echo "test: registry at $FERRY_TEST_REGISTRY"

# Build the binaries first: the end-to-end tests start them as processes.
cargo build --workspace --bins
cargo test --workspace --all-features -- "$@"
