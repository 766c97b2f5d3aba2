"""Handler service for AWS's sagemaker-inference toolkit on Multi Model Server (the bench's
anchor). This is the standard BYOC recipe from the toolkit's README: the toolkit's Transformer
loads the user module (`inference.py` from <model_dir>/code) and calls model_fn, input_fn,
predict_fn and output_fn, one request at a time per MMS worker."""

from sagemaker_inference.default_handler_service import DefaultHandlerService
from sagemaker_inference.default_inference_handler import DefaultInferenceHandler
from sagemaker_inference.transformer import Transformer


class HandlerService(DefaultHandlerService):
    def __init__(self):
        super().__init__(transformer=Transformer(default_inference_handler=DefaultInferenceHandler()))
