"""Shared helpers: temp SAGEMAKER_BASE_DIRs, the prepared corpus, running the entrypoints."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
# One XLA compilation cache for the whole session (this process and every server/trainer it
# starts): the serving tests start several servers on the same models, each compiling the same
# engine shapes. JAX reads these variables at import.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", tempfile.mkdtemp(prefix="jaxsm-test-xla-cache-"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
TINY = {  # a model small enough that a run is a few seconds on 2 cores
    "n_layers": "1",
    "d_model": "64",
    "n_heads": "2",
    "seq_len": "64",
    "batch_size": "8",
    "warmup_steps": "5",
    "eval_batches": "2",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(base: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["SAGEMAKER_BASE_DIR"] = str(base)
    env.setdefault("JAX_PLATFORMS", "cpu")
    env.pop("SAGEMAKER_PROGRAM", None)
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """train/ and val/ channel dirs built by `prepare --source builtin` (the real demo data)."""
    base = tmp_path_factory.mktemp("prep")
    out = base / "processing" / "output"
    subprocess.run([BIN / "prepare", "--source", "builtin"], env=child_env(base), check=True, capture_output=True)
    assert (out / "train" / "corpus.txt").stat().st_size > 100_000
    return out


def make_base(root: Path, corpus: Path, hps: dict, channels=("train", "val"), hosts=None, current=None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    cfg = root / "input" / "config"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "hyperparameters.json").write_text(json.dumps(hps))
    if hosts:
        (cfg / "resourceconfig.json").write_text(json.dumps({"current_host": current, "hosts": hosts}))
    for ch in channels:
        shutil.copytree(corpus / ch, root / "input" / "data" / ch)
    return root


def run_train(base: Path, timeout: float = 240, **env) -> subprocess.CompletedProcess:
    return subprocess.run([BIN / "train"], env=child_env(base, **env), capture_output=True, text=True, timeout=timeout)


def devices_env(n: int) -> dict[str, str]:
    """Environment for a `train` process that sees n virtual CPU devices."""
    return {"XLA_FLAGS": f"--xla_force_host_platform_device_count={n}"}


def start_hosts(bases: list[Path], devices: int = 1, **extra: str) -> list[subprocess.Popen]:
    """One `train` process per base directory, joined by jax.distributed (gloo) on a free port."""
    env = {
        "JAXSM_COORDINATOR_ADDRESS": f"127.0.0.1:{free_port()}",
        "JAXSM_INIT_TIMEOUT_S": "90",
        **devices_env(devices),
        **extra,
    }
    return [
        subprocess.Popen(
            [BIN / "train"], env=child_env(b, **env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for b in bases
    ]


def checkpoint_dir(base: Path) -> Path:
    """The one fingerprint directory under a host's checkpoints/ (the run's configuration)."""
    dirs = [d for d in (base / "checkpoints").iterdir() if d.is_dir() and not d.name.startswith(".")]
    assert len(dirs) == 1, dirs
    return dirs[0]


def checkpoint_steps(base: Path) -> list[int]:
    """Steps this host committed (its commit record is there), ascending."""
    root = base / "checkpoints"
    if not root.is_dir():
        return []
    return sorted({int(m.parent.name) for m in root.glob("*/*/jaxsm-host-*.json") if m.parent.name.isdigit()})


def sync_checkpoints(sources: list[Path], target: Path) -> None:
    """What SageMaker does with CheckpointConfig: every host's checkpoints/ uploads to one S3 prefix,
    and a restarted job gets that union copied into each host's checkpoints/."""
    for src in sources:
        if src.resolve() == target.resolve():
            continue
        shutil.copytree(src / "checkpoints", target / "checkpoints", dirs_exist_ok=True)


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 60):
    """(status, headers, body bytes) without raising on 4xx/5xx. The headers are looked up without
    regard to case, as HTTP defines them (the server sends lower-case names)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def wait_ping(port: int, proc: subprocess.Popen, timeout: float = 60) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if http("GET", f"http://127.0.0.1:{port}/ping", timeout=2)[0] == 200:
                return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("server never became ready")


@pytest.fixture(scope="session")
def trained(tmp_path_factory, corpus) -> tuple[Path, subprocess.CompletedProcess]:
    """One real training run with the default model (shared by the learning and serving tests)."""
    base = make_base(
        tmp_path_factory.mktemp("trained"), corpus, {"max_steps": "150", "eval_every": "50", "checkpoint_every": "75"}
    )
    proc = run_train(base)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return base, proc
