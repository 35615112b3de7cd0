"""The wire under the axiom client: which transport failures are safe to resend, how to
say what went wrong, and reading an answer without reading more than `MAX_BODY_BYTES`."""

from __future__ import annotations

import requests
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

from sheetsync.adapters.axiom.answers import MAX_BODY_BYTES, SNIPPET_CHARS
from sheetsync.redact import one_line

CHUNK_BYTES = 64 * 1024


def failed_before_sending(exc: requests.RequestException) -> bool:
    """Whether the failure certainly happened before the request left (safe to resend)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.ProxyError):
        return True
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return True
    if isinstance(exc, requests.exceptions.InvalidSchema):
        return True
    if isinstance(exc, requests.exceptions.SSLError):
        # a refused certificate or handshake happens before the request is written
        return any(w in str(exc).lower() for w in ("certificate", "handshake", "wrong version"))
    if isinstance(exc, requests.ConnectionError) and exc.args:
        reason = exc.args[0]
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        return isinstance(reason, NewConnectionError)  # NameResolutionError included
    return False


def cause(exc: requests.RequestException, timeouts: tuple[float, float]) -> str:  # noqa: PLR0911 - one line per cause
    """A short human description of a transport failure."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"no connection within {timeouts[0]:g} s"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"no answer within {timeouts[1]:g} s"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the answer was cut off"
    reason: object = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    if isinstance(reason, NameResolutionError):
        return "host name not found (DNS)"
    if isinstance(reason, NewConnectionError):
        return "connection refused" if "refused" in str(reason).lower() else "cannot connect"
    if "aborted" in str(reason).lower() or "disconnected" in str(reason).lower():
        return "the connection closed before axiom answered"
    if "timed out" in str(reason).lower():
        return f"no answer within {timeouts[1]:g} s"
    return f"{type(exc).__name__}: {one_line(str(exc)[: SNIPPET_CHARS * 4], SNIPPET_CHARS)}"


def read_capped(response: requests.Response, limit: int = MAX_BODY_BYTES) -> tuple[str, bool]:
    """The start of a streamed answer's body as text, and whether it went on past `limit`
    bytes (the rest is never read: a huge answer costs neither memory nor CPU)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(CHUNK_BYTES):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    body = b"".join(chunks)
    encoding = response.encoding or "utf-8"
    try:
        text = body[:limit].decode(encoding, errors="replace")
    except LookupError:  # a charset Python does not know
        text = body[:limit].decode("utf-8", errors="replace")
    return text, size > limit
