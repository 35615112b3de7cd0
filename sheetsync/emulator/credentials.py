"""Service-account key files for the local Google emulator (tests and `sheetsync demo`).

The key is a real RSA key made with `cryptography`, because google-auth signs its
token request with it; one key is generated per process (it takes a moment) and
never written anywhere but the 0600 key files asked for.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

DEFAULT_CLIENT_EMAIL = "sheetsync@test.iam.gserviceaccount.com"


@functools.cache
def _private_key_pem() -> tuple[str, str]:
    """(PEM of a fresh 2048-bit RSA key, its key id), made once per process."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, hashlib.sha1(public).hexdigest()


def generate_service_account_info(
    token_uri: str, client_email: str = DEFAULT_CLIENT_EMAIL
) -> dict[str, str]:
    """A service-account key (as in Google's JSON key file) whose token_uri is `token_uri`."""
    pem, key_id = _private_key_pem()
    domain = client_email.partition("@")[2]
    project_id = domain.split(".")[0] if domain.endswith(".iam.gserviceaccount.com") else "test"
    client_id = str(int(hashlib.sha256(client_email.encode()).hexdigest(), 16))[:21]
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": key_id,
        "private_key": pem,
        "client_email": client_email,
        "client_id": client_id,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
        + client_email.replace("@", "%40"),
        "universe_domain": "googleapis.com",
    }


def write_key_file(path: str | os.PathLike[str], info: dict[str, Any]) -> Path:
    """Write a key file readable by its owner only (0600), replacing any old one."""
    target = Path(path)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(info, handle, indent=2)
        handle.write("\n")
    target.chmod(0o600)
    return target
