"""Script mode: a user's own program through `train` (sagemaker_program / sagemaker_submit_directory),
with jax.distributed prepared for it, and a user handler's requirements.txt at `serve` start."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from conftest import BIN, child_env, free_port, http, wait_ping

# An ordinary multi-host JAX script: no arguments to jax.distributed.initialize(), no SageMaker code.
GATHER = textwrap.dedent(
    """
    import json, os
    import jax
    import jax.numpy as jnp
    from jax.experimental import multihost_utils

    jax.distributed.initialize()
    mine = jnp.asarray([jax.process_index() + 1])
    gathered = multihost_utils.process_allgather(mine).reshape(-1).tolist()
    print(f"process={jax.process_index()} count={jax.process_count()} gathered={gathered}", flush=True)
    print(f"total={sum(gathered)}", flush=True)
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "gathered.json"), "w") as f:
        json.dump({"index": jax.process_index(), "gathered": gathered}, f)
    """
)

FAILS = textwrap.dedent(
    """
    import os

    def load():
        raise ValueError("no such column 'text' in the train channel")

    load()
    """
)


def make_user_base(root: Path, source: Path, program: str, hosts: list[str], current: str) -> Path:
    cfg = root / "input" / "config"
    cfg.mkdir(parents=True)
    # JSON-encoded, as the SageMaker Python SDK sends them.
    hps = {"sagemaker_program": json.dumps(program), "sagemaker_submit_directory": json.dumps(str(source))}
    (cfg / "hyperparameters.json").write_text(json.dumps(hps))
    (cfg / "resourceconfig.json").write_text(json.dumps({"current_host": current, "hosts": hosts}))
    (root / "input" / "data" / "train").mkdir(parents=True)
    (root / "input" / "data" / "train" / "part-0.txt").write_text("hello\n")
    return root


def run_hosts(tmp_path: Path, source: Path, program: str, n: int) -> list[tuple[Path, subprocess.CompletedProcess]]:
    hosts = [f"algo-{i + 1}" for i in range(n)]
    bases = [make_user_base(tmp_path / h, source, program, hosts, h) for h in hosts]
    # SM_STUDIO_LOCAL_MODE: the toolkit would otherwise wait for algo-N to resolve in DNS.
    env = {"JAXSM_COORDINATOR_ADDRESS": f"127.0.0.1:{free_port()}", "SM_STUDIO_LOCAL_MODE": "true"}
    procs = [
        subprocess.Popen(
            [BIN / "train"], env=child_env(b, **env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for b in bases
    ]
    outs = [p.communicate(timeout=240)[0] for p in procs]
    return [
        (b, subprocess.CompletedProcess(p.args, p.returncode, out, ""))
        for b, p, out in zip(bases, procs, outs, strict=True)
    ]


HELPER = GATHER.replace(
    "jax.distributed.initialize()", "import jaxsm.distributed\njaxsm.distributed.initialize_from_sagemaker()"
)


@pytest.mark.parametrize("script", [GATHER, HELPER], ids=["no-arguments", "jaxsm-helper"])
def test_user_script_joins_two_hosts_without_arguments(tmp_path, script):
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text(script)
    results = run_hosts(tmp_path / "job", source, "train.py", 2)
    for base, proc in results:
        assert proc.returncode == 0, proc.stdout
        assert "total=3" in proc.stdout, proc.stdout  # 1 + 2: a real collective over both processes
        assert json.loads((base / "model" / "gathered.json").read_text())["gathered"] == [1, 2]
        assert (base / "output" / "success").exists()
    assert "process=0 count=2" in results[0][1].stdout
    assert "process=1 count=2" in results[1][1].stdout


def test_user_script_single_host_also_initializes(tmp_path):
    """The same script runs unchanged on one host (a tuning trial, say)."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text(GATHER)
    [(base, proc)] = run_hosts(tmp_path / "job", source, "train.py", 1)
    assert proc.returncode == 0, proc.stdout
    assert "process=0 count=1 gathered=[1]" in proc.stdout


def test_uncaught_exception_becomes_the_failure_reason(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text(FAILS)
    [(base, proc)] = run_hosts(tmp_path / "job", source, "train.py", 1)
    assert proc.returncode != 0
    failure = (base / "output" / "failure").read_text()
    assert failure.startswith("ValueError: no such column 'text' in the train channel (train.py:5)"), failure
    assert "Traceback" in proc.stdout  # the full traceback still goes to the log


ECHO_HANDLER = textwrap.dedent(
    """
    import json

    def model_fn(model_dir):
        return {"ready": True}

    def input_fn(body, content_type):
        return json.loads(body)

    def predict_fn(data, model):
        return {"echo": data, "model": model}

    def output_fn(prediction, accept):
        return json.dumps(prediction), "application/json"
    """
)


def test_user_handler_requirements_installed_before_serving(tmp_path):
    root = tmp_path / "ml"
    code = root / "model" / "code"
    code.mkdir(parents=True)
    (code / "inference.py").write_text(ECHO_HANDLER)
    # Already installed: pip resolves it without an index, and the server then loads the handler as usual.
    (code / "requirements.txt").write_text("numpy\n")
    port = free_port()
    proc = subprocess.Popen(
        [BIN / "serve"],
        env=child_env(root, SAGEMAKER_BIND_TO_PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_ping(port, proc, timeout=120)
        status, _, body = http(
            "POST", f"http://127.0.0.1:{port}/invocations", b'{"x": 1}', {"Content-Type": "application/json"}
        )
        assert status == 200 and json.loads(body) == {"echo": {"x": 1}, "model": {"ready": True}}
    finally:
        proc.terminate()
        out = proc.communicate(timeout=60)[0]
    assert "installing packages from" in out and "requirements.txt" in out, out


def test_user_handler_requirements_failure_stops_the_server(tmp_path):
    root = tmp_path / "ml"
    (root / "model" / "code").mkdir(parents=True)
    (root / "model" / "code" / "requirements.txt").write_text("--no-index\njaxsm-no-such-package==1.0\n")
    proc = subprocess.run(
        [BIN / "serve"],
        env=child_env(root, SAGEMAKER_BIND_TO_PORT=str(free_port())),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "pip could not install" in proc.stdout + proc.stderr
