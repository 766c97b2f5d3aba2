"""Orbax checkpoints in /opt/ml/checkpoints, and resume.

SageMaker syncs /opt/ml/checkpoints with the job's CheckpointConfig S3 URI and restores it into
every host when a job (e.g. a managed-spot job) restarts. Parameters and optimizer state are
replicated across hosts, so only process 0 writes (one copy, no races on the shared S3 prefix);
on start, process 0 restores the newest complete step and broadcasts it, so hosts whose local
directory is empty (local mode keeps one directory per host) still resume consistently.

State is saved as host numpy arrays: {"step", "params", "opt_state"}. Orbax writes each step to
a temporary directory and renames it when complete, so a job killed mid-save resumes from the
previous complete step.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

log = logging.getLogger(__name__)


def to_host(tree: Any) -> Any:
    """Replicated (possibly multi-process) jax arrays -> local numpy copies."""

    def one(x):
        if isinstance(x, jax.Array):
            return np.asarray(x.addressable_data(0))
        return np.asarray(x)

    return jax.tree_util.tree_map(one, tree)


class Checkpointer:
    def __init__(self, directory: Path, keep: int):
        self.directory = Path(directory)
        self.is_writer = jax.process_index() == 0
        self._manager = None
        if self.is_writer:
            self.directory.mkdir(parents=True, exist_ok=True)
            options = ocp.CheckpointManagerOptions(
                max_to_keep=keep,
                create=False,  # we mkdir above; Orbax refuses create with active_processes
                # Synchronous: a SIGTERM-triggered save must be on disk before we exit.
                enable_async_checkpointing=False,
                # Only this process takes part; other hosts never call into Orbax.
                multiprocessing_options=ocp.options.MultiprocessingOptions(
                    primary_host=jax.process_index(), active_processes={jax.process_index()}
                ),
            )
            self._manager = ocp.CheckpointManager(self.directory.resolve(), options=options)

    def latest_step(self) -> int | None:
        return self._manager.latest_step() if self._manager else None

    def save(self, step: int, params: Any, opt_state: Any) -> None:
        """Collective-free: only process 0 writes. Call on every process anyway."""
        if not self._manager:
            return
        if self._manager.latest_step() == step:
            # e.g. SIGTERM right after a periodic save: that step is already on disk.
            return
        state = {"step": np.asarray(step, np.int64), "params": to_host(params), "opt_state": to_host(opt_state)}
        self._manager.save(step, args=ocp.args.StandardSave(state), force=True)
        self._manager.wait_until_finished()
        log.info("checkpoint saved step=%d dir=%s", step, self.directory)

    def restore_latest(self, params: Any, opt_state: Any) -> tuple[int, Any, Any] | None:
        """Process 0 restores the newest step; all processes get it by broadcast.

        Must be called on every process (it is a collective when there are several).
        Returns (step, params, opt_state) as numpy trees, or None when there is no checkpoint.
        """
        from jax.experimental import multihost_utils

        template = {"step": np.asarray(0, np.int64), "params": to_host(params), "opt_state": to_host(opt_state)}
        restored = None
        step = -1
        if self._manager:
            latest = self._manager.latest_step()
            if latest is not None:
                restored = self._manager.restore(latest, args=ocp.args.StandardRestore(template))
                step = int(restored["step"])
        if jax.process_count() > 1:
            step = int(multihost_utils.broadcast_one_to_all(np.asarray(step, np.int64)))
            if step < 0:
                return None
            restored = multihost_utils.broadcast_one_to_all(restored if restored is not None else template)
        if step < 0 or restored is None:
            return None
        return step, restored["params"], restored["opt_state"]

    def close(self) -> None:
        if self._manager:
            self._manager.close()
