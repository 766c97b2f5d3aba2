#!/usr/bin/env bash
# `bash scripts/with-node.sh <command...>`: runs the command on the pinned Node (see scripts/node-env.sh). Every npm
# script goes through it, because npm runs scripts with the Node that runs npm (the system's, possibly too old).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"
exec "$@"
