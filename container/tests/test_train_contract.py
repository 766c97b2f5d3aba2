"""The training contract, end to end through `train` (the sagemaker-training toolkit entry)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

from conftest import BIN, TINY, checkpoint_steps, child_env, make_base, run_train
from flax import serialization

from jaxsm.metrics import METRIC_DEFINITIONS

EVAL_LINE = re.compile(r"^step=(\d+) train_loss=([0-9.]+) val_loss=([0-9.]+) tokens_per_sec=([0-9.]+)$", re.M)


def test_short_run_writes_model_metrics_and_checkpoints(tmp_path, corpus):
    base = make_base(
        tmp_path,
        corpus,
        {**TINY, "max_steps": "30", "eval_every": "10", "checkpoint_every": "10", "grad_accum": "2", "bf16": "False"},
    )
    proc = run_train(base)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    steps = [int(m[0]) for m in EVAL_LINE.findall(proc.stdout)]
    assert steps == [10, 20, 30]
    assert re.search(r"^final val_loss=[0-9.]+$", proc.stdout, re.M)
    for d in METRIC_DEFINITIONS + pipeline_default_metrics():  # every documented regex matches the real log
        found = re.search(d["Regex"], proc.stdout)
        assert found and float(found.group(1)) >= 0, d
    model = base / "model"
    config = json.loads((model / "config.json").read_text())
    assert config["model"]["d_model"] == 64 and config["tokenizer"]["type"] == "byte"
    assert json.loads((model / "tokenizer.json").read_text())["eos_id"] == 258
    params = serialization.msgpack_restore((model / "params.msgpack").read_bytes())
    assert params["embed"]["embedding"].shape == (259, 64)
    assert checkpoint_steps(base) == [20, 30]  # keep_checkpoints=2
    assert (base / "output" / "success").exists() and not (base / "output" / "failure").exists()


def pipeline_default_metrics() -> list[dict[str, str]]:
    """DEFAULT_METRIC_DEFINITIONS of contracts/pipeline-spec.ts, the pipeline's defaults for this container."""
    source = (Path(__file__).resolve().parents[2] / "contracts" / "pipeline-spec.ts").read_text()
    number = re.search(r"const METRIC_NUMBER = '(.*)';", source)
    assert number, "METRIC_NUMBER not found in pipeline-spec.ts"
    value = number.group(1).replace("\\\\", "\\")  # TS string literal -> the regex itself
    defs = re.findall(r"\{ name: '(\w+)', regex: `(\w+)=\$\{METRIC_NUMBER\}` \}", source)
    assert {n for n, _ in defs} == {"train_loss", "val_loss", "tokens_per_sec"}, defs
    return [{"Name": n, "Regex": f"{key}={value}"} for n, key in defs]


def test_metric_regexes_skip_non_finite_values():
    """nan/inf cannot be CloudWatch metric values; such a job fails instead (test below)."""
    line = "step=10 train_loss=nan val_loss=inf tokens_per_sec=-inf"
    for d in METRIC_DEFINITIONS + pipeline_default_metrics():
        if d["Name"] != "step":
            assert not re.search(d["Regex"], line), d
    assert {d["Regex"] for d in pipeline_default_metrics()} <= {d["Regex"] for d in METRIC_DEFINITIONS}


def test_bad_hyperparameter_writes_failure(tmp_path, corpus):
    base = make_base(tmp_path, corpus, {"learning_rate": "-0.5"})
    proc = run_train(base)
    assert proc.returncode != 0
    failure = (base / "output" / "failure").read_text()
    assert "'learning_rate'" in failure and "[1e-08, 10.0]" in failure
    assert "Traceback" not in failure and len(failure) <= 1024


def test_unknown_hyperparameter_writes_failure(tmp_path, corpus):
    base = make_base(tmp_path, corpus, {"learning-rate": "0.1"})
    proc = run_train(base)
    assert proc.returncode != 0
    assert "unknown hyperparameter(s) 'learning-rate'" in (base / "output" / "failure").read_text()


def test_missing_channel_writes_failure(tmp_path, corpus):
    base = make_base(tmp_path, corpus, TINY, channels=("train",))
    proc = run_train(base)
    assert proc.returncode != 0
    failure = (base / "output" / "failure").read_text()
    assert f"missing channel 'val': expected a directory at {base}/input/data/val" == failure


def _start(base):
    return subprocess.Popen(
        [BIN / "train"], env=child_env(base), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _wait_for_checkpoint(base, proc, timeout=120):
    t0 = time.monotonic()
    while 20 not in checkpoint_steps(base):
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() - t0 < timeout, "no checkpoint appeared"
        time.sleep(0.05)


HP_LONG = {**TINY, "max_steps": "2000", "eval_every": "20", "checkpoint_every": "20"}


def test_killed_run_resumes_from_its_checkpoint(tmp_path, corpus):
    base = make_base(tmp_path, corpus, {**HP_LONG, "max_steps": "400"})
    proc = _start(base)
    _wait_for_checkpoint(base, proc)
    proc.kill()  # SIGKILL: no chance to save anything more
    proc.wait()
    saved = max(checkpoint_steps(base))
    assert saved < 400
    again = run_train(base)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"resumed from checkpoint step={saved}" in again.stdout
    steps = [int(m[0]) for m in EVAL_LINE.findall(again.stdout)]
    assert steps[0] == saved + 20 and steps[-1] == 400  # continued, not restarted from zero


def test_sigterm_saves_a_checkpoint_and_exits(tmp_path, corpus):
    base = make_base(tmp_path, corpus, HP_LONG)
    proc = _start(base)
    _wait_for_checkpoint(base, proc)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    m = re.search(r"training stopped by SIGTERM at step (\d+)", (base / "output" / "failure").read_text())
    assert m, out
    assert int(m.group(1)) in checkpoint_steps(base)


def test_non_finite_loss_fails_the_job_and_saves_nothing_after_it(tmp_path, corpus):
    """A run that diverges (here: resumed from parameters that already hold NaN, what a run without
    the check would have checkpointed) fails with a reason instead of finishing as a success."""
    import numpy as np

    from jaxsm import sharding as shd
    from jaxsm.checkpoint import Checkpointer
    from jaxsm.config import parse_hyperparameters
    from jaxsm.steps import build, resolve_precision

    hps = {**TINY, "max_steps": "40", "eval_every": "10", "checkpoint_every": "5"}
    cfg = parse_hyperparameters(hps)
    training = build(cfg, shd.make_mesh(0), resolve_precision(cfg, "cpu"))
    state = training.init_state()
    state["params"]["embed"]["embedding"] = state["params"]["embed"]["embedding"] * np.float32("nan")
    base = make_base(tmp_path, corpus, hps)
    ck = Checkpointer(base / "checkpoints", cfg.fingerprint(), cfg.trajectory(), keep=5)
    ck.save(10, state)
    ck.close()

    proc = run_train(base)
    assert proc.returncode != 0, proc.stdout
    assert "resumed from checkpoint step=10" in proc.stdout
    failure = (base / "output" / "failure").read_text()
    # Step 15 is a checkpoint boundary before the first eval: the divergence is caught there.
    assert failure.startswith("training diverged: train_loss=nan (not finite) in steps 11-15"), failure
    assert "learning_rate" in failure and len(failure) <= 1024
    assert checkpoint_steps(base) == [10]  # nothing saved after the divergence
    assert not (base / "model" / "params.msgpack").exists()
    assert not (base / "output" / "success").exists()
