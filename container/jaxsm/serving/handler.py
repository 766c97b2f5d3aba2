"""Former name of `jaxsm.serving.builtin_handler`, kept so handler files written against it (an
`inference.py` in an existing model.tar.gz that imports the built-in functions) still import."""

from .builtin_handler import *  # noqa: F403
from .builtin_handler import negotiate  # noqa: F401
