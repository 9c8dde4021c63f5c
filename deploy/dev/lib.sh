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

# Starts a private Docker engine (Debian docker.io) with all its state under $1 and its API
# on the unix socket $1/docker.sock; $2 (0-9, default 0) picks its address pool
# 10.2$2.0.0/16, so that several engines (one per host of a zone test) run side by side
# without overlapping networks. No default bridge (Ferry creates one network per
# namespace), no iptables rules (published ports go through docker-proxy on 127.0.0.1, and
# two engines would fight over the DOCKER chains), its own containerd namespace. Sets
# DOCKERD_PID and DOCKER_SOCKET (a unix:// URL). Waits until the API answers. Stop it with
# stop_dockerd DIR.
start_dockerd() {
  local dir=$1 pool=${2:-0}
  local name
  name=ferry$(basename "$dir" | tr -cd 'a-z0-9' | cut -c1-20)
  mkdir -p "$dir"
  setsid dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    -H "unix://$dir/docker.sock" --containerd-namespace "$name" --containerd-plugins-namespace "$name-plugins" \
    --bridge=none --iptables=false --ip-masq=false \
    --default-address-pool "base=10.2$pool.0.0/16,size=24" >"$dir/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  DOCKER_SOCKET="unix://$dir/docker.sock"
  for _ in $(seq 1 150); do
    if [ -S "$dir/docker.sock" ] && docker -H "$DOCKER_SOCKET" version >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "dockerd did not answer; see $dir/dockerd.log" >&2
  return 1
}

# Stops the engine started by start_dockerd in $1: removes its containers (and their
# docker-proxy processes), then ends dockerd (which ends its containerd) by its pid.
stop_dockerd() {
  local dir=$1 pid
  [ -f "$dir/dockerd.pid" ] || return 0
  pid=$(cat "$dir/dockerd.pid")
  kill -CONT "$pid" 2>/dev/null || true
  local ids
  ids=$(timeout 20 docker -H "unix://$dir/docker.sock" ps -aq 2>/dev/null || true)
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086
    timeout 60 docker -H "unix://$dir/docker.sock" rm -f $ids >/dev/null 2>&1 || true
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# Starts a private OCI registry (Debian docker-registry, distribution 2.8) on 127.0.0.1:$2
# with its storage in $1 (deletes enabled, no auth). The packaged config is not used: it
# turns on htpasswd auth and listens on every interface. Sets REGISTRY_PID and
# REGISTRY_ADDR (host:port). Waits until /v2/ answers. Docker engines treat 127.0.0.0/8
# registries as insecure by default, so they pull from it over plain HTTP.
start_registry() {
  local dir=$1 port=$2
  mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<CONF
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
CONF
  setsid docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  REGISTRY_PID=$!
  REGISTRY_ADDR="127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "registry did not answer; see $dir/registry.log" >&2
  return 1
}
