"""The built-in handler as a standalone handler file (default module name `inference.py`).

Drop it (or your own file with the same four functions) into model.tar.gz under code/ to
serve it with this image, or with AWS's sagemaker-inference toolkit: the functions are the
toolkit's interface. bench/container/serving_bench.py serves this exact file with both.
"""

from jaxsm.serving.handler import input_fn, model_fn, output_fn, predict_batch_fn, predict_fn  # noqa: F401
