"""TensorBoard event files in /opt/ml/output/tensorboard, the SageMaker way.

SageMaker syncs TensorBoardOutputConfig.LocalPath (default /opt/ml/output/tensorboard) to its S3OutputPath while
the job runs and at its end (https://docs.aws.amazon.com/sagemaker/latest/dg/debugger-enable-tensorboard-summaries.html),
so a user opens the curves with SageMaker's managed TensorBoard or `tensorboard --logdir s3://...`. The writer is
tensorboardX (MIT): it writes TensorBoard's record format without TensorFlow.

Only process 0 writes. Every host of a multi-host job shares one LocalPath name and one S3 prefix, so several
writers would upload event files with the same scalars, and TensorBoard would draw every value once per host.
A writer that cannot be created (read-only disk, no space) must not fail the training: it logs and writes nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("jaxsm.tensorboard")


class ScalarLog:
    """Scalars by tag and step; a no-op on any process but the first."""

    def __init__(self, directory: Path, enabled: bool) -> None:
        self.directory = directory
        self._writer: Any = None
        if not enabled:
            return
        try:
            from tensorboardX import SummaryWriter

            directory.mkdir(parents=True, exist_ok=True)
            # flush_secs: SageMaker uploads what is on disk while the job runs; a short flush keeps the S3 copy live.
            self._writer = SummaryWriter(logdir=str(directory), flush_secs=10)
        except Exception as e:  # noqa: BLE001 - curves are a convenience; training goes on without them
            log.warning("TensorBoard output disabled: cannot write to %s (%s)", directory, e)

    @property
    def active(self) -> bool:
        return self._writer is not None

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """One point per tag at `step` (tags such as `train/loss`, grouped by TensorBoard at the slash)."""
        if self._writer is None:
            return
        for tag, value in values.items():
            self._writer.add_scalar(tag, float(value), global_step=step)

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
