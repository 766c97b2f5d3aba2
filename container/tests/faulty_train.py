"""Test helper run in place of the `train` console script: the real trainer, except that on this host the
background write of checkpoint step FAULTY_CHECKPOINT_STEP fails the way the 4-host e2e run saw it fail: the step's
`.orbax-checkpoint-tmp` directory vanishes (removed by another process) and the write of its files raises.

    FAULTY_CHECKPOINT_STEP=10 python tests/faulty_train.py
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import shutil
from pathlib import Path

from orbax.checkpoint import type_handlers

from jaxsm import toolkit

FAIL_STEP = os.environ.get("FAULTY_CHECKPOINT_STEP", "")
_original = type_handlers.ArrayHandler.serialize


def _tmp_step_dir(path: Path) -> Path | None:
    for parent in (path, *path.parents):
        if re.fullmatch(rf"{FAIL_STEP}\.orbax-checkpoint-tmp.*", parent.name):
            return parent
    return None


async def _serialize(self, values, infos, args=None):
    futures = list(await _original(self, values, infos, args))
    tmp = _tmp_step_dir(Path(str(infos[0].parent_dir))) if FAIL_STEP and infos else None
    if tmp is None:
        return futures
    for f in futures:  # let this host's writes land, then lose the directory as the e2e run did
        f.result()
    shutil.rmtree(tmp, ignore_errors=True)
    failed: concurrent.futures.Future = concurrent.futures.Future()
    failed.set_exception(FileNotFoundError(f"{tmp} vanished while step {FAIL_STEP} was written (injected)"))
    return [*futures, failed]


type_handlers.ArrayHandler.serialize = _serialize

if __name__ == "__main__":
    toolkit.cli()
