"""Test helper run in place of the `train` console script: the real trainer, except that on this host
* FAULTY_CHECKPOINT_STEP: the background write of that checkpoint step fails the way the 4-host e2e run saw it fail:
  the step's `.orbax-checkpoint-tmp` directory vanishes (removed by another process) and the write of its files raises;
* FAULTY_CHECKPOINT_RENAME_STEP: every file of that step is written, and Orbax's final commit (the rename of
  `<step>.orbax-checkpoint-tmp` to `<step>`) fails;
* FAULTY_SLOW_CHECKPOINT_DIRS: this host creates each checkpoint's temporary directories that many seconds late (a
  loaded host), which is how the directory vanished in the 2-host e2e run (see jaxsm/checkpoint.py).

    FAULTY_CHECKPOINT_STEP=10 python tests/faulty_train.py
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import shutil
from pathlib import Path

from orbax.checkpoint import type_handlers
from orbax.checkpoint.path import atomicity

from jaxsm import toolkit

FAIL_STEP = os.environ.get("FAULTY_CHECKPOINT_STEP", "")
RENAME_FAIL_STEP = os.environ.get("FAULTY_CHECKPOINT_RENAME_STEP", "")
_original = type_handlers.ArrayHandler.serialize
SLOW_DIRS_S = float(os.environ.get("FAULTY_SLOW_CHECKPOINT_DIRS", "0"))
_original_finalize = atomicity.AtomicRenameTemporaryPath.finalize
_original_create = atomicity.AtomicRenameTemporaryPath.create


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


async def _finalize(self, *args, **kwargs):
    if RENAME_FAIL_STEP and self.get().name == f"{RENAME_FAIL_STEP}.orbax-checkpoint-tmp":
        raise PermissionError(f"rename of {self.get()} refused (injected)")
    return await _original_finalize(self, *args, **kwargs)


async def _create(self, *args, **kwargs):
    await asyncio.sleep(SLOW_DIRS_S)
    return await _original_create(self, *args, **kwargs)


type_handlers.ArrayHandler.serialize = _serialize
atomicity.AtomicRenameTemporaryPath.create = _create
atomicity.AtomicRenameTemporaryPath.finalize = _finalize

if __name__ == "__main__":
    toolkit.cli()
