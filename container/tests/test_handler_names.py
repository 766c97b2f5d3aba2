"""The built-in handler's former module name still imports, so an inference.py in an existing
model.tar.gz written against `jaxsm.serving.handler` keeps working."""

from __future__ import annotations

from jaxsm.serving import builtin_handler


def test_the_former_module_name_gives_the_built_in_functions():
    from jaxsm.serving.handler import (
        STREAM_ACCEPTS,
        SUPPORTED_ACCEPTS,
        engine_fn,
        input_fn,
        model_fn,
        output_fn,
        output_stream_fn,
        predict_batch_fn,
        predict_fn,
    )

    assert (model_fn, input_fn, predict_fn, output_fn) == (
        builtin_handler.model_fn,
        builtin_handler.input_fn,
        builtin_handler.predict_fn,
        builtin_handler.output_fn,
    )
    assert engine_fn is builtin_handler.engine_fn and output_stream_fn is builtin_handler.output_stream_fn
    assert predict_batch_fn is builtin_handler.predict_batch_fn
    assert (STREAM_ACCEPTS, SUPPORTED_ACCEPTS) == (builtin_handler.STREAM_ACCEPTS, builtin_handler.SUPPORTED_ACCEPTS)
