"""Secrets travel encrypted: plain http:// only to this machine unless the config says so."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sheetsync.config import load_config
from sheetsync.errors import ConfigError
from sheetsync.service.cli import main
from sheetsync.service.wiring import build_clients
from sheetsync.testing import World

HEADER = ["url", "product"]


def invoke(world: World, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=world.environ, catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize(("section", "key"), [("axiom", "base_url"), ("google", "api_base_url")])
def test_plain_http_to_another_host_is_a_config_error_naming_the_key(
    world: World, section: str, key: str
) -> None:
    """`http://` to a host that is not loopback: one line naming the key; nothing is sent."""
    world.sheet([HEADER, ["https://a", "A"]])
    config = world.config(**{section: {key: "http://api.example.com/v3"}})
    with pytest.raises(ConfigError, match=rf"{section}\.{key}: plain http:// to api\.example"):
        world.load()
    for command in ("check", "once"):
        code, output = invoke(world, command, "-c", str(config))
        assert code == 2, output
        assert f"{section}.{key}: plain http://" in output and "allow_insecure_http" in output
    assert world.google.reads() == 0 and world.axiom.triggers == []


def test_plain_http_token_uri_in_the_key_file_is_refused(world: World) -> None:
    """The service account's token_uri: refused by name, the key file named too."""
    world.sheet([HEADER, ["https://a", "A"]])
    config = world.config()
    key_file = world.folder / "service-account.json"
    info = json.loads(key_file.read_text(encoding="utf-8"))
    info["token_uri"] = "http://oauth2.example.com/token"
    key_file.write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"token_uri: plain http:// to oauth2\.example\.com"):
        build_clients(world.load())
    code, output = invoke(world, "check", "-c", str(config))
    assert code == 2, output
    assert str(key_file) in output and "google.allow_insecure_http" not in output
    assert "allow_insecure_http = true in [google]" in output


def test_allow_insecure_http_lets_each_section_opt_in(world: World) -> None:
    """With `allow_insecure_http = true` in its section, a plain-http URL loads."""
    world.sheet([HEADER])
    key_file = world.folder / "service-account.json"
    info = json.loads(key_file.read_text(encoding="utf-8"))
    info["token_uri"] = "http://oauth2.example.com/token"
    key_file.write_text(json.dumps(info), encoding="utf-8")
    world.config(
        axiom={"base_url": "http://axiom.internal/api/v3", "allow_insecure_http": True},
        google={"api_base_url": "http://sheets.internal", "allow_insecure_http": True},
    )
    config = world.load()
    assert config.axiom.allow_insecure_http and config.google.allow_insecure_http
    build_clients(config)  # builds the clients; sends nothing


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8086/api/v3",
        "http://127.9.9.9/x",
        "http://localhost:1/",
        "http://[::1]:8/",
    ],
)
def test_loopback_stays_allowed_for_emulators(world: World, url: str) -> None:
    """Plain http to this machine needs no opt-in (the emulators, a local proxy)."""
    world.sheet([HEADER])
    world.config(axiom={"base_url": url}, google={"api_base_url": url})
    assert world.load().axiom.base_url == url


@pytest.mark.parametrize("url", ["lar.axiom.ai/api/v3", "ftp://lar.axiom.ai/", "https://"])
def test_a_base_url_that_is_not_a_web_url_is_named(world: World, url: str) -> None:
    """A base URL without http(s) and a host: a config error naming the key."""
    world.sheet([HEADER])
    world.config(axiom={"base_url": url})
    with pytest.raises(ConfigError, match=r"axiom\.base_url: must be an https:// URL"):
        load_config(world.folder / "sheetsync.toml", world.environ)
