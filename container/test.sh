#!/usr/bin/env bash
# Set up container/.venv (idempotent) and run the container's pytest suite, including the
# podman image test. Extra arguments go to pytest (e.g. `-m "not slow"`, `-k serving`).
# Exits non-zero on any failure; pytest's exit code 5 (no tests collected) is a failure too.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$HERE/setup.sh"
cd "$HERE"
set +e
"$HERE/.venv/bin/python" -m pytest "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  echo "[test] pytest collected no tests: failing" >&2
fi
exit $rc
