#!/usr/bin/env bash
# Runs the end-to-end tests (e2e/tests/operator.rs, e2e/tests/journey.rs) against a Kubernetes
# API server.
#
#   e2e/run.sh                  # starts a local API server (../shared/k8s/kapilite.sh, or $KAPILITE), stops it at exit
#   KUBECONFIG=~/.kube/kind e2e/run.sh   # uses that cluster instead (kind, k3d, ...)
#   e2e/run.sh <test name>      # extra arguments go to the test binary
#
# Needs kubectl on PATH; helm is taken from PATH or from kapilite.sh. The operator binary is
# built here and started by the tests as a process (KRATOS_OPERATOR_BIN), one per test namespace.
set -euo pipefail

root=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
cd "$root"
# ../shared/k8s beside the repository; from a git worktree, beside the main checkout.
kapilite=${KAPILITE:-$root/../shared/k8s/kapilite.sh}
if [ ! -x "$kapilite" ]; then
  main_checkout=$(dirname "$(git rev-parse --path-format=absolute --git-common-dir)")
  kapilite="$main_checkout/../shared/k8s/kapilite.sh"
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}

command -v kubectl >/dev/null || { echo "e2e/run.sh: kubectl is not on PATH" >&2; exit 1; }

if [ -z "${KUBECONFIG:-}" ]; then
  [ -x "$kapilite" ] || { echo "e2e/run.sh: no KUBECONFIG and no $kapilite" >&2; exit 1; }
  # Ports of our own, so other local API servers (other engineers, other suites) do not collide.
  export KAPI_PORT=${KAPI_PORT:-16443} KAPI_ETCD_PORT=${KAPI_ETCD_PORT:-12379}
  trap '"$kapilite" stop' EXIT
  eval "$("$kapilite" start)"
  # A fresh API server: the tests may assert what happens before the CRDs exist.
  export E2E_FRESH_CLUSTER=1
  echo "e2e/run.sh: started a local API server on port $KAPI_PORT ($KUBECONFIG)"
else
  echo "e2e/run.sh: using the cluster of KUBECONFIG=$KUBECONFIG"
fi
if ! command -v helm >/dev/null; then
  eval "$("$kapilite" path)"
fi

cargo build -p kratos-operator --bin kratos-operator -p kratos-server --bin kratos
export KRATOS_OPERATOR_BIN="$CARGO_TARGET_DIR/debug/kratos-operator"
export KRATOS_SERVER_BIN="$CARGO_TARGET_DIR/debug/kratos"
# Tests use separate namespaces and operators; two at a time keeps a 2-core machine responsive.
cargo test -p kratos-e2e --test operator -- --test-threads="${E2E_TEST_THREADS:-2}" "$@"
# The journey: chart, operator, two server replicas and a courier worker against PostgreSQL, a
# user acting through the official TypeScript SDK (its locked dependencies installed here),
# schema changes through the cluster, an API server restart (needs the local API server above).
command -v node >/dev/null || { echo "e2e/run.sh: node is not on PATH (the journey's user acts through the TypeScript SDK)" >&2; exit 1; }
(cd e2e/sdk-js && npm ci --no-audit --no-fund --prefer-offline >/dev/null)
cargo test -p kratos-e2e --test journey -- --nocapture "$@"
