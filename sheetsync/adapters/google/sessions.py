"""HTTP sessions that read their environment once per host instead of at every request.

requests looks up proxy variables (`HTTPS_PROXY`, `NO_PROXY`, ...) and CA-bundle
variables in the environment for every request, walking every variable twice: a third
of an idle cycle's CPU. A daemon's environment does not change while it runs, so the
answer for a host is remembered; everything requests does with it stays the same.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests


def remember_environment(session: requests.Session) -> None:
    """Make `session` merge its environment settings once per (scheme, host, options)."""
    original = session.merge_environment_settings
    memo: dict[tuple[Any, ...], dict[str, Any]] = {}

    def merge(url: str, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        if proxies:  # per-request proxies: nothing to remember
            return dict(original(url, proxies, stream, verify, cert))
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, stream, verify, _hashable(cert))
        found = memo.get(key)
        if found is None:
            found = memo[key] = dict(original(url, {}, stream, verify, cert))
        return {**found, "proxies": dict(found["proxies"])}

    session.merge_environment_settings = merge  # type: ignore[method-assign,assignment]


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
