"""The real image: build the CPU variant with podman, train with /opt/ml mounted, then serve.

Slow (the first build installs podman and builds the Debian base and the wheels; later builds
hit podman's layer cache) but part of the default suite, so CI runs it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from conftest import TINY, free_port, http, make_base

HERE = Path(__file__).resolve().parent.parent
TAG = "localhost/jaxsm:cpu-test"
pytestmark = pytest.mark.slow


def podman_env() -> dict[str, str]:
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = str(HERE / ".podman" / "containers.conf")
    return env


@pytest.fixture(scope="module")
def image():
    proc = subprocess.run(
        ["bash", str(HERE / "scripts" / "build-image.sh"), TAG], capture_output=True, text=True, timeout=1200
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return TAG


def podman(*args, **kw):
    return subprocess.run(["podman", *args], env=podman_env(), capture_output=True, text=True, **kw)


def test_image_trains_and_serves(image, tmp_path, corpus):
    base = make_base(tmp_path / "ml", corpus, {**TINY, "max_steps": "20", "eval_every": "10", "checkpoint_every": "10"})
    train = podman(
        "run", "--rm", "--runtime", "runc", "--network", "host", "-v", f"{base}:/opt/ml", image, "train", timeout=300
    )
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    log = train.stdout + train.stderr
    assert re.search(r"^step=20 train_loss=[0-9.]+ val_loss=[0-9.]+ tokens_per_sec=[0-9.]+$", log, re.M)
    assert (base / "model" / "params.msgpack").exists()
    # Checkpoints live under the config's fingerprint (jaxsm.checkpoint): <root>/<fingerprint>/<step>/.
    assert [p for p in (base / "checkpoints").glob("*/20") if p.is_dir()]
    assert (base / "output" / "success").exists()

    port = free_port()
    name = f"jaxsm-test-{uuid.uuid4().hex[:8]}"
    serve = subprocess.Popen(
        [
            "podman",
            "run",
            "--rm",
            "--name",
            name,
            "--runtime",
            "runc",
            "--network",
            "host",
            "-e",
            f"SAGEMAKER_BIND_TO_PORT={port}",
            "-v",
            f"{base}:/opt/ml",
            image,
            "serve",
        ],
        env=podman_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert serve.poll() is None, serve.stdout.read() if serve.stdout else serve.returncode
            try:
                if http("GET", url + "/ping", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "image never became ready"
            time.sleep(0.25)
        status, _, body = http(
            "POST",
            url + "/invocations",
            json.dumps({"inputs": ["Hello", "The"], "parameters": {"max_new_tokens": 8}}).encode(),
            {"Content-Type": "application/json"},
        )
        assert status == 200
        out = json.loads(body)
        assert len(out) == 2 and all("generated_text" in o for o in out)
        stopped = podman("stop", "-t", "30", name, timeout=60)  # SIGTERM -> drain -> exit 0
        assert stopped.returncode == 0, stopped.stderr
        assert serve.wait(60) == 0
    finally:
        if serve.poll() is None:
            podman("rm", "-f", name, timeout=60)
            serve.wait(30)
