#!/usr/bin/env bash
# Stops the control plane that deploy/dev/kube/start.sh started in DIR, by its pid files
# (kwok and the controllers first, the API server last), and waits for each to exit.
#
#   deploy/dev/kube/stop.sh DIR
set -uo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
for name in kwok kube-scheduler kube-controller-manager kube-apiserver; do
  pidfile="$dir/$name.pid"
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
done
