"""Client-error types a handler may raise; the server maps them to HTTP statuses.

Handler files written for AWS's sagemaker-inference toolkit raise ValueError or the toolkit's
UnsupportedFormatError; both are recognised too (the latter by name, so this image does not
need the toolkit installed).
"""


class InputError(ValueError):
    """Malformed request body or parameters -> 400 with this message."""

    status = 400


class UnsupportedContentType(ValueError):
    """Content-Type the handler cannot read -> 415."""

    status = 415


class UnsupportedAccept(ValueError):
    """Accept the handler cannot produce -> 406."""

    status = 406


def status_for(exc: BaseException, stage: str) -> int | None:
    """HTTP status for a client error raised by a handler function, None for server errors."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and 400 <= status < 500:
        return status
    if type(exc).__name__ == "UnsupportedFormatError":  # sagemaker_inference.errors
        return 406 if stage == "output" else 415
    if stage == "input" and isinstance(exc, (ValueError, UnicodeDecodeError)):
        return 400
    return None
