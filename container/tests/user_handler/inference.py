"""A user handler (as shipped in model.tar.gz under code/) used by the server tests.

model_fn is slow on purpose so /ping can be observed before the model is loaded; predict_fn
misbehaves on request so the 500 and drain paths can be exercised.
"""

import json
import time


def model_fn(model_dir):
    time.sleep(2.0)
    return {"loaded_from": model_dir}


def input_fn(input_data, content_type):
    return input_data.decode("utf-8") if isinstance(input_data, bytes) else input_data


def predict_fn(data, model):
    if data == "boom":
        raise RuntimeError("secret-internal-detail")
    if data.startswith("slow"):
        time.sleep(1.5)
    return {"echo": data, "model": model["loaded_from"]}


def output_fn(prediction, accept):
    return json.dumps({"handler": "user", **prediction}), "application/json"
