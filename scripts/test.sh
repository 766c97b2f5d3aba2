#!/usr/bin/env bash
# `npm test`: every check the project has, in order of speed. Runs all stages even when one fails,
# then prints one summary line and exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
# Every stage runs on the pinned Node (.nvmrc), whichever Node started `npm test`.
source scripts/node-env.sh || exit 1
results=.test-results
rm -rf "$results" && mkdir -p "$results"
failed_stages=()
stage() {
  local name=$1; shift
  printf '\n=== %s ===\n' "$name"
  local start=$SECONDS
  if "$@"; then
    printf '=== %s: ok (%ss) ===\n' "$name" $((SECONDS - start))
  else
    printf '=== %s: FAILED (%ss) ===\n' "$name" $((SECONDS - start))
    failed_stages+=("$name")
  fi
}

stage "lint (eslint)" npx eslint .
stage "format (prettier --check)" npx prettier --check --log-level warn "**/*.{ts,js,mjs,cjs}"
stage "licences (production dependencies)" npx tsx scripts/check-licences.ts
stage "container lint (ruff, mypy)" bash container/lint.sh
stage "type check (tsc --noEmit)" npx tsc --noEmit
stage "infrastructure (cdk synth + cdk-nag, cfn-lint)" bash scripts/check-infra.sh
for layer in unit conformance workflows replay e2e; do
  stage "jest $layer" npx jest --selectProjects "$layer" --json --outputFile="$results/jest-$layer.json"
done
stage "container (pytest)" bash container/test.sh -q --junitxml="$PWD/$results/pytest.xml"
# The seed's client code (SageMaker Python SDK v2, its own venv) against a local stack of its own.
stage "sdk e2e (pytest)" env SAGEMAKER_SUPPRESS_V2_WARNING=1 test/sdk/.venv/bin/python -m pytest test/sdk -q -p no:cacheprovider \
  --junitxml="$PWD/$results/pytest-sdk.xml"

node scripts/summarize-tests.js "$results" "${failed_stages[@]}"
[[ ${#failed_stages[@]} -eq 0 ]]
