#!/usr/bin/env bash
# The serving bench's anchor: AWS's sagemaker-inference toolkit on Multi Model Server, in its
# own venv (bench/.venvs/mms, gitignored) with the same JAX stack and jaxsm (for the handler).
# Needs Java (17 works). Idempotent.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
V="$ROOT/bench/.venvs/mms"
[[ -x "$V/bin/python" ]] || python3 -m venv "$V"
# Not the container's full lock: sagemaker-inference 1.10 needs retrying<1.4 (the lock has 1.4.2).
grep -E '^(jax|jaxlib|flax|optax|orbax-checkpoint|numpy|ml_dtypes)==' "$ROOT/container/requirements.lock" > "$V/pins.txt"
"$V/bin/pip" install -q -r "$V/pins.txt" "multi-model-server==1.1.11" "sagemaker-inference==1.10.1" \
  setuptools==84.2.1 wheel==0.48.0
"$V/bin/pip" install -q --no-deps --no-build-isolation -e "$ROOT/container"
command -v java >/dev/null || { echo "Java is required by Multi Model Server" >&2; exit 1; }
echo "[bench] $V ready"
