#!/usr/bin/env bash
# `npm run worker:image [-- TAG]`: builds the worker image (deploy/worker.Dockerfile) with podman, as the training
# image is built (container/scripts/build-image.sh: chroot isolation, a local Debian base made with mmdebstrap, since
# nothing can be pulled). Tags TAG (default localhost/jaxsm-worker:<build ID>) and localhost/jaxsm-worker:latest.
# Env: BASE_IMAGE (localhost/debian-node-base:bookworm-tini, built here if missing).
# Prints `image=<tag>` and `build_id=<id>` last.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source scripts/node-env.sh
source container/scripts/podman-env.sh
LOCAL_BASE=localhost/debian-node-base:bookworm-tini
BASE_IMAGE=${BASE_IMAGE:-$LOCAL_BASE}

# Node's official binary needs only glibc, libstdc++ and libgcc (all in minbase); tini is PID 1; ca-certificates
# for NODE_EXTRA_CA_CERTS / --use-system-ca behind a corporate proxy.
if [[ $BASE_IMAGE == "$LOCAL_BASE" ]] && ! podman image exists "$BASE_IMAGE"; then
  echo "[worker-image] building local base $BASE_IMAGE with mmdebstrap (once; cached in podman storage)"
  tmp=$(mktemp -d)
  mmdebstrap --variant=minbase --include=ca-certificates,tini bookworm "$tmp/base.tar" >/dev/null
  podman import "$tmp/base.tar" "$BASE_IMAGE" >/dev/null
  rm -rf "$tmp"
fi

staged=$(node_modules/.bin/tsx scripts/worker-image/stage-context.ts)
build_id=$(sed -n 's/^build_id=//p' <<<"$staged")
context=$(sed -n 's/^context=//p' <<<"$staged")
tag=${1:-localhost/jaxsm-worker:$build_id}
echo "[worker-image] podman build $tag (build ID $build_id)"
# Docker format: the OCI format has no HEALTHCHECK.
podman build --isolation chroot --format docker --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "BUILD_ID=$build_id" \
  -t "$tag" -t localhost/jaxsm-worker:latest -f deploy/worker.Dockerfile "$context"
echo "image=$tag"
echo "build_id=$build_id"
