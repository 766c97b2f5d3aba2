#!/bin/sh
# Image entrypoint. SageMaker runs `docker run <image> train` for training jobs and
# `docker run <image> serve` for endpoints and batch transform; Processing jobs usually set
# ContainerEntrypoint to ["prepare", ...]. Anything else is executed as given.
set -e
case "${1:-train}" in
  train|prepare)
    cmd="${1:-train}"; [ $# -gt 0 ] && shift
    exec "$cmd" "$@" ;;
  serve)
    shift
    # Serving shares the accelerator with nothing else, but grabbing 75% of GPU memory up
    # front (XLA's default) is wasteful for inference: allocate on demand.
    export XLA_PYTHON_CLIENT_PREALLOCATE="${XLA_PYTHON_CLIENT_PREALLOCATE:-false}"
    exec serve "$@" ;;
  *)
    exec "$@" ;;
esac
