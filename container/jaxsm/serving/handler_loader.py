"""Locate and load the inference handler module.

Order: `$SAGEMAKER_BASE_DIR/model/code/<SAGEMAKER_PROGRAM>` (default `inference.py`), the user's
handler shipped inside model.tar.gz, wins; otherwise the built-in jaxsm.serving.builtin_handler. A user
module may define any subset of model_fn / input_fn / predict_fn / output_fn (or transform_fn);
missing functions fall back to the built-in ones, as the toolkit falls back to its defaults.

The continuous-batching engine (engine_fn) and run-to-completion batching (predict_batch_fn) are
used only where the prediction is the built-in one: a module that defines its own predict_fn or
model_fn, and not engine_fn (resp. predict_batch_fn), gets its predict_fn called.
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
    engine_fn: Callable[[Any], Any] | None = None
    output_stream_fn: Callable[[Any, str], bytes] | None = None
    stream_accepts: tuple[str, ...] = ()


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
    from . import builtin_handler as builtin

    program = os.environ.get("SAGEMAKER_PROGRAM", "").strip() or DEFAULT_PROGRAM
    if not program.endswith(".py"):
        program += ".py"
    user_path = model_dir / "code" / program
    user = _load_file(user_path) if user_path.is_file() else None
    source = str(user_path) if user else "built-in jaxsm.serving.builtin_handler"
    log.info("inference handler: %s", source)

    def pick(name: str):
        if user is not None and hasattr(user, name):
            return getattr(user, name)
        return getattr(builtin, name, None)

    def predicts_itself(replacement: str) -> bool:
        """The user's own model_fn/predict_fn without the batched `replacement` for predict_fn."""
        own = hasattr(user, "predict_fn") or hasattr(user, "model_fn")
        return user is not None and own and not hasattr(user, replacement)

    predict_batch_fn = None if predicts_itself("predict_batch_fn") else pick("predict_batch_fn")
    engine_fn = None if predicts_itself("engine_fn") else pick("engine_fn")
    accepts = pick("SUPPORTED_ACCEPTS")
    own_output = user is not None and hasattr(user, "output_fn")
    if own_output and not hasattr(user, "SUPPORTED_ACCEPTS"):
        accepts = None  # the user's output_fn decides what it can produce
    # Streaming needs the engine and a stream formatter that matches the output_fn in use.
    output_stream_fn = pick("output_stream_fn")
    if engine_fn is None or (own_output and not hasattr(user, "output_stream_fn")):
        output_stream_fn = None
    stream_accepts = tuple(pick("STREAM_ACCEPTS") or ()) if output_stream_fn else ()
    return Handler(
        source=source,
        model_fn=pick("model_fn"),
        input_fn=pick("input_fn"),
        predict_fn=pick("predict_fn"),
        output_fn=pick("output_fn"),
        predict_batch_fn=predict_batch_fn,
        transform_fn=getattr(user, "transform_fn", None) if user else None,
        supported_accepts=tuple(accepts) if accepts else None,
        engine_fn=engine_fn,
        output_stream_fn=output_stream_fn,
        stream_accepts=stream_accepts,
    )
