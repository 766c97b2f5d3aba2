#!/usr/bin/env bash
# Lint and type check the container's Python: ruff (format check + lint) and mypy, from container/.venv;
# ruff also checks examples/user-code and test/sdk.
# `--fix` formats and applies ruff's safe fixes instead of only checking.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$HERE/setup.sh" >/dev/null
cd "$HERE"
BIN="$HERE/.venv/bin"
# Python outside container/ with the same rules: the user-code example and the SDK e2e test.
OTHERS=("$HERE/../examples/user-code" "$HERE/../test/sdk")
if [[ "${1:-}" == "--fix" ]]; then
  "$BIN/ruff" format .
  "$BIN/ruff" check --fix .
  "$BIN/ruff" format --config "$HERE/pyproject.toml" "${OTHERS[@]}"
  "$BIN/ruff" check --fix --config "$HERE/pyproject.toml" "${OTHERS[@]}"
else
  "$BIN/ruff" format --check .
  "$BIN/ruff" check .
  "$BIN/ruff" format --check --config "$HERE/pyproject.toml" "${OTHERS[@]}"
  "$BIN/ruff" check --config "$HERE/pyproject.toml" "${OTHERS[@]}"
fi
"$BIN/mypy"
"$BIN/mypy" tests/user_handler/inference.py
