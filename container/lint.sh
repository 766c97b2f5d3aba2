#!/usr/bin/env bash
# Lint and type check the container's Python: ruff (format check + lint) and mypy, from container/.venv.
# `--fix` formats and applies ruff's safe fixes instead of only checking.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$HERE/setup.sh" >/dev/null
cd "$HERE"
BIN="$HERE/.venv/bin"
if [[ "${1:-}" == "--fix" ]]; then
  "$BIN/ruff" format .
  "$BIN/ruff" check --fix .
else
  "$BIN/ruff" format --check .
  "$BIN/ruff" check .
fi
"$BIN/mypy"
"$BIN/mypy" tests/user_handler/inference.py
