# Kubernetes test control plane for a test run (sourced, not run). deploy/dev/test.sh and
# .ci/run source it after starting the tests' etcd:
#
#   . deploy/dev/kube/for-tests.sh
#   kube_test_start "$work/kube" "$FERRY_ETCD_ENDPOINTS"   # builds if needed, starts, exports FERRY_TEST_KUBECONFIG
#   ...
#   kube_test_stop                                         # in the cleanup trap, before etcd stops
#
# The binaries are built once per pinned version into $FERRY_KUBE_BIN
# (default /var/tmp/ferry-kube/bin); a cold build takes 10 to 20 minutes on 2 cores.

kube_test_dir=

# kube_test_start DIR ETCD_ENDPOINT: builds (if needed) and starts the control plane in
# DIR on the given etcd, and exports FERRY_TEST_KUBECONFIG.
kube_test_start() {
  local here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  kube_test_dir=$1
  "$here/build.sh"
  "$here/start.sh" "$1" "$2"
  export FERRY_TEST_KUBECONFIG="$1/kubeconfig"
}

# kube_test_stop: stops what kube_test_start started (no-op if it did not start).
kube_test_stop() {
  if [ -n "$kube_test_dir" ]; then
    "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/stop.sh" "$kube_test_dir"
    kube_test_dir=
  fi
}
