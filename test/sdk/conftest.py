"""A local stack of its own for the SDK tests: fresh state dir, free ports, `npm run local -- up`, torn down after."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TSX = REPO / "node_modules" / ".bin" / "tsx"
CONTAINER_BIN = REPO / "container" / ".venv" / "bin"

# The SDK posts usage telemetry to an AWS S3 URL with requests (no timeout): opt out, as its config allows.
SDK_CONFIG = """SchemaVersion: '1.0'
SageMaker:
  PythonSDK:
    Modules:
      TelemetryOptOut: true
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stack(cmd: str, env: dict[str, str]) -> str:
    out = subprocess.run(
        [str(TSX), str(REPO / "local" / "stack" / "cli.ts"), cmd],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if out.returncode != 0:
        raise RuntimeError(f"local {cmd} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return out.stdout


@pytest.fixture(scope="session")
def stack() -> Iterator[dict[str, str]]:
    """The environment an AWS SDK needs to talk to a running local stack (set in os.environ as well)."""
    if not (CONTAINER_BIN / "train").exists() or not TSX.exists():
        pytest.skip("run scripts/bootstrap.sh first (container/.venv and node_modules)")
    state = Path(tempfile.mkdtemp(prefix="sdk-e2e-"))
    env = {
        **os.environ,
        "LOCAL_STATE_DIR": str(state),
        "LOCAL_TEMPORAL_PORT": str(free_port()),
        "LOCAL_TEMPORAL_UI_PORT": str(free_port()),
        "LOCAL_MOTO_PORT": str(free_port()),
        "LOCAL_SAGEMAKER_PORT": str(free_port()),
        "LOCAL_REGISTRY_PORT": str(free_port()),
        "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED": "true",
        # The tests' roles (permissive on their own buckets): the SDK's jobs run under SageMakerRole.
        "LOCAL_IAM_ROLES": str(REPO / "test" / "fixtures" / "iam" / "test-roles.json"),
    }
    for var in ("LOCAL_EXECUTOR", "LOCAL_CODEBUILD_BUILDER"):
        env.pop(var, None)
    ok = False
    try:
        printed = _stack("up", env)
        aws = dict(line.removeprefix("export ").split("=", 1) for line in printed.splitlines() if "=" in line)
        # The SDK user is a data scientist with administrator rights, not the pipeline's worker (whose policy is
        # held to the pipeline's own resources).
        aws.update(AWS_ACCESS_KEY_ID="localadmin", AWS_SECRET_ACCESS_KEY="local")
        aws.pop("AWS_SESSION_TOKEN", None)
        config = state / "sagemaker-sdk-config.yaml"
        config.write_text(SDK_CONFIG)
        aws["SAGEMAKER_USER_CONFIG_OVERRIDE"] = str(config)
        os.environ.update(aws)
        yield aws
        ok = True
    finally:
        _stack("down", env)
        if ok and os.environ.get("E2E_KEEP_STATE") != "1":
            shutil.rmtree(state, ignore_errors=True)
        else:
            print(f"sdk e2e: state and logs kept in {state}")
