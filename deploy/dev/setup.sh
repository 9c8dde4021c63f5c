#!/usr/bin/env bash
# Installs what building and testing Ferry needs on a Debian 12 machine, idempotently:
# Debian packages (etcd, protoc, the Docker engine), a Python virtual environment with buf,
# and Google's standard .proto files. Safe to run again; fast when everything is present.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${FERRY_VENV:-/opt/ferry-venv}

need_apt=()
command -v etcd >/dev/null || need_apt+=(etcd-server)
command -v etcdctl >/dev/null || need_apt+=(etcd-client)
command -v protoc >/dev/null || need_apt+=(protobuf-compiler)
command -v dockerd >/dev/null || need_apt+=(docker.io)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v curl >/dev/null || need_apt+=(curl)
command -v ip >/dev/null || need_apt+=(iproute2)
# Routing (issue 5): HAProxy is the peer proxy the data plane is benchmarked against.
command -v haproxy >/dev/null || need_apt+=(haproxy)
# Build (issue 6): git sources, the OCI registry, and busybox for the test builder image.
command -v git >/dev/null || need_apt+=(git)
command -v docker-registry >/dev/null || need_apt+=(docker-registry)
[ -x /bin/busybox ] || need_apt+=(busybox-static)
[ -f /usr/include/google/protobuf/any.proto ] || need_apt+=(libprotobuf-dev)
command -v python3 >/dev/null || need_apt+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo (Rust stable) is required; install it with rustup" >&2
  exit 1
fi

if [ ! -x "$venv/bin/buf" ]; then
  echo "setup: creating $venv with buf"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'buf-bin==1.*'
fi
# The SDK generator and the Python SDK's tests (deploy/dev/sdk.sh, tests/tests/sdk.rs).
"$venv/bin/pip" install -q -r "$root/crates/sdk/python/requirements.txt"

FERRY_PYTHON="$venv/bin/python" "$root/deploy/dev/fetch-protos.sh"
