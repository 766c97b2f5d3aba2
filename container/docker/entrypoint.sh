#!/bin/sh
# Image entrypoint, started by tini (PID 1). SageMaker runs `docker run <image> train` for training jobs and
# `docker run <image> serve` for endpoints and batch transform; Processing jobs usually set ContainerEntrypoint to
# ["prepare", ...]. Anything else is executed as given.
#
# `train` runs as a child of this script, which stays to pass SIGTERM/SIGINT on at once and to make sure a stopped
# job says why: a trainer that has installed its handler checkpoints and writes its own reason; one that dies of
# the signal before it could (importing, joining the other hosts in jax.distributed, loading data, compiling) gets
# its failure reason written here, because SageMaker would show nothing else. JAXSM_STOP_GRACE_S (default 110 s,
# inside SageMaker's 120 s between SIGTERM and SIGKILL) bounds how long a trainer may take to stop.

supervise_train() {
  failure="${SAGEMAKER_BASE_DIR:-/opt/ml}/output/failure"
  grace="${JAXSM_STOP_GRACE_S:-110}"
  stop_signal=""
  timer=""
  train "$@" &
  child=$!
  forward() {
    if [ -z "$stop_signal" ]; then
      stop_signal=$1
      (
        sleep "$grace" &
        nap=$!
        trap 'kill "$nap" 2>/dev/null; exit 0' TERM
        wait "$nap" && kill -KILL "$child" 2>/dev/null
      ) &
      timer=$!
    fi
    kill "-$1" "$child" 2>/dev/null
  }
  trap 'forward TERM' TERM
  trap 'forward INT' INT
  # A trapped signal interrupts `wait`; the child is reaped (kill -0 fails) only once it really exited.
  while :; do
    wait "$child"
    status=$?
    kill -0 "$child" 2>/dev/null || break
  done
  [ -n "$timer" ] && kill "$timer" 2>/dev/null
  if [ "$status" -gt 128 ] && [ ! -s "$failure" ]; then
    sig="$(kill -l "$((status - 128))" 2>/dev/null || echo "$((status - 128))")"
    if [ -n "$stop_signal" ] && [ "$sig" = KILL ]; then
      reason="training did not stop within ${grace} s of SIG${stop_signal} and was killed"
    elif [ -n "$stop_signal" ]; then
      reason="training was stopped by SIG${stop_signal} during start-up, before it could checkpoint (importing, joining the other hosts, loading data or compiling)"
    else
      reason="the training process was killed by SIG${sig} (exit ${status}); SIGKILL without a stop request usually means the host ran out of memory"
    fi
    mkdir -p "$(dirname "$failure")" && printf '%s\n' "$reason" > "$failure"
    echo "ERROR: $reason" >&2
  fi
  exit "$status"
}

case "${1:-train}" in
  train)
    [ $# -gt 0 ] && shift
    supervise_train "$@" ;;
  prepare)
    shift
    exec prepare "$@" ;;
  serve)
    shift
    # Serving shares the accelerator with nothing else, but grabbing 75% of GPU memory up
    # front (XLA's default) is wasteful for inference: allocate on demand.
    export XLA_PYTHON_CLIENT_PREALLOCATE="${XLA_PYTHON_CLIENT_PREALLOCATE:-false}"
    exec serve "$@" ;;
  *)
    exec "$@" ;;
esac
