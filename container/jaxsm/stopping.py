"""Stopping on SIGTERM (StopTrainingJob, spot interruption, MaxRuntimeInSeconds) at a step every host agrees on.

SageMaker sends SIGTERM and kills the container 120 s later, so the trainer must notice within a
step or two, save a checkpoint and exit; on several hosts all of them must stop after the same
step (a host that leaves early strands the others in a collective). Nothing here puts a collective
or a host round trip on the per-step path:

* one host: a Python signal handler sets a flag the loop reads every step;
* several hosts: JAX's preemption sync manager (started by `jax.distributed.initialize`) catches
  SIGTERM on any host, tells the others through the coordination service in the background, and
  agrees on the first step all hosts can still reach; `reached_preemption_sync_point(i)` is a
  local check the loop makes every iteration, and it turns true at that same iteration everywhere;
* several hosts with the preemption service switched off (`jax_enable_preemption_service=false`):
  the flags are combined by one small all-gather, only at eval and checkpoint boundaries.

`install()` must run before `jax.distributed.initialize`: the preemption manager then replaces the
Python handler, which therefore only covers SIGTERMs that arrive during start-up.
"""

from __future__ import annotations

import logging
import signal

import numpy as np

log = logging.getLogger(__name__)


class StopSignal:
    def __init__(self) -> None:
        self.received_early = False  # SIGTERM seen by the Python handler (one host, or start-up)
        self._iteration = 0
        self._mode = "flag"

    def install(self) -> None:
        try:
            signal.signal(signal.SIGTERM, self._handle)
        except ValueError:  # not the main thread (embedded use): the caller handles signals
            pass

    def _handle(self, signum, frame) -> None:
        self.received_early = True

    def start(self) -> None:
        """Call once after jax.distributed is up, before the first step."""
        import jax
        from jax._src import distributed as jax_distributed

        if jax.process_count() == 1:
            self._mode = "flag"
        elif jax_distributed.global_state.preemption_sync_manager is not None:
            self._mode = "preemption-sync"
        else:
            self._mode = "boundary-allgather"
            log.warning("JAX's preemption service is off: SIGTERM is only acted on at eval and checkpoint boundaries")
        log.info("stop on SIGTERM: %s", self._mode)

    def at_step(self) -> bool:
        """Every loop iteration (before the step): True when all hosts are to stop here. Local only."""
        if self._mode == "flag":
            return self.received_early
        if self._mode == "preemption-sync":
            from jax.experimental import multihost_utils

            # Iterations of this process (not training steps): the manager wants consecutive ids
            # starting equal on every host, which a resumed job's step numbers also are, but a
            # notice that arrives before the first call is then still answered at iteration 0/1.
            reached = multihost_utils.reached_preemption_sync_point(self._iteration)
            self._iteration += 1
            return reached
        return False

    def at_boundary(self) -> bool:
        """At eval/checkpoint boundaries: the fallback combine when the preemption service is off."""
        if self._mode != "boundary-allgather":
            return False
        from jax.experimental import multihost_utils

        flags = multihost_utils.process_allgather(np.asarray(int(self.received_early), np.int32))
        return bool(np.any(flags))
