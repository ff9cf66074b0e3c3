"""Service-account key files in google-auth's format, and the public keys the server trusts."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEFAULT_CLIENT_EMAIL = "meet-archive@emulator.iam.gserviceaccount.com"


def write_service_account(
    path: Path | str,
    client_email: str = DEFAULT_CLIENT_EMAIL,
    token_uri: str = "http://127.0.0.1/token",  # noqa: S107 - a URL, not a secret
) -> Path:
    """Write a new service-account JSON with a fresh 2048-bit RSA key; returns the path.

    The file loads with ``google.oauth2.service_account.Credentials.from_service_account_file``;
    give the emulator the same path (or register it) so it trusts the key.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    project = client_email.split("@", 1)[1].split(".", 1)[0] if "@" in client_email else "emulator"
    info = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": client_email,
        "client_id": str(secrets.randbelow(10**20) + 10**20),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "universe_domain": "googleapis.com",
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(info, indent=2))
    target.chmod(0o600)
    return target


def public_key_entry(path: Path | str) -> tuple[str, dict[str, Any]]:
    """(client_email, {key_id, public_key_pem, path}) read from a service-account file."""
    try:
        info = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read a service-account key file ({exc})") from None
    needed = ("private_key", "private_key_id", "client_email")
    if (
        not isinstance(info, dict)
        or info.get("type") != "service_account"
        or not all(isinstance(info.get(name), str) for name in needed)
    ):
        raise ValueError(f"{path}: not a service-account key file")
    # Only the public half is needed; skipping the (slow) private-key checks is safe here.
    try:
        key = serialization.load_pem_private_key(
            info["private_key"].encode(), password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: the private key cannot be read ({exc})") from None
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    entry = {"key_id": info["private_key_id"], "public_key_pem": public_pem, "path": str(path)}
    return info["client_email"], entry
