#!/usr/bin/env bash
# Starts a Kubernetes test control plane on loopback, from the binaries build.sh made:
# kube-apiserver (its own prefix on the given etcd, so it can share the tests' etcd),
# kube-controller-manager, kube-scheduler, and kwok with two simulated nodes, kwok-z1 and
# kwok-z2 (labels topology.kubernetes.io/region=r1 and zones z1 / z2), on which scheduled
# pods turn Running and Ready without running anything.
#
#   deploy/dev/kube/start.sh DIR ETCD_ENDPOINT      e.g. start.sh /tmp/kube 127.0.0.1:2379
#
# Writes DIR/kubeconfig (a token user in system:masters, the CA of the self-made serving
# certificate), DIR/*.pid and DIR/logs/; waits until the API is ready, the controllers and
# the scheduler answer their health checks and both nodes are Ready; prints the PIDs and
# how long it took. deploy/dev/kube/stop.sh DIR stops it. Binaries: $FERRY_KUBE_BIN or
# /var/tmp/ferry-kube/bin. The etcd prefix: $FERRY_KUBE_ETCD_PREFIX or
# /ferry-kube/<random>.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 DIR ETCD_ENDPOINT" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
dir=$(mkdir -p "$1" && cd "$1" && pwd)
etcd=$2
case "$etcd" in
  http://* | https://*) ;;
  *) etcd="http://$etcd" ;;
esac
bin=${FERRY_KUBE_BIN:-/var/tmp/ferry-kube/bin}
for binary in kube-apiserver kube-controller-manager kube-scheduler kwok; do
  if [ ! -x "$bin/$binary" ]; then
    echo "start.sh: $bin/$binary is missing; run deploy/dev/kube/build.sh first" >&2
    exit 1
  fi
done
started=$(date +%s%N)
# A failed start stops what it started.
trap 'status=$?; if [ $status -ne 0 ]; then "$here/stop.sh" "$dir"; fi' EXIT
pki="$dir/pki"
logs="$dir/logs"
mkdir -p "$pki" "$logs"

# Certificates and keys: a CA, the API server's serving certificate for 127.0.0.1, the
# service-account signing key pair, and a static admin token.
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=ferry-test-ca" \
  -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
  -keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,IP:10.96.0.1\nextendedKeyUsage=serverAuth\n' \
  >"$pki/apiserver.ext"
openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
  -days 30 -extfile "$pki/apiserver.ext" -out "$pki/apiserver.crt" 2>/dev/null
openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
token=$(openssl rand -hex 24)
echo "$token,ferry-admin,ferry-admin,\"system:masters\"" >"$pki/tokens.csv"
chmod 600 "$pki"/*.key "$pki/tokens.csv"

api_port=$(free_port)
cm_port=$(free_port)
sched_port=$(free_port)
server="https://127.0.0.1:$api_port"
cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ferry-test
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: ferry-admin
  user:
    token: $token
contexts:
- name: ferry-test
  context:
    cluster: ferry-test
    user: ferry-admin
current-context: ferry-test
EOF
chmod 600 "$dir/kubeconfig"
kubeconfig="$dir/kubeconfig"

# start NAME ARGS...: runs $bin/NAME in its own session, logs to $logs/NAME.log.
start() {
  local name=$1
  shift
  setsid "$bin/$name" "$@" >"$logs/$name.log" 2>&1 &
  echo $! >"$dir/$name.pid"
}

# wait_for WHAT SECONDS COMMAND...: retries COMMAND every 0.2 s; fails early when one of
# the started processes died (with the end of its log).
wait_for() {
  local what=$1 seconds=$2
  shift 2
  local deadline=$(($(date +%s) + seconds))
  until "$@" >/dev/null 2>&1; do
    for pidfile in "$dir"/*.pid; do
      [ -f "$pidfile" ] || continue
      if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        local name
        name=$(basename "$pidfile" .pid)
        echo "start.sh: $name exited while waiting for $what; the end of $logs/$name.log:" >&2
        tail -5 "$logs/$name.log" >&2
        exit 1
      fi
    done
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "start.sh: $what not ready after ${seconds}s; logs in $logs" >&2
      exit 1
    fi
    sleep 0.2
  done
}

api() {
  curl -sf --cacert "$pki/ca.crt" -H "Authorization: Bearer $token" "$@"
}

# Loopback advertise address: no endpoint reconciler (it refuses loopback addresses).
# WatchList=false: on an etcd without watch progress requests (Debian's 3.4.23) the API
# server accepts streaming watch lists and then ends them with an error, and kwok's
# client-go would keep asking for them, blind for tens of seconds at a time (pods not made
# Running, node lease conflicts). Refused up front, clients use list and watch.
prefix=${FERRY_KUBE_ETCD_PREFIX:-/ferry-kube/$(openssl rand -hex 4)}
start kube-apiserver \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
  --etcd-servers="$etcd" --etcd-prefix="$prefix" \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --token-auth-file="$pki/tokens.csv" --authorization-mode=RBAC \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range=10.96.0.0/16 --allow-privileged=true --profiling=false \
  --endpoint-reconciler-type=none --feature-gates=WatchList=false
wait_for kube-apiserver 90 api "$server/readyz"

start kube-controller-manager \
  --kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" \
  --authorization-kubeconfig="$kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="$cm_port" --leader-elect=false \
  --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
  --use-service-account-credentials=false --profiling=false
start kube-scheduler \
  --kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" \
  --authorization-kubeconfig="$kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="$sched_port" --leader-elect=false
# kwok manages only the nodes annotated as fake; its pod IPs come from a private range that
# nothing routes (no traffic goes there: kwok only writes status).
start kwok \
  --kubeconfig="$kubeconfig" --config="$bin/kwok-stages.yaml" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --node-lease-duration-seconds=40 --node-ip=127.0.0.1 --cidr=10.244.0.0/16

for zone in z1 z2; do
  node=$(cat <<EOF
{"apiVersion":"v1","kind":"Node","metadata":{"name":"kwok-$zone",
 "annotations":{"kwok.x-k8s.io/node":"fake","node.alpha.kubernetes.io/ttl":"0"},
 "labels":{"type":"kwok","kubernetes.io/hostname":"kwok-$zone","kubernetes.io/os":"linux",
  "kubernetes.io/arch":"amd64","topology.kubernetes.io/region":"r1","topology.kubernetes.io/zone":"$zone"}},
 "status":{"allocatable":{"cpu":"16","memory":"64Gi","pods":"110"},
  "capacity":{"cpu":"16","memory":"64Gi","pods":"110"}}}
EOF
)
  api -X POST -H 'Content-Type: application/json' -d "$node" "$server/api/v1/nodes" >/dev/null
done

wait_for kube-controller-manager 60 curl -skf "https://127.0.0.1:$cm_port/healthz"
wait_for kube-scheduler 60 curl -skf "https://127.0.0.1:$sched_port/healthz"
nodes_ready() {
  api "$server/api/v1/nodes" | python3 -c '
import json, sys
nodes = json.load(sys.stdin)["items"]
# Ready, and untainted by the node lifecycle controller (it taints new nodes not-ready
# until it has seen them Ready; the scheduler keeps pods off them until then).
blocking = {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}
ready = [n for n in nodes
         if any(c["type"] == "Ready" and c["status"] == "True"
                for c in n.get("status", {}).get("conditions", []))
         and not any(t["key"] in blocking for t in n.get("spec", {}).get("taints", []))]
sys.exit(0 if len(ready) >= 2 else 1)'
}
wait_for "kwok nodes" 60 nodes_ready
# The default service account of "default" shows the controllers (and their token
# publisher) work; pods need their namespace's one before they can be created.
wait_for "default service account" 60 api "$server/api/v1/namespaces/default/serviceaccounts/default"

echo "$server" >"$dir/server"
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
echo "start.sh: control plane ready in $((elapsed_ms / 1000)).$((elapsed_ms % 1000 / 100)) s at $server (etcd $etcd, prefix $prefix)"
for name in kube-apiserver kube-controller-manager kube-scheduler kwok; do
  echo "start.sh: $name pid $(cat "$dir/$name.pid")"
done
echo "start.sh: export FERRY_TEST_KUBECONFIG=$dir/kubeconfig"
