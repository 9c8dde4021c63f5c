# Shared helpers of the dev scripts (sourced, not run).

# Prints a free loopback TCP port.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Starts a single-member etcd on loopback in $1 (data dir), client port $2, peer port $3.
# Sets ETCD_PID. Waits until it answers. etcd runs in its own session, so a Ctrl-C on the
# terminal reaches the services first and etcd outlives them (they revoke their leases
# on the way out); the caller stops it last.
start_etcd() {
  local dir=$1 client=$2 peer=$3
  mkdir -p "$dir"
  setsid etcd --name ferry --data-dir "$dir/data" \
    --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "ferry=http://127.0.0.1:$peer" >"$dir/etcd.log" 2>&1 &
  ETCD_PID=$!
  for _ in $(seq 1 100); do
    if ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$client" endpoint health >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "etcd did not become healthy; see $dir/etcd.log" >&2
  return 1
}
