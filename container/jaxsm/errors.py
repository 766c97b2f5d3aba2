"""User-facing errors and the failure file.

SageMaker turns the first 1024 characters of /opt/ml/output/failure into the job's
FailureReason, so the message must be short, human and name the offending field.
UserError derives from sagemaker-training's ClientError so that, when the trainer runs inside
the toolkit, the toolkit reports it as a client error with our message (not a traceback).
"""

from __future__ import annotations

from pathlib import Path

from sagemaker_training.errors import ClientError

FAILURE_LIMIT = 1024


class UserError(ClientError):
    """A problem the user can fix (bad hyperparameter, missing channel, bad data)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def write_failure(path: Path, message: str) -> None:
    """Write a short reason to the failure file; never raise (we are already failing)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(message[:FAILURE_LIMIT])
    except OSError:
        pass
