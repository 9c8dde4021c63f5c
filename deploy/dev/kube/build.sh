#!/usr/bin/env bash
# Builds the Kubernetes test control plane from the Go module proxy: kube-apiserver,
# kube-controller-manager and kube-scheduler (pinned by deploy/dev/kube/go.mod) and kwok
# (pinned by deploy/dev/kube/kwok/go.mod), into a cache directory outside the clone.
#
#   deploy/dev/kube/build.sh [BIN_DIR]     (default: $FERRY_KUBE_BIN or /var/tmp/ferry-kube/bin)
#
# A stamp file per module records the hash of its go.mod, go.sum and the Go version; a
# module whose stamp matches is skipped. The Go build cache (GOCACHE) is kept under the
# cache directory too, so a rebuild after a version bump only recompiles what changed.
# Prints the time each step took.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-${FERRY_KUBE_BIN:-/var/tmp/ferry-kube/bin}}
cache=$(dirname "$bin")
export PATH="$PATH:/usr/local/go/bin"
if ! command -v go >/dev/null; then
  echo "build.sh: Go is required (expected at /usr/local/go/bin/go)" >&2
  exit 1
fi
export GOCACHE=${GOCACHE:-$cache/gocache}
export CGO_ENABLED=0
mkdir -p "$bin" "$GOCACHE"

# The hash of a module's pins plus the Go version: what a built binary depends on.
stamp_of() {
  cat "$1/go.mod" "$1/go.sum" | sha256sum | cut -d' ' -f1 | tr -d '\n'
  echo "-$(go env GOVERSION)"
}

# build MODULE_DIR NAME PACKAGE...: builds each PACKAGE into $bin/NAME... unless the stamp matches.
build_module() {
  local dir=$1 name=$2
  shift 2
  local want stampfile start
  want=$(stamp_of "$dir")
  stampfile="$bin/.stamp-$name"
  local all_there=1
  for pkg in "$@"; do
    [ -x "$bin/$(basename "$pkg")" ] || all_there=0
  done
  if [ "$all_there" = 1 ] && [ -f "$stampfile" ] && [ "$(cat "$stampfile")" = "$want" ]; then
    echo "build.sh: $name is up to date in $bin"
    return 0
  fi
  rm -f "$stampfile"
  for pkg in "$@"; do
    start=$(date +%s)
    (cd "$dir" && go build -trimpath -ldflags='-s -w' -o "$bin/$(basename "$pkg")" "$pkg")
    echo "build.sh: built $(basename "$pkg") in $(($(date +%s) - start)) s"
  done
  echo "$want" >"$stampfile"
}

total=$(date +%s)
build_module "$here" kubernetes \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler
build_module "$here/kwok" kwok sigs.k8s.io/kwok/cmd/kwok

# kwok's default stages (what makes nodes Ready with lease heartbeats and scheduled pods
# Running/Ready, and finishes pod deletion), taken from the pinned kwok module: the kwok
# binary runs no stage unless its configuration names them. start.sh passes this file.
kwok_src=$(cd "$here/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
stages="$kwok_src/kustomize/stage"
{
  for file in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    echo "---"
    cat "$stages/$file"
  done
} >"$bin/kwok-stages.yaml.tmp"
mv "$bin/kwok-stages.yaml.tmp" "$bin/kwok-stages.yaml"
echo "build.sh: done in $(($(date +%s) - total)) s; binaries in $bin"
