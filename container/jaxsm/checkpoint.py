"""Orbax checkpoints of the sharded training state, written and read by every process.

SageMaker syncs /opt/ml/checkpoints with CheckpointConfig.S3Uri while the job runs and copies the
prefix back into every host when a job (e.g. a managed-spot job) restarts
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-checkpoints.html). Layout:

  <root>/<fingerprint>/config.json                      the hyperparameters these checkpoints belong to
  <root>/<fingerprint>/<step>/default/...               Orbax: zarr, one zstd file per array chunk
  <root>/<fingerprint>/<step>/jaxsm-host-<i>-of-<n>.json  host i's commit record: the files it saw

Saving: every process writes the chunks of the state it holds; a shard replicated on several
hosts is split between them (Orbax replica-parallel), so each host writes about 1/hosts of the
state and nothing is gathered. Two storage cases, detected at start with a probe file:
* a directory every host sees (FSx, EFS, one machine): Orbax's usual protocol, process 0
  creates and commits each step directory;
* a local disk per host (SageMaker's /opt/ml/checkpoints): every process is primary for its own
  disk (Orbax's "local storage" mode), each host's copy holds its chunks, and the union that S3
  collects (and restores to every host) is the whole checkpoint.

Asynchronous saves (the default; JAXSM_ASYNC_CHECKPOINTS=false for synchronous ones): save() returns once the
state is on the host and the files are written in background threads; finish() (the next save, close, a SIGTERM
stop) waits for them before the step's commit record is written, so an unfinished save is never a candidate.
A failed background write fails the job on every host instead of leaving the others waiting: Orbax's background
threads meet the other hosts at barriers, and a host whose write failed never arrives there (the others would wait
for Orbax's timeout, 20 minutes, and then in the next collective). So the host whose write fails publishes the
failure in jax.distributed's key-value store, the barriers here are built on that store and give up as soon as a
failure is published, and finish() raises the published reason on every host (written to the failure file). The
final rename of a step's temporary directory publishes its failure the same way. In per-host storage each host
creates its temporary directories before its writes start (see the AsyncOptions below: Orbax's asynchronous
directory creation let another host's signal start this host's writes, and then deleted what they had written).

Restoring: steps are tried newest first. A step is a candidate when every host's commit record
is there and every file they list exists with its recorded size (a save cut short, a partial S3
sync, a truncated file); all processes agree on the candidates (one all-gather at start), and a
candidate that fails to read (Orbax finds a chunk missing or corrupt) is skipped for the previous
one. Each process reads only the chunks its devices need, for whatever mesh the job has now, so
a job may resume on a different number of hosts or devices. Checkpoints under another
fingerprint (other hyperparameters) or of an older layout are left alone and not resumed, with a
warning.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp
from orbax.checkpoint import type_handlers
from orbax.checkpoint.path import atomicity

from .errors import UserError

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
MARKER_PREFIX = "jaxsm-host-"
PROBE_DIR = ".jaxsm-probe"
# How many recent steps each process offers when the processes agree on what to restore.
MAX_CANDIDATES = 64
ASYNC_ENV = "JAXSM_ASYNC_CHECKPOINTS"


FAILED_KEY = "jaxsm/checkpoint-failed"
BARRIER_POLL_S = 0.2


def async_mode(value: str | None) -> bool:
    """JAXSM_ASYNC_CHECKPOINTS: true (the default) or false."""
    mode = (value or "true").strip().lower()
    if mode not in ("true", "false"):
        raise UserError(f"{ASYNC_ENV} must be true or false, not {value!r}")
    return mode == "true"


def _client() -> Any:
    """jax.distributed's coordination client; None on one process."""
    if jax.process_count() == 1:
        return None
    from jax._src import distributed

    return distributed.global_state.client


def published_failure() -> str | None:
    """The checkpoint failure a host published, if any."""
    client = _client()
    if client is None:
        return None
    try:
        return str(client.key_value_try_get(FAILED_KEY))
    except Exception:  # noqa: BLE001 - NOT_FOUND: nobody failed
        return None


def publish_failure(message: str) -> None:
    """Tell every host that this host's checkpoint write failed (the first report wins)."""
    client = _client()
    log.error("checkpoint write failed on this host: %s", message)
    if client is None:
        return
    try:
        client.key_value_set(FAILED_KEY, f"host {jax.process_index()}: {message}")
    except Exception:  # noqa: BLE001 - ALREADY_EXISTS: another host reported first
        pass


class FailFastBarrier:
    """Orbax's barrier function (AsyncOptions.barrier_sync_fn) over the key-value store: each process sets
    <key>/<n-th use>/<process>, then waits until all processes have, and raises at once when a host published a
    checkpoint failure instead of waiting for one that will never arrive."""

    def __init__(self) -> None:
        self._uses: dict[str, int] = {}

    def __call__(self, *, key: str, timeout_ms: int) -> None:
        client = _client()
        if client is None:
            return
        use = self._uses[key] = self._uses.get(key, 0) + 1
        prefix = f"jaxsm/barrier/{key}/{use}/"
        client.key_value_set(prefix + str(jax.process_index()), "1")
        deadline = time.monotonic() + timeout_ms / 1000
        n = jax.process_count()
        while True:
            failure = published_failure()
            if failure is not None:
                raise RuntimeError(f"checkpoint barrier {key}: {failure}")
            if len(client.key_value_dir_get(prefix)) >= n:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"checkpoint barrier {key}: not every host arrived within {timeout_ms} ms")
            time.sleep(BARRIER_POLL_S)


class _Reporting:
    """A commit future that publishes its failure before raising it (Orbax's background thread would raise it
    only to this host, and only when its main thread next waits)."""

    def __init__(self, inner: Any):
        self._inner = inner

    def result(self, timeout: float | None = None) -> Any:
        try:
            return self._inner.result(timeout=timeout)
        except Exception as e:
            publish_failure(f"{type(e).__name__}: {e}".splitlines()[0][:300])
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _ReportingArrayHandler(type_handlers.ArrayHandler):
    """Orbax's jax.Array handler whose background writes publish their failure (see _Reporting)."""

    async def serialize(self, values: Any, infos: Any, args: Any = None) -> Any:
        futures = await super().serialize(values, infos, args)
        return [_Reporting(f) for f in futures]


class _ReportingRename(atomicity.AtomicRenameTemporaryPath):
    """Orbax's commit of a step (rename of `<step>.orbax-checkpoint-tmp` to `<step>`) that publishes its failure
    before raising it: it runs in the background thread before the barrier where the other hosts wait for this one
    (see _Reporting)."""

    async def finalize(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super().finalize(*args, **kwargs)
        except Exception as e:
            publish_failure(f"commit of {self.get().name} failed: {type(e).__name__}: {e}".splitlines()[0][:300])
            raise


class _NoMergeNotice(logging.Filter):
    """Orbax warns on every save that it has no OCDBT files to merge (expected, we write zarr) and, in
    per-host storage (primary_host=None), that it does not log object sizes: both expected."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "Skipping merge of OCDBT" not in message and "Global object size logging disabled" not in message


def quiet_orbax_logs() -> None:
    """Orbax logs every save phase at INFO through absl; keep its warnings, drop the chatter."""
    absl = logging.getLogger("absl")
    absl.setLevel(logging.WARNING)
    absl.addFilter(_NoMergeNotice())


@dataclass(frozen=True)
class Restored:
    step: int
    state: Any


def _sync(name: str) -> None:
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def _allgather(values: np.ndarray) -> np.ndarray:
    """[processes, *values.shape]; a plain [1, ...] on one process."""
    if jax.process_count() == 1:
        return values[None]
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(values))


def detect_shared(root: Path) -> bool:
    """True when every process sees the same `root` (or there is one process). Collective."""
    n = jax.process_count()
    if n == 1:
        return True
    from jax.experimental import multihost_utils

    nonce = int(multihost_utils.broadcast_one_to_all(np.asarray(uuid.uuid4().int % (2**31), np.int64)))
    probe = root / PROBE_DIR
    probe.mkdir(parents=True, exist_ok=True)
    mine = probe / f"{nonce}.{jax.process_index()}"
    mine.write_text("")
    _sync("jaxsm-probe-written")
    seen = len(list(probe.glob(f"{nonce}.*")))
    views = _allgather(np.asarray(seen, np.int32))
    _sync("jaxsm-probe-read")
    mine.unlink(missing_ok=True)
    try:
        probe.rmdir()
    except OSError:
        pass  # another host's probe is still there (shared) or being removed
    if all(v == n for v in views):
        return True
    if all(v == 1 for v in views):
        return False
    raise RuntimeError(f"{root} is shared by some hosts but not all (each sees {list(views)} of {n} probe files)")


def _file_sizes(directory: Path) -> dict[str, int]:
    out = {}
    for dirpath, _, files in os.walk(directory):
        for name in files:
            path = Path(dirpath) / name
            rel = path.relative_to(directory).as_posix()
            if not rel.startswith(MARKER_PREFIX):
                out[rel] = path.stat().st_size
    return out


def check_step(step_dir: Path) -> str | None:
    """None when the step is complete on this host's disk, else what is wrong."""
    markers = sorted(step_dir.glob(f"{MARKER_PREFIX}*-of-*.json"))
    if not markers:
        return "no host finished writing it"
    records = []
    for marker in markers:
        try:
            records.append(json.loads(marker.read_text()))
        except (OSError, ValueError) as e:
            return f"unreadable commit record {marker.name} ({e})"
    hosts = {r["processes"] for r in records}
    if len(hosts) != 1:
        return f"commit records disagree on the number of hosts ({sorted(hosts)})"
    (n,) = hosts
    missing = sorted(set(range(n)) - {r["process"] for r in records})
    if missing:
        return f"host(s) {missing} of {n} did not finish writing it (or their files were not synced here)"
    allowed: dict[str, set[int]] = {}
    for r in records:
        for rel, size in r["files"].items():
            allowed.setdefault(rel, set()).add(size)
    for rel, sizes in sorted(allowed.items()):
        path = step_dir / rel
        if not path.is_file():
            return f"{rel} is missing"
        if path.stat().st_size not in sizes:
            return f"{rel} has {path.stat().st_size} bytes, expected {sorted(sizes)}"
    return None


def _write_json_atomic(path: Path, content: Any) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(content, indent=2, sort_keys=True))
    os.replace(tmp, path)


class Checkpointer:
    """Saves and restores {"params", "opt_state"} pytrees of sharded jax.Arrays. Every method is
    called on every process (they synchronise)."""

    def __init__(
        self, root: Path, fingerprint: str, trajectory: dict[str, Any], keep: int, asynchronous: bool | None = None
    ):
        self.root = Path(root)
        self.fingerprint = fingerprint
        self.trajectory = trajectory
        self.directory = self.root / fingerprint
        self.directory.mkdir(parents=True, exist_ok=True)
        self.shared = detect_shared(self.root)
        if asynchronous is None:
            asynchronous = async_mode(os.environ.get(ASYNC_ENV))
        self.asynchronous = asynchronous
        # None = every process is primary for its own disk (Orbax's local-storage mode).
        primary: int | None = 0 if self.shared else None
        _write_json_atomic(self.directory / CONFIG_FILE, {"fingerprint": fingerprint, "hyperparameters": trajectory})
        registry = type_handlers.create_type_handler_registry(
            (jax.Array, _ReportingArrayHandler(primary_host=primary, replica_id=0, use_replica_parallel=True))
        )
        mp = ocp.options.MultiprocessingOptions(primary_host=primary)
        handler = ocp.PyTreeCheckpointHandler(
            use_ocdbt=False,  # one file per chunk: each host's files have their own names, so copies merge
            multiprocessing_options=mp,
            type_handler_registry=registry,
        )
        options = ocp.CheckpointManagerOptions(
            max_to_keep=keep,
            create=False,
            # Asynchronous (see the module docstring): finish() waits for the background write before the step's
            # commit record is written, so an unfinished save is never a candidate.
            enable_async_checkpointing=asynchronous,
            multiprocessing_options=mp,
            # Barriers that give up when a host published a failed write (see the module docstring).
            async_options=ocp.AsyncOptions(
                barrier_sync_fn=FailFastBarrier(),
                # Per-host storage: every host creates its own <step>.orbax-checkpoint-tmp directories, but Orbax's
                # "directories created" signal is one key in jax.distributed's store, so the first host to create its
                # directories would start every host's writes; on a slower host the writers then made the directory
                # themselves and Orbax, finding it there, deleted it with the files being written (the 2-host e2e run's
                # vanished directory). Created before the writes start, with a barrier, instead.
                create_directories_asynchronously=self.shared,
            ),
            # The step's final rename reports its failure the same way.
            temporary_path_class=_ReportingRename,
        )
        self._manager = ocp.CheckpointManager(self.directory.resolve(), item_handlers=handler, options=options)
        self._pending: int | None = None

    def storage(self) -> str:
        return "shared" if self.shared else "per-host"

    def mode(self) -> str:
        return "asynchronous" if self.asynchronous else "synchronous"

    def _step_dir(self, step: int) -> Path:
        return self.directory / str(step)

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def save(self, step: int, state: Any) -> bool:
        """Start writing `state` as `step`: returns once the state is on the host (training may go on and donate
        its buffers); the files are written in the background and committed by finish(). False (and nothing
        written) when that step is already saved."""
        if step == self._pending or step in self._manager.all_steps():
            return False  # e.g. SIGTERM right after a periodic save
        self.finish()
        try:
            self._manager.save(step, args=ocp.args.PyTreeSave(state), force=True)
        except Exception as e:  # noqa: BLE001 - the other hosts must not wait for this one
            error = f"{type(e).__name__}: {e}".splitlines()[0][:300]
            publish_failure(error)
            raise self._failed(step, error) from e
        self._pending = step
        return True

    @property
    def pending(self) -> int | None:
        """The step being written in the background (no commit record yet), if any."""
        return self._pending

    def finish(self) -> None:
        """Wait for the background save, agree with the other hosts that every host wrote its part, then write this
        host's commit record (every process calls it). Raises UserError on every host when any host's write failed:
        the step gets no commit record (never restored) and the job fails with the reason instead of training on
        without checkpoints or waiting for a host that will never commit."""
        if self._pending is None:
            return
        step, self._pending = self._pending, None
        try:
            self._manager.wait_until_finished()
        except Exception as e:  # noqa: BLE001 - any failed write fails the job, with the first host's reason
            log.exception("checkpoint step %d: the background write failed", step)
            error = f"{type(e).__name__}: {e}".splitlines()[0][:300]
            publish_failure(error)
            raise self._failed(step, error) from e
        if published_failure() is not None:
            raise self._failed(step)
        step_dir = self._step_dir(step)
        n, i = jax.process_count(), jax.process_index()
        record = {"step": step, "process": i, "processes": n, "files": _file_sizes(step_dir)}
        _write_json_atomic(step_dir / f"{MARKER_PREFIX}{i}-of-{n}.json", record)
        _sync(f"jaxsm-checkpoint-{step}")
        log.info("checkpoint saved step=%d dir=%s", step, step_dir)

    def _failed(self, step: int, error: str = "") -> UserError:
        """The reason every host reports: the first failure a host published, else this host's own."""
        where = published_failure() or f"on this host: {error}"
        return UserError(
            f"checkpoint step {step} could not be written ({where}); the job stops "
            f"rather than train on without checkpoints (the steps before it are intact in {self.directory})"
        )

    def foreign(self) -> list[str]:
        """Warnings about checkpoints in `root` that this run will not resume."""
        notes = []
        for entry in sorted(self.root.iterdir()) if self.root.is_dir() else []:
            if entry.name == self.fingerprint or entry.name.startswith(".") or not entry.is_dir():
                continue
            if entry.name.isdigit():
                notes.append(
                    f"checkpoint {entry} has no configuration fingerprint (written by an older trainer): not resumed"
                )
                continue
            try:
                other = json.loads((entry / CONFIG_FILE).read_text())["hyperparameters"]
            except (OSError, ValueError, KeyError):
                continue
            diff = [
                f"{k} {other.get(k)!r} (now {v!r})" for k, v in sorted(self.trajectory.items()) if other.get(k) != v
            ]
            diff += [f"{k} {other[k]!r} (now unset)" for k in sorted(set(other) - set(self.trajectory))]
            notes.append(
                f"checkpoints in {entry} belong to other hyperparameters ({', '.join(diff) or 'unknown'}): not resumed"
            )
        return notes

    def restore_latest(self, abstract_state: Any) -> tuple[Restored | None, list[str]]:
        """Newest complete, readable step restored into `abstract_state`'s shardings, and notes on
        the steps passed over. Steps newer than the one restored are deleted (they would collide
        with the steps this run saves)."""
        notes = []
        steps = sorted(self._manager.all_steps(), reverse=True)[:MAX_CANDIDATES]
        local_ok = []
        for step in steps:
            problem = check_step(self._step_dir(step))
            if problem is None:
                local_ok.append(step)
            else:
                notes.append(f"checkpoint step {step} is incomplete: {problem}")
        offered = np.full(MAX_CANDIDATES, -1, np.int64)
        offered[: len(local_ok)] = local_ok
        views = _allgather(offered)
        agreed = sorted(set.intersection(*(set(int(s) for s in v if s >= 0) for v in views)), reverse=True)
        for step in local_ok:
            if step not in agreed:
                notes.append(f"checkpoint step {step} is incomplete on another host")
        restored = None
        restore_args = ocp.checkpoint_utils.construct_restore_args(abstract_state)
        for step in agreed:
            error = ""
            try:
                state = self._manager.restore(
                    step, args=ocp.args.PyTreeRestore(item=abstract_state, restore_args=restore_args)
                )
            except Exception as e:  # noqa: BLE001 - any read failure means: try the previous step
                error = f"{type(e).__name__}: {e}".splitlines()[0][:300]
            failed = _allgather(np.asarray(int(bool(error)), np.int32))
            if not failed.any():
                restored = Restored(step, state)
                break
            notes.append(f"checkpoint step {step} is unreadable ({error or 'on another host'})")
        keep_below = restored.step if restored else -1
        for step in self._manager.all_steps():
            if step > keep_below:
                self._delete(step)
        if notes and restored is not None:
            notes.append(f"falling back to checkpoint step {restored.step}")
        return restored, notes

    def _delete(self, step: int) -> None:
        # Orbax deletes on its primary host(s); remove this host's leftovers (e.g. another host's
        # synced files under a step this host never committed) directly.
        try:
            self._manager.delete(step)
        except Exception as e:  # noqa: BLE001
            log.info("orbax could not delete step %d (%s); removing the directory", step, e)
        if self._step_dir(step).exists() and (not self.shared or jax.process_index() == 0):
            shutil.rmtree(self._step_dir(step), ignore_errors=True)
        _sync(f"jaxsm-delete-{step}")

    def close(self) -> None:
        self.finish()
        self._manager.close()
