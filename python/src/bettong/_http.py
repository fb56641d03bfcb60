"""The one place that talks HTTP: requests, and server errors turned into exceptions."""
from __future__ import annotations

import contextlib
import json
from typing import Any, Iterator, Mapping, Optional
from urllib.parse import quote

import httpx

from ._version import __version__
from .errors import BettongError, ConnectionFailed, error_for_status

JsonBody = Any


def segment(value: object) -> str:
    """A path segment, percent-encoded so any name reaches the server as one segment."""
    return quote(str(value), safe="")


def _error_from_response(resp: httpx.Response) -> BettongError:
    """The exception for a non-2xx answer: the server's code and message, never a raw HTTP dump."""
    text = resp.text
    code: Optional[str] = None
    message: Optional[str] = None
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        code = body.get("code") if isinstance(body.get("code"), str) else None
        err = body.get("error")
        message = err if isinstance(err, str) else (err.get("message") if isinstance(err, Mapping) else None)
    if message is None:
        snippet = " ".join(text.split())[:200]
        message = f"{resp.request.method} {resp.request.url.path} answered {resp.status_code} {resp.reason_phrase}" + (
            f": {snippet}" if snippet else ""
        )
    return error_for_status(resp.status_code, code or f"HTTP_{resp.status_code}", message)


class Http:
    """A small wrapper over ``httpx.Client`` that raises :mod:`bettong.errors` exceptions."""

    def __init__(self, url: str, token: Optional[str], timeout: float, workspace: Optional[str] = None) -> None:
        headers = {"user-agent": f"bettong-python/{__version__}"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        if workspace:
            headers["bettong-workspace"] = workspace
        self.url = url
        self._client = httpx.Client(base_url=url, headers=headers, timeout=timeout)

    def close(self) -> None:
        """Closes the pooled connections."""
        self._client.close()

    def _send(self, request: httpx.Request, stream: bool = False) -> httpx.Response:
        try:
            resp = self._client.send(request, stream=stream)
        except httpx.TimeoutException:
            raise ConnectionFailed(
                f"Bettong at {self.url} did not answer {request.method} {request.url.path} in time "
                f"(timeout {self._client.timeout.read}s; pass timeout= to bettong.Client)", "TIMEOUT"
            ) from None
        except httpx.TransportError as e:
            raise ConnectionFailed(f"cannot reach Bettong at {self.url}: {e}", "UNREACHABLE") from None
        if resp.status_code >= 400:
            if stream:
                resp.read()
                resp.close()
            raise _error_from_response(resp)
        return resp

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: JsonBody = None,
        content: Optional[bytes] = None,
        headers: Optional[Mapping[str, str]] = None,
        params: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
    ) -> httpx.Response:
        """Sends one request; a 4xx/5xx answer or a network failure raises a BettongError."""
        hdrs = dict(headers or {})
        if json_body is not None:
            content = json.dumps(json_body, allow_nan=False).encode("utf-8")
            hdrs.setdefault("content-type", "application/json")
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        req = self._client.build_request(method, path, content=content, headers=hdrs, params=clean, **extra)
        return self._send(req)

    def json(self, method: str, path: str, **kw: Any) -> Any:
        """Sends a request and returns its JSON answer."""
        resp = self.request(method, path, **kw)
        try:
            return resp.json()
        except ValueError:
            raise BettongError(
                f"{method} {path} answered {resp.status_code} with a body that is not JSON", "INVALID_RESPONSE", resp.status_code
            ) from None

    @contextlib.contextmanager
    def stream(self, method: str, path: str, params: Optional[Mapping[str, Any]] = None) -> Iterator[httpx.Response]:
        """A streamed answer (artifacts, log exports), closed when the block ends."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        req = self._client.build_request(method, path, params=clean)
        resp = self._send(req, stream=True)
        try:
            yield resp
        finally:
            resp.close()
