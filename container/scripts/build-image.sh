#!/usr/bin/env bash
# Build the image locally with podman (no Docker engine, no registry access):
#   bash container/scripts/build-image.sh [TAG] [CONTEXT_DIR] [-- EXTRA_PODMAN_BUILD_ARGS...]
#   (default TAG: localhost/jaxsm:cpu; default CONTEXT_DIR: container/, e.g. the local CodeBuild passes the
#   context it unpacked from S3. The wheels cache and the base image always come from this checkout. Arguments
#   after `--` go to `podman build` after ours: more -t tags, --label, --build-arg, --target, --no-cache; the
#   local CodeBuild's `docker build` shim passes the buildspec's own there.)
# Env: JAX_VARIANT (cpu), BASE_IMAGE (localhost/debian-python:bookworm-tini, built here if missing),
#      CA_BUNDLE (/etc/ssl/certs/ca-certificates.crt; mounted at build time, never baked in),
#      DOCKERFILE (Dockerfile; relative to CONTEXT_DIR unless absolute), IMAGE_LABELS ("k=v k2=v2", added with --label).
# Installs podman, runc and mmdebstrap with apt-get when missing (root, non-interactive).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
positional=()
while [[ $# -gt 0 && "$1" != "--" ]]; do positional+=("$1"); shift; done
[[ "${1:-}" == "--" ]] && shift
extra=("$@")
TAG="${positional[0]:-localhost/jaxsm:cpu}"
CONTEXT="$(cd "${positional[1]:-$HERE}" && pwd)"
DOCKERFILE="${DOCKERFILE:-Dockerfile}"
JAX_VARIANT="${JAX_VARIANT:-cpu}"
LOCAL_BASE=localhost/debian-python:bookworm-tini
BASE_IMAGE="${BASE_IMAGE:-$LOCAL_BASE}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
source "$HERE/scripts/podman-env.sh"

# The local base carries everything the Dockerfile would otherwise apt-get (Python with venv, tini as PID 1), so
# the image build downloads nothing.
if [[ "$BASE_IMAGE" == "$LOCAL_BASE" ]] && ! podman image exists "$BASE_IMAGE"; then
  echo "[image] building local base $BASE_IMAGE with mmdebstrap (once; cached in podman storage)"
  tmp="$(mktemp -d)"
  mmdebstrap --variant=minbase --include=python3,python3-venv,ca-certificates,tini bookworm "$tmp/base.tar" >/dev/null
  podman import "$tmp/base.tar" "$BASE_IMAGE" >/dev/null
  rm -rf "$tmp"
fi

# Prebuilt wheels for the lock file (built with this machine's pip and compiler; the local base
# has the same Python 3.11) so the image build needs neither a compiler nor many downloads.
WHEELS="$HERE/build/wheels"
want="$(cat "$HERE/requirements.lock" "$HERE/requirements-dev.lock" | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$WHEELS/.stamp" 2>/dev/null)" != "$want" ]]; then
  echo "[image] building wheels into $WHEELS"
  bash "$HERE/setup.sh" >/dev/null
  mkdir -p "$WHEELS"
  "$HERE/.venv/bin/python" -m pip wheel -q -w "$WHEELS" -r "$HERE/requirements.lock" setuptools==84.2.1 wheel==0.48.0
  echo "$want" > "$WHEELS/.stamp"
fi

mounts=(-v "$WHEELS:/wheels:ro")
args=(--build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "JAX_VARIANT=$JAX_VARIANT" --build-arg "PIP_FIND_LINKS=/wheels")
for label in ${IMAGE_LABELS:-}; do args+=(--label "$label"); done
if [[ -f "$CA_BUNDLE" ]]; then
  mounts+=(-v "$CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro")
  args+=(--build-arg "PIP_CERT=/etc/ssl/certs/ca-certificates.crt")
fi
echo "[image] podman build $TAG (JAX_VARIANT=$JAX_VARIANT, BASE_IMAGE=$BASE_IMAGE)"
[[ "$DOCKERFILE" == /* ]] || DOCKERFILE="$CONTEXT/$DOCKERFILE"
podman build --isolation chroot --network host "${mounts[@]}" "${args[@]}" -t "$TAG" -f "$DOCKERFILE" \
  ${extra[@]+"${extra[@]}"} "$CONTEXT"
echo "[image] built $TAG"
