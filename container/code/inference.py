"""The built-in handler as a standalone handler file (default module name `inference.py`).

Drop it (or your own file with the same four functions) into model.tar.gz under code/ to
serve it with this image, or with AWS's sagemaker-inference toolkit: the functions are the
toolkit's interface (model_fn, input_fn, predict_fn, output_fn). engine_fn and output_stream_fn
are this image's additions (continuous batching and streaming); the toolkit ignores them.
bench/container/serving_bench.py serves this exact file with both.
"""

from jaxsm.serving.builtin_handler import (  # noqa: F401
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
