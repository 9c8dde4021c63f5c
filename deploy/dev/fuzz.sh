#!/usr/bin/env bash
# Runs the gateway's transcoding fuzz target (gateway/fuzz, cargo-fuzz with libFuzzer) for a
# bounded time: `deploy/dev/fuzz.sh [SECONDS]` (default 60). Installs what it needs once: a
# minimal nightly toolchain (sanitizers need it) and cargo-fuzz. Builds into its own target
# dir (sanitizer flags differ from the stable build's), reused across runs. A crash leaves
# its input under gateway/fuzz/artifacts/ and fails the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-60}

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz: installing a minimal nightly toolchain"
  rustup toolchain install nightly --profile minimal >/dev/null
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install --locked cargo-fuzz >/dev/null
fi

export CARGO_TARGET_DIR=${FERRY_FUZZ_TARGET_DIR:-/var/tmp/ferry-fuzz-target}
export CARGO_INCREMENTAL=0
cd "$root/gateway"
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
# Seeds: a few well-formed requests, so the fuzzer starts inside the API's routes.
printf '\x00/v1/namespaces/dev\xff\xff' >"$corpus/get"
printf '\x01/v1/namespaces\xffnamespaceId=dev\xff{"displayName":"Dev"}' >"$corpus/create"
printf '\x02/v1/namespaces/dev/deployments/web\xffupdateMask=replicas\xff{"replicas":3}' >"$corpus/patch"
echo "fuzz: transcode for ${seconds}s"
cargo +nightly fuzz run transcode "$corpus" -- -max_total_time="$seconds" -rss_limit_mb=2048
