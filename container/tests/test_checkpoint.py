"""The checkpointer on its own (one process, one device): commit records, fallback, fingerprints."""

from __future__ import annotations

import concurrent.futures
import json
from pathlib import Path

import jax
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
from orbax.checkpoint import type_handlers

from jaxsm import sharding as shd
from jaxsm.checkpoint import Checkpointer, check_step
from jaxsm.config import parse_hyperparameters
from jaxsm.errors import UserError

CFG = parse_hyperparameters({"n_layers": "1", "d_model": "16", "n_heads": "2", "seq_len": "8", "max_steps": "50"})


def state_at(value: float) -> dict:
    mesh = shd.make_mesh(0)
    sh = NamedSharding(mesh, P())
    return {
        "params": {"w": jax.device_put(np.full((4, 8), value, np.float32), sh)},
        "opt_state": {"m": jax.device_put(np.full((4, 8), -value, np.float32), sh)},
    }


def abstract(state: dict) -> dict:
    return jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=a.sharding), state)


def checkpointer(root: Path, cfg=CFG, asynchronous: bool = True) -> Checkpointer:
    return Checkpointer(root, cfg.fingerprint(), cfg.trajectory(), keep=3, asynchronous=asynchronous)


def chunk_files(step_dir: Path) -> list[Path]:
    return sorted(p for p in (step_dir / "default").rglob("*") if p.is_file() and p.parent.name == "params.w")


def test_save_restore_and_idempotent_step(tmp_path):
    ck = checkpointer(tmp_path)
    assert ck.save(10, state_at(1.0))
    assert not ck.save(10, state_at(2.0))  # a stop right after a periodic save: already on disk
    ck.save(20, state_at(3.0))
    ck.finish()
    record = json.loads((ck.directory / "20" / "jaxsm-host-0-of-1.json").read_text())
    assert record["processes"] == 1 and any(f.startswith("default/params.w/") for f in record["files"])
    restored, notes = checkpointer(tmp_path).restore_latest(abstract(state_at(0.0)))
    assert restored is not None and restored.step == 20 and notes == []
    assert np.all(np.asarray(restored.state["params"]["w"]) == 3.0)
    assert np.all(np.asarray(restored.state["opt_state"]["m"]) == -3.0)


def test_saves_are_written_in_the_background_and_committed_before_the_next(tmp_path):
    """save() returns with the step in flight (no commit record: not a restore candidate yet); the next save or
    close() waits for it and commits it, so a stop after any save leaves every started step complete."""
    ck = checkpointer(tmp_path, asynchronous=True)
    state = state_at(1.0)
    assert ck.save(10, state) and ck.pending == 10
    assert not (ck.directory / "10" / "jaxsm-host-0-of-1.json").exists()
    assert not ck.save(10, state)  # the step in flight counts as saved
    # Training goes on while it writes: the state may be replaced (the train step donates its buffers).
    state = jax.tree_util.tree_map(lambda a: a + 1, state)
    ck.save(20, state)
    assert (ck.directory / "10" / "jaxsm-host-0-of-1.json").exists() and ck.pending == 20
    ck.close()
    assert check_step(ck.directory / "20") is None
    restored, _ = checkpointer(tmp_path).restore_latest(abstract(state_at(0.0)))
    assert restored is not None and restored.step == 20
    assert np.all(np.asarray(restored.state["params"]["w"]) == 2.0)


def test_saves_are_asynchronous_by_default_and_synchronous_when_asked(tmp_path, monkeypatch):
    monkeypatch.delenv("JAXSM_ASYNC_CHECKPOINTS", raising=False)
    assert Checkpointer(tmp_path / "a", CFG.fingerprint(), CFG.trajectory(), keep=3).asynchronous
    monkeypatch.setenv("JAXSM_ASYNC_CHECKPOINTS", "false")
    ck = Checkpointer(tmp_path / "b", CFG.fingerprint(), CFG.trajectory(), keep=3)
    assert not ck.asynchronous
    assert ck.save(10, state_at(1.0))
    assert any((ck.directory / "10").rglob("*"))  # written before save() returned
    ck.close()
    monkeypatch.setenv("JAXSM_ASYNC_CHECKPOINTS", "yes")
    with pytest.raises(UserError, match="JAXSM_ASYNC_CHECKPOINTS must be true or false, not 'yes'"):
        Checkpointer(tmp_path / "c", CFG.fingerprint(), CFG.trajectory(), keep=3)


def test_a_failed_background_write_fails_finish_with_the_reason(tmp_path, monkeypatch):
    """One process: the write's error surfaces at the next finish() as a UserError naming the step."""
    original = type_handlers.ArrayHandler.serialize

    async def failing(self, values, infos, args=None):
        futures = await original(self, values, infos, args)
        broken: concurrent.futures.Future = concurrent.futures.Future()
        broken.set_exception(OSError("disk full (injected)"))
        return [*futures, broken]

    ck = checkpointer(tmp_path)
    monkeypatch.setattr(type_handlers.ArrayHandler, "serialize", failing)
    ck.save(10, state_at(1.0))
    with pytest.raises(
        UserError, match=r"checkpoint step 10 could not be written \(on this host: OSError: disk full \(injected\)\)"
    ):
        ck.finish()
    assert not (ck.directory / "10" / "jaxsm-host-0-of-1.json").exists()


@pytest.mark.parametrize("damage", ["truncate", "corrupt", "no-commit-record"])
def test_unreadable_newest_falls_back_to_previous(tmp_path, damage):
    ck = checkpointer(tmp_path)
    ck.save(10, state_at(1.0))
    ck.save(20, state_at(2.0))
    ck.finish()
    newest = ck.directory / "20"
    chunk = chunk_files(newest)[0]
    if damage == "truncate":  # a partial S3 sync or a save cut short
        chunk.write_bytes(chunk.read_bytes()[:5])
    elif damage == "corrupt":  # same size, garbage bytes: only reading it tells
        chunk.write_bytes(bytes(len(chunk.read_bytes())))
    else:  # the host died between Orbax's commit and its own record
        (newest / "jaxsm-host-0-of-1.json").unlink()
    assert check_step(newest) is None if damage == "corrupt" else check_step(newest) is not None
    restored, notes = checkpointer(tmp_path).restore_latest(abstract(state_at(0.0)))
    assert restored is not None and restored.step == 10
    assert np.all(np.asarray(restored.state["params"]["w"]) == 1.0)
    assert any("step 20" in n for n in notes) and notes[-1] == "falling back to checkpoint step 10"
    assert not newest.exists()  # removed: the run will write its own step 20


def test_fingerprint_mismatch_is_not_resumed(tmp_path):
    first = checkpointer(tmp_path)
    first.save(10, state_at(1.0))
    first.close()
    other = parse_hyperparameters({**{k: str(v) for k, v in CFG.trajectory().items()}, "learning_rate": "0.01"})
    ck = checkpointer(tmp_path, other)
    restored, _ = ck.restore_latest(abstract(state_at(0.0)))
    assert restored is None
    (note,) = ck.foreign()
    assert "belong to other hyperparameters (learning_rate 0.003 (now 0.01))" in note and "not resumed" in note
    assert (tmp_path / CFG.fingerprint() / "10").is_dir()  # the other run's checkpoints are left alone


def test_performance_options_keep_the_fingerprint():
    base = {"n_layers": "2", "d_model": "64", "n_heads": "2"}
    tuned = {**base, "fsdp": "2", "remat": "full", "grad_accum": "2", "bf16": "true", "attention": "xla"}
    assert parse_hyperparameters(base).fingerprint() == parse_hyperparameters(tuned).fingerprint()
    assert (
        parse_hyperparameters(base).fingerprint()
        != parse_hyperparameters({**base, "scan_layers": "true"}).fingerprint()
    )
