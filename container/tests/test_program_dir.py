"""Where `train` takes a user program from: the submitted directory, else the baked programs (never /opt/ml/code).

SageMaker reserves /opt/ml/code for `sagemaker_submit_directory`, and the training toolkit unpacks the submitted
directory there only while it is empty: a program baked into it would run instead of the user's.
"""

from __future__ import annotations

import json

from conftest import TINY, make_base, run_train


def sdk_hps(hps: dict) -> dict:
    """Hyperparameters as the SageMaker Python SDK writes them (every value JSON-encoded)."""
    return {k: json.dumps(v) for k, v in hps.items()}


def test_a_submitted_directory_runs_its_own_train_py(tmp_path, corpus):
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(
        "import os, pathlib\n"
        "print('user program ran from', pathlib.Path(__file__).parent, flush=True)\n"
        "model = pathlib.Path(os.environ['SM_MODEL_DIR']); model.mkdir(parents=True, exist_ok=True)\n"
        "(model / 'user.txt').write_text('mine')\n"
    )
    base = make_base(
        tmp_path / "ml",
        corpus,
        sdk_hps({"sagemaker_program": "train.py", "sagemaker_submit_directory": str(src)}),
    )
    # SM_STUDIO_LOCAL_MODE: the toolkit would wait for `algo-1` to resolve, as local mode also tells it.
    out = run_train(base, timeout=120, SM_STUDIO_LOCAL_MODE="true")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert f"user program ran from {base / 'code'}" in out.stdout
    assert (base / "model" / "user.txt").read_text() == "mine"
    assert "step=" not in out.stdout  # the built-in trainer never ran


def test_sagemaker_program_without_a_submitted_directory_is_the_baked_trainer(tmp_path, corpus):
    hps = {**TINY, "warmup_steps": 1, "max_steps": 2, "eval_every": 2, "checkpoint_every": 2}
    base = make_base(tmp_path / "ml", corpus, sdk_hps({**hps, "sagemaker_program": "train.py"}))
    out = run_train(base, timeout=240, SM_STUDIO_LOCAL_MODE="true")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "step=2 train_loss=" in out.stdout + out.stderr
    assert (base / "model" / "params.msgpack").exists()
