"""PURE: where sheetsync may send a secret: https anywhere, plain http only to this machine.

The axiom key, Google's access tokens and the service account's signed assertion travel
with every call; over plain http anyone on the path reads them. Loopback addresses
(127.0.0.0/8, ::1, localhost) stay allowed for the emulators; anything else needs the
section's `allow_insecure_http = true`.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from sheetsync.config.schema import Invalid


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine without a lookup (127.0.0.0/8, ::1, localhost)."""
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def url_problem(url: str, carries: str, section: str, *, allow_insecure: bool) -> str | None:
    """Why `url` must not be used as a base URL carrying `carries` (None: it may)."""
    try:
        parts = urlsplit(url.strip())
        scheme, host = parts.scheme, parts.hostname
    except ValueError:  # e.g. an unclosed [ in an IPv6 host
        scheme, host = "", None
    if host is None or scheme not in ("http", "https"):
        return f"must be an https:// URL, got {url!r}"
    if scheme == "http" and not allow_insecure and not is_loopback(host):
        return (
            f"plain http:// to {host} would send {carries} unencrypted; use https://, or "
            f"set allow_insecure_http = true in [{section}] (loopback addresses are allowed)"
        )
    return None


_CARRIES = {"axiom": "the axiom key", "google": "Google access tokens"}


def require_secure(section: str, key: str, url: str, allow_insecure: bool) -> None:
    """In a config section's check: raise `Invalid` naming `key` when `url` may not be used."""
    problem = url_problem(url, _CARRIES[section], section, allow_insecure=allow_insecure)
    if problem is not None:
        raise Invalid((key,), problem)
