"""The secret registry and the token patterns that keep credentials out of logs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from sheetsync.redact import clear_secrets, is_sensitive_name, redact, register_secret

PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
    "-----END PRIVATE KEY-----\n"
)


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    clear_secrets()
    yield
    clear_secrets()


def test_registered_secret_is_masked_everywhere_it_appears() -> None:
    """Every occurrence of a registered value becomes ***."""
    register_secret("axk_live_Zq81")
    assert redact("key axk_live_Zq81 and again axk_live_Zq81.") == "key *** and again ***."


def test_short_empty_and_missing_secrets_are_ignored() -> None:
    """Values under four characters (or None) would mangle logs, so they are not registered."""
    register_secret("abc")
    register_secret("   ")
    register_secret(None)
    assert redact("abc def") == "abc def"


def test_bytes_secret_and_surrounding_whitespace() -> None:
    """A key file read as bytes with a trailing newline is registered by its content."""
    register_secret(b"s3cr3t-key\n")
    assert redact("using s3cr3t-key now") == "using *** now"


def test_longer_secret_is_masked_whole_when_it_contains_another() -> None:
    """Overlapping secrets never leave a tail of the longer one visible."""
    register_secret("abcd")
    register_secret("abcd-efgh-ijkl")
    assert redact("x abcd-efgh-ijkl y abcd z") == "x *** y *** z"


def test_private_key_is_masked_raw_json_escaped_and_line_by_line() -> None:
    """The service-account key is hidden as PEM, inside JSON, and as any single base64 line."""
    register_secret(PRIVATE_KEY)
    escaped = json.dumps({"private_key": PRIVATE_KEY})
    one_line = PRIVATE_KEY.splitlines()[2]
    for text in (PRIVATE_KEY, escaped, f"partial: {one_line}"):
        out = redact(text)
        assert "MIIEvQ" not in out and "MzEfYy" not in out, out


def test_url_encoded_secret_is_masked() -> None:
    """A secret with reserved characters is also found in its percent-encoded spelling."""
    secret = "p@ss/w0rd+key=="
    register_secret(secret)
    assert redact(f"GET /x?k={quote(secret, safe='')}") == "GET /x?k=***"


def test_clear_secrets_forgets_the_registry() -> None:
    """clear_secrets() makes redact() stop masking previously registered values."""
    register_secret("forget-me")
    clear_secrets()
    assert redact("forget-me") == "forget-me"


def test_concurrent_registration_keeps_every_secret() -> None:
    """Threads registering at once all end up in the registry."""
    secrets = [f"secret-{n:04d}-value" for n in range(200)]

    def register_all(chunk: list[str]) -> None:
        for secret in chunk:
            register_secret(secret)

    threads = [threading.Thread(target=register_all, args=(secrets[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert redact(" ".join(secrets)) == " ".join(["***"] * len(secrets))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Authorization: Bearer ya29.a0AfB_byC-token.value",
            "Authorization: Bearer ***",
        ),
        ("token ya29.c.b0AXv0zTOg-abc_DEF in error", "token *** in error"),
        (
            '{"access_token": "ya29.zzz", "expires_in": 3599, "token_type": "Bearer"}',
            '{"access_token": "***", "expires_in": 3599, "token_type": "Bearer"}',
        ),
        ('{"key":"axk_live_1","name":"Scrape"}', '{"key":"***","name":"Scrape"}'),
        ("{'key': 'axk_live_1', 'data': []}", "{'key': '***', 'data': []}"),
        ('{"key": "a \\"quoted\\" key", "x": 1}', '{"key": "***", "x": 1}'),
        ("POST /trigger?key=axk_live_1&name=Scrape", "POST /trigger?key=***&name=Scrape"),
        (
            "grant_type=jwt-bearer&assertion=eyJhbGc.eyJpc3M.sig",
            "grant_type=jwt-bearer&assertion=***",
        ),
        ("jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl", "jwt ***"),
        (
            '"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n"',
            '"private_key": "***"',
        ),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "***"),
    ],
)
def test_token_shapes_are_masked_without_registration(text: str, expected: str) -> None:
    """OAuth tokens, bearer headers, key fields and PEM blocks are masked even if unregistered."""
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "monkey=banana and keyboard=us",
        "the bearer of news",
        "watch scrape: 3 rows triggered",
        '{"name": "Scrape product page", "data": [["URL"], ["https://x.test"]]}',
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    """Words that merely contain a sensitive name are not masked."""
    assert redact(text) == text


def test_sensitive_field_names() -> None:
    """Field names that hold secrets are recognised, whatever their case."""
    assert is_sensitive_name("key")
    assert is_sensitive_name("Access_Token")
    assert is_sensitive_name("private_key")
    assert not is_sensitive_name("watch")
    assert not is_sensitive_name("keyboard")
