"""A user handler's dependencies: `requirements.txt` beside it is installed before the model loads.

The SageMaker Python SDK repacks `Model(entry_point=..., source_dir=...)` into model.tar.gz under
`code/` (SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code), and AWS's inference toolkit installs
`/opt/ml/model/code/requirements.txt` with pip before it starts the model server; so does `serve`.
A failed install stops the server (the endpoint's health check then fails with the pip log).
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

log = logging.getLogger("jaxsm.serve")


class RequirementsError(RuntimeError):
    """pip could not install the handler's requirements.txt."""


def install_requirements(code_dir: Path) -> bool:
    """Installs `code_dir/requirements.txt` into this Python when it exists; True when it did."""
    requirements = code_dir / "requirements.txt"
    if not requirements.is_file():
        return False
    log.info("installing packages from %s", requirements)
    cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-r", str(requirements)]
    result = subprocess.run(cmd, cwd=code_dir, check=False)
    if result.returncode != 0:
        raise RequirementsError(f"pip could not install {requirements} (exit code {result.returncode}); see the log")
    return True
