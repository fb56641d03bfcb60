"""
Exceptions raised by the Bettong SDK.

Every error the server answers carries a stable ``code`` (catalogued in the server's
``src/errors/index.ts``) and a message naming what was wrong. The SDK raises them as one of
the classes below, chosen by HTTP status, so notebooks can catch what they care about::

    try:
        pipeline.infer(df)
    except bettong.errors.InvalidInput as e:
        print(e.code, e.message)

Problems the SDK finds before sending anything (a DataFrame column that is missing or holds
text where the pipeline wants numbers) raise the same classes with the same codes, and
``status`` set to ``None``.
"""
from __future__ import annotations

from typing import Optional

__all__ = [
    "BettongError",
    "InvalidInput",
    "NotFound",
    "Conflict",
    "Unauthorized",
    "Forbidden",
    "ServerError",
    "ConnectionFailed",
    "error_for_status",
]


class BettongError(Exception):
    """Base class of every error the SDK raises on behalf of the server or the data.

    Attributes:
        code: the server's stable error code (``PIPELINE_NOT_FOUND``, ``MISSING_INPUT``, ...),
            or one of the SDK's own (``UNREACHABLE``, ``TIMEOUT``, ``INVALID_RESPONSE``).
        message: what was wrong, in words.
        status: the HTTP status of the answer, or ``None`` when no answer was involved.
    """

    def __init__(self, message: str, code: str = "BETTONG_ERROR", status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, message={self.message!r})"

    def __reduce__(self) -> tuple[type["BettongError"], tuple[str, str, Optional[int]]]:  # keep code/status when pickled
        return (type(self), (self.message, self.code, self.status))


class InvalidInput(BettongError):
    """The request or its data was refused: HTTP 400, 413, 415 or 422 (or found before sending)."""


class NotFound(BettongError):
    """No such model, model version, pipeline or pipeline version: HTTP 404."""


class Conflict(BettongError):
    """The request does not fit the current state, e.g. inference on an undeployed pipeline: HTTP 409."""


class Unauthorized(BettongError):
    """No token or a token the server does not accept: HTTP 401."""


class Forbidden(BettongError):
    """The token is valid but may not do this: HTTP 403."""


class ServerError(BettongError):
    """The server failed (HTTP 5xx), e.g. a deployment that could not load or an inference that failed."""


class ConnectionFailed(BettongError):
    """The server could not be reached or did not answer in time (code ``UNREACHABLE`` or ``TIMEOUT``)."""


_BY_STATUS: dict[int, type[BettongError]] = {
    400: InvalidInput,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: InvalidInput,
    415: InvalidInput,
    422: InvalidInput,
}


def error_for_status(status: int, code: str, message: str) -> BettongError:
    """The exception for an error answer with this HTTP status, server code and message."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else BettongError
    return cls(message, code, status)
