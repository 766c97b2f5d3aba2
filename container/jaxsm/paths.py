"""The SageMaker container filesystem layout.

SageMaker mounts everything under /opt/ml. The AWS toolkits (and local process mode) move that
root with SAGEMAKER_BASE_DIR, so every path here is derived from it at call time, never cached
at import, because tests and the local orchestrator start several "hosts" with different roots.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BASE_DIR = "/opt/ml"


def base_dir() -> Path:
    return Path(os.environ.get("SAGEMAKER_BASE_DIR", DEFAULT_BASE_DIR))


@dataclass(frozen=True)
class SageMakerPaths:
    """All paths the three contracts use, relative to one base directory."""

    base: Path

    @classmethod
    def from_env(cls) -> SageMakerPaths:
        return cls(base_dir())

    # training
    @property
    def input_config(self) -> Path:
        return self.base / "input" / "config"

    @property
    def hyperparameters(self) -> Path:
        return self.input_config / "hyperparameters.json"

    @property
    def resource_config(self) -> Path:
        return self.input_config / "resourceconfig.json"

    @property
    def input_data(self) -> Path:
        return self.base / "input" / "data"

    def channel(self, name: str) -> Path:
        return self.input_data / name

    @property
    def model(self) -> Path:
        return self.base / "model"

    @property
    def checkpoints(self) -> Path:
        return self.base / "checkpoints"

    @property
    def output(self) -> Path:
        return self.base / "output"

    @property
    def tensorboard(self) -> Path:
        # TensorBoardOutputConfig.LocalPath's default: SageMaker syncs this directory to its S3OutputPath.
        return self.output / "tensorboard"

    @property
    def failure(self) -> Path:
        return self.output / "failure"

    @property
    def code(self) -> Path:
        return self.base / "code"

    # serving: a user handler shipped inside model.tar.gz lives here
    @property
    def model_code(self) -> Path:
        return self.model / "code"

    # processing
    @property
    def processing_input(self) -> Path:
        return self.base / "processing" / "input"

    @property
    def processing_output(self) -> Path:
        return self.base / "processing" / "output"

    @property
    def processing_config(self) -> Path:
        # Processing jobs get their job description here (not under input/config).
        return self.base / "config" / "processingjobconfig.json"

    @property
    def output_message(self) -> Path:
        # Processing jobs: the first 1 KB becomes the job's ExitMessage.
        return self.output / "message"
