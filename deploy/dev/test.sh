#!/usr/bin/env bash
# Runs Ferry's whole test suite on this machine: installs what it needs (deploy/dev/setup.sh),
# starts a private etcd on loopback for the tests that share one, runs every test, stops etcd.
# Tests that need their own etcd processes (3-member clusters, compaction) start them.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. deploy/dev/lib.sh
deploy/dev/setup.sh

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/ferry-target}
work=$(mktemp -d /tmp/ferry-test.XXXXXX)
cleanup() {
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

# Build the binaries first: the end-to-end tests start them as processes.
cargo build --workspace --bins
cargo test --workspace --all-features -- "$@"
