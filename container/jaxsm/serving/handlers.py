"""Locate and load the inference handler module.

Order: `$SAGEMAKER_BASE_DIR/model/code/<SAGEMAKER_PROGRAM>` (default `inference.py`), the user's
handler shipped inside model.tar.gz, wins; otherwise the built-in jaxsm.serving.handler. A user
module may define any subset of model_fn / input_fn / predict_fn / output_fn (or transform_fn);
missing functions fall back to the built-in ones, as the toolkit falls back to its defaults.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_PROGRAM = "inference.py"


@dataclass
class Handler:
    source: str
    model_fn: Callable[..., Any]
    input_fn: Callable[[Any, str], Any]
    predict_fn: Callable[[Any, Any], Any]
    output_fn: Callable[[Any, str], Any]
    predict_batch_fn: Callable[[Any, Any], Any] | None
    transform_fn: Callable[..., Any] | None
    supported_accepts: tuple[str, ...] | None


def _load_file(path: Path) -> ModuleType:
    # The handler's directory goes on sys.path so it can import its own helper modules.
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_handler(model_dir: Path) -> Handler:
    from . import handler as builtin

    program = os.environ.get("SAGEMAKER_PROGRAM", "").strip() or DEFAULT_PROGRAM
    if not program.endswith(".py"):
        program += ".py"
    user_path = model_dir / "code" / program
    user = _load_file(user_path) if user_path.is_file() else None
    source = str(user_path) if user else "built-in jaxsm.serving.handler"
    log.info("inference handler: %s", source)

    def pick(name: str):
        if user is not None and hasattr(user, name):
            return getattr(user, name)
        return getattr(builtin, name, None)

    # Batching only when predict_fn is the matching batched one (a user module that overrides
    # predict_fn but not predict_batch_fn must have its own predict_fn called).
    if (
        user is not None
        and (hasattr(user, "predict_fn") or hasattr(user, "model_fn"))
        and not hasattr(user, "predict_batch_fn")
    ):
        predict_batch_fn = None
    else:
        predict_batch_fn = pick("predict_batch_fn")
    accepts = pick("SUPPORTED_ACCEPTS")
    if user is not None and hasattr(user, "output_fn") and not hasattr(user, "SUPPORTED_ACCEPTS"):
        accepts = None  # the user's output_fn decides what it can produce
    return Handler(
        source=source,
        model_fn=pick("model_fn"),
        input_fn=pick("input_fn"),
        predict_fn=pick("predict_fn"),
        output_fn=pick("output_fn"),
        predict_batch_fn=predict_batch_fn,
        transform_fn=getattr(user, "transform_fn", None) if user else None,
        supported_accepts=tuple(accepts) if accepts else None,
    )
