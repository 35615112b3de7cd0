"""Issue 14 (idle CPU): the Google session reads the proxy environment once per host."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sheetsync.adapters.google.sessions import remember_environment
from sheetsync.testing import World


def test_proxy_environment_is_read_once_per_host_and_still_obeyed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_PROXY still sends 127.0.0.1 past the (unreachable) proxy; the environment is
    looked at once for three requests, where requests alone looks three times."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    looks: list[str] = []
    real = requests.sessions.get_environ_proxies

    def counting(url: str, no_proxy: Any = None) -> dict[str, str]:
        looks.append(url)
        return real(url, no_proxy=no_proxy)

    monkeypatch.setattr(requests.sessions, "get_environ_proxies", counting)
    url = world.google.root_url + "/drive/v3/files"
    plain = requests.Session()
    for _ in range(3):
        assert plain.get(url, timeout=5).status_code == 401  # reached, not via the proxy
    assert len(looks) == 3
    looks.clear()
    session = requests.Session()
    remember_environment(session)
    for _ in range(3):
        assert session.get(url, timeout=5).status_code == 401
    assert len(looks) == 1
    proxied = requests.Session()
    remember_environment(proxied)
    monkeypatch.setenv("NO_PROXY", "")
    with pytest.raises(requests.exceptions.ProxyError):
        proxied.get(url, timeout=5)  # without NO_PROXY the proxy is used, as requests does
