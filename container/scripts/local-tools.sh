#!/usr/bin/env bash
# What local mode's `container` executor and podman builds need, installed once (root, apt-get) when missing:
# podman, runc, mmdebstrap (through podman-env.sh, which also writes the containers.conf podman must use) and
# Debian's docker-registry (the local OCI registry standing in for ECR). Safe to run any number of times.
#   bash container/scripts/local-tools.sh      (prints CONTAINERS_CONF=<path> last)
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/podman-env.sh"
if ! command -v docker-registry >/dev/null; then
  if [[ "$(id -u)" != 0 ]]; then
    echo "docker-registry is not installed and this is not root: apt-get install docker-registry" >&2
    exit 1
  fi
  echo "[local] installing docker-registry with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
fi
# The package may start its own service on :5000; the stack runs its own registry and never uses that one.
podman --version >/dev/null
echo "CONTAINERS_CONF=$CONTAINERS_CONF"
