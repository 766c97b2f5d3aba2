#!/usr/bin/env bash
# Build the GPU image (JAX_VARIANT=cuda12) here with podman, on the local Debian base, and check it:
#   bash container/scripts/build-cuda-image.sh [TAG]        (default TAG: localhost/jaxsm:cuda12)
#   npm run container:build:cuda12 [-- TAG]
# What CodeBuild builds from the same Dockerfile, except the EFA installer: it is downloaded from
# efa-installer.amazonaws.com, which this machine cannot reach, so INSTALL_EFA defaults to `no` here (set
# INSTALL_EFA=auto to install it where that host is reachable). The CUDA stack is NVIDIA's wheels from
# requirements-cuda.lock only (the base has none; the driver comes from the host at run time), downloaded from PyPI
# by the build and checked against the lock's hashes, as in CodeBuild.
# Several GB on the first run, so this is not part of `npm test` (the cheap checks of the Dockerfile's variants and
# of the lock are: tests/test_dockerfile.py). The Dockerfile itself runs `pip check` and imports JAX's CUDA plugin;
# this script then checks the built image has exactly one CUDA runtime and prints its size.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TAG="${1:-localhost/jaxsm:cuda12}"
INSTALL_EFA="${INSTALL_EFA:-no}"

JAX_VARIANT=cuda12 bash "$HERE/scripts/build-image.sh" "$TAG" -- --build-arg "INSTALL_EFA=$INSTALL_EFA"

source "$HERE/scripts/podman-env.sh"
# One CUDA stack: every CUDA runtime library in the image is the one NVIDIA's wheel brought.
runtimes="$(podman run --rm --runtime runc --entrypoint sh "$TAG" -c \
  "find / -xdev -name 'libcudart.so*' -not -path '/proc/*' 2>/dev/null")"
echo "[cuda-image] CUDA runtime libraries in the image:"
echo "${runtimes:-  (none)}" | sed 's/^/  /'
if [[ "$(echo "$runtimes" | grep -c .)" -ne 1 || "$runtimes" != */site-packages/nvidia/cuda_runtime/* ]]; then
  echo "[cuda-image] ERROR: expected exactly one libcudart, from the nvidia-cuda-runtime-cu12 wheel" >&2
  exit 1
fi
podman run --rm --runtime runc --entrypoint python "$TAG" -c \
  "import importlib.metadata as m; print('[cuda-image] jax', m.version('jax'), 'jax-cuda12-plugin', m.version('jax-cuda12-plugin'), 'nvidia-cudnn-cu12', m.version('nvidia-cudnn-cu12'), 'nvidia-nccl-cu12', m.version('nvidia-nccl-cu12'))"
bytes="$(podman image inspect --format '{{.Size}}' "$TAG")"
echo "[cuda-image] built $TAG: $(numfmt --to=iec-i --suffix=B "$bytes") ($bytes bytes, uncompressed; INSTALL_EFA=$INSTALL_EFA)"
