#!/usr/bin/env bash
# Create or update container/.venv with the pinned dependencies, the jaxsm package (editable)
# and pytest. Idempotent: a stamp holding the hash of the lock files (and pyproject) makes a
# second run a no-op that takes well under a second.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PY="${PYTHON:-python3}"
STAMP="$VENV/.jaxsm-setup-stamp"

hash_inputs() {
  cat "$HERE/requirements.lock" "$HERE/requirements-dev.lock" "$HERE/pyproject.toml" | sha256sum | cut -d' ' -f1
}
WANT="$(hash_inputs)"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$VENV/bin/train" ]] \
   && grep -q "jaxsm" "$VENV/bin/train"; then
  echo "[setup] container/.venv is up to date ($WANT)"
  exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "[setup] creating venv $VENV"
  "$PY" -m venv "$VENV"
fi
echo "[setup] installing pinned dependencies (requirements.lock, requirements-dev.lock)"
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q \
  -r "$HERE/requirements.lock" -r "$HERE/requirements-dev.lock"
echo "[setup] installing jaxsm (editable)"
# --no-deps: the locks already pinned everything; --force-reinstall so our `train` console
# script replaces sagemaker-training's script of the same name.
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q \
  --no-deps --force-reinstall --no-build-isolation -e "$HERE"
if ! grep -q "jaxsm" "$VENV/bin/train"; then
  echo "[setup] ERROR: $VENV/bin/train is not the jaxsm entry point" >&2
  exit 1
fi
"$VENV/bin/python" -m pip check >/dev/null || { "$VENV/bin/python" -m pip check; exit 1; }
echo "$WANT" > "$STAMP"
echo "[setup] done: $VENV (train, serve, prepare on $VENV/bin)"
