#!/usr/bin/env bash
# Unpacks Google's standard .proto files (google/api, google/rpc, google/type) into
# .deps/googleapis from the PyPI wheel googleapis-common-protos. The repository holds only
# the protos the team wrote; these are a build dependency like any crate.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest="$root/.deps/googleapis"
[ -f "$dest/google/rpc/status.proto" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${FERRY_PYTHON:-python3}" -m pip download -q --no-deps --only-binary=:all: -d "$tmp" 'googleapis-common-protos==1.*'
mkdir -p "$dest"
( cd "$tmp" && python3 -m zipfile -e googleapis_common_protos-*.whl unpacked )
( cd "$tmp/unpacked" && find google -name '*.proto' -print0 | xargs -0 -I{} install -D -m 0644 {} "$dest/{}" )
echo "googleapis protos in $dest"
