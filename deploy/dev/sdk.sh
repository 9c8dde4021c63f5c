#!/usr/bin/env bash
# Generates Ferry's client SDKs from proto/ and checks that the committed ones match.
#
#   deploy/dev/sdk.sh generate   rewrites the generated code of crates/sdk/python,
#                                crates/sdk/go and crates/sdk/typescript from proto/
#                                (hand-written files stay)
#   deploy/dev/sdk.sh check      generates into a temporary folder and fails, printing the
#                                diff, when the committed SDKs differ from it (CI's drift check)
#   deploy/dev/sdk.sh install-typescript
#                                only installs crates/sdk/typescript/node_modules when it is
#                                missing or stale (tests/tests/sdk.rs calls it before npm test)
#
# Python: grpcio-tools (pinned in crates/sdk/python/requirements.txt, installed into the
# venv by deploy/dev/setup.sh) writes ferry/<area>/v1/*_pb2*.py(i) and the google/api +
# google/rpc modules they import (a namespace package: no google/__init__.py, which would
# hide google.protobuf). Go: the same protoc (grpc_tools.protoc) with protoc-gen-go and
# protoc-gen-go-grpc at the versions pinned below writes ferry/<area>/v1/*.pb.go (module ferry.dev/sdk/go); the
# google protos come from the genproto modules named in crates/sdk/go/go.mod.
# TypeScript: the same protoc with ts-proto (pinned, like its runtime @grpc/grpc-js, in
# crates/sdk/typescript/package.json and package-lock.json; `npm ci` installs them into
# crates/sdk/typescript/node_modules when that is missing or from another lock file)
# writes src/gen/{ferry,google}/**/*.ts, google/protobuf's well-known types included (the
# copies that ship with grpcio-tools). The options are in ts_proto_opt below: grpc-js
# service clients, `create`/`fromPartial` taking plain partial objects (no Exact types),
# and `$type` (the message's full name) on each message's constant only, which the
# hand-written src/client.ts uses to unpack google.protobuf.Any. The headers name
# ts-proto's and protoc's versions, both pinned, and nothing else that changes.
set -euo pipefail
export LC_ALL=C
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
venv=${FERRY_VENV:-/opt/ferry-venv}
go=${FERRY_GO:-$(command -v go || echo /usr/local/go/bin/go)}
googleapis=$root/.deps/googleapis
protoc_gen_go=google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
protoc_gen_go_grpc=google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
go_module=ferry.dev/sdk/go
ts=crates/sdk/typescript
npm=${FERRY_NPM:-npm}
ts_proto_opt=esModuleInterop=true,outputServices=grpc-js,useExactTypes=false,outputTypeAnnotations=static-only

usage() {
  echo "usage: $0 generate|check|install-typescript" >&2
  exit 2
}
[ $# -eq 1 ] || usage

command -v node >/dev/null && command -v "$npm" >/dev/null || {
  echo "sdk: node or npm is missing (Node.js 20 with npm on PATH, or FERRY_NPM)" >&2
  exit 1
}

# ts-proto and the packages it runs with, exactly as package-lock.json pins them. npm ci
# starts from an empty node_modules, so the copy of the lock file left there says which
# lock file it installed.
ts_install() {
  local stamp=$ts/node_modules/.ferry-package-lock.json
  cmp -s "$ts/package-lock.json" "$stamp" 2>/dev/null && return
  (cd "$ts" && "$npm" ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$ts/package-lock.json" "$stamp"
}
if [ "$1" = install-typescript ]; then
  ts_install
  exit 0
fi

[ -f "$googleapis/google/rpc/status.proto" ] || FERRY_PYTHON="$venv/bin/python" deploy/dev/fetch-protos.sh
# The generated code names the generator's versions: only the pinned one gives the
# committed output.
want=$(sed -n 's/^grpcio-tools==//p' crates/sdk/python/requirements.txt)
have=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("grpcio-tools"))' 2>/dev/null || true)
if [ "$have" != "$want" ]; then
  echo "sdk: $venv has grpcio-tools ${have:-(none)}, crates/sdk/python/requirements.txt pins $want: run deploy/dev/setup.sh" >&2
  exit 1
fi
[ -x "$go" ] || {
  echo "sdk: go is missing (set FERRY_GO or put go on PATH)" >&2
  exit 1
}
# The google/api and google/rpc files that Ferry's protos import, directly or not.
google_deps() {
  local pending seen=() file dep
  mapfile -t pending < <(grep -ho '^import "google/\(api\|rpc\)/[^"]*"' "$@" | cut -d'"' -f2 | sort -u)
  while [ ${#pending[@]} -gt 0 ]; do
    file=${pending[0]}
    pending=("${pending[@]:1}")
    [[ " ${seen[*]} " == *" $file "* ]] && continue
    seen+=("$file")
    while read -r dep; do
      pending+=("$dep")
    done < <(grep -ho '^import "google/\(api\|rpc\)/[^"]*"' "$googleapis/$file" | cut -d'"' -f2)
  done
  printf '%s\n' "${seen[@]}" | sort
}

# Writes the generated SDK code into $1/python, $1/go and $1/typescript.
generate_into() {
  local out=$1 bin=$1/bin
  local -a ferry_protos google_protos
  mapfile -t ferry_protos < <(cd proto && find ferry -name "*.proto" | sort)
  mapfile -t google_protos < <(cd proto && google_deps "${ferry_protos[@]}")
  mkdir -p "$out/python" "$out/go" "$out/typescript" "$bin"

  # Python. grpc_tools.protoc adds its own copy of the well-known types to the path.
  "$venv/bin/python" -m grpc_tools.protoc -I proto -I "$googleapis" \
    --python_out="$out/python" --pyi_out="$out/python" --grpc_python_out="$out/python" \
    "${ferry_protos[@]}"
  "$venv/bin/python" -m grpc_tools.protoc -I "$googleapis" \
    --python_out="$out/python" --pyi_out="$out/python" "${google_protos[@]}"
  # Regular packages for ferry.<area>.v1 (ferry/__init__.py is hand-written); google
  # stays a namespace package so that google.protobuf is still found.
  find "$out/python/ferry" -mindepth 1 -type d -exec touch {}/__init__.py \;

  # Go.
  GOBIN=$(cd "$bin" && pwd) "$go" install "$protoc_gen_go"
  GOBIN=$(cd "$bin" && pwd) "$go" install "$protoc_gen_go_grpc"
  "$venv/bin/python" -m grpc_tools.protoc -I proto -I "$googleapis" \
    --plugin=protoc-gen-go="$bin/protoc-gen-go" --plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
    --go_out="$out/go" --go_opt=module="$go_module" \
    --go-grpc_out="$out/go" --go-grpc_opt=module="$go_module" \
    "${ferry_protos[@]}"

  # TypeScript. ts-proto also writes the files that those import (google/protobuf).
  ts_install
  "$venv/bin/python" -m grpc_tools.protoc -I proto -I "$googleapis" \
    --plugin=protoc-gen-ts_proto="$root/$ts/node_modules/.bin/protoc-gen-ts_proto" \
    --ts_proto_out="$out/typescript" --ts_proto_opt="$ts_proto_opt" \
    "${ferry_protos[@]}" "${google_protos[@]}"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
generate_into "$tmp"

sdk=crates/sdk
case $1 in
  generate)
    rm -rf "$sdk/python/google" "$sdk/go/ferry" "$ts/src/gen"
    find "$sdk/python/ferry" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
    cp -r "$tmp/python/google" "$sdk/python/"
    cp -r "$tmp/python/ferry/." "$sdk/python/ferry/"
    cp -r "$tmp/go/ferry" "$sdk/go/"
    mkdir -p "$ts/src"
    cp -r "$tmp/typescript" "$ts/src/gen"
    echo "sdk: generated $sdk/python, $sdk/go and $ts from proto/"
    ;;
  check)
    # The hand-written files of the python package are no generated output: compare them
    # with themselves.
    for file in "$sdk"/python/ferry/*; do
      [ -f "$file" ] && cp "$file" "$tmp/python/ferry/"
    done
    status=0
    diff -ru -x __pycache__ "$sdk/python/ferry" "$tmp/python/ferry" || status=1
    diff -ru -x __pycache__ "$sdk/python/google" "$tmp/python/google" || status=1
    diff -ru "$sdk/go/ferry" "$tmp/go/ferry" || status=1
    diff -ru "$ts/src/gen" "$tmp/typescript" || status=1
    if [ $status -ne 0 ]; then
      echo "sdk: the committed SDKs differ from what proto/ generates: run deploy/dev/sdk.sh generate" >&2
      exit 1
    fi
    echo "sdk: the committed SDKs match proto/"
    ;;
  *) usage ;;
esac
