"""API keys: shown once, stored only as a SHA-256 of their secret, compared in constant time.

A key reads ``mka_<key id>_<secret>``. The key id is public (it names the key in logs and
audit events); the secret has 256 bits of entropy, so a plain SHA-256 is enough at rest
(no password stretching needed, as with GitHub or Stripe tokens).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from meet_core.audit import append_event
from meet_core.db.models import ApiClient, ApiKey, Role
from meet_core.db.types import utcnow

KEY_PATTERN = re.compile(r"^mka_([a-z2-7]{16})_([A-Za-z0-9_-]{43})$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
# last_used_at is kept to this resolution: a read does not write while the stored value is
# younger, so authenticating is a plain SELECT for all but one request a minute per key.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key_id: str
    client_id: str
    role: str
    plaintext: str
    client_created: bool = False  # the client did not exist: the key sees none of the others' meetings


@dataclass(frozen=True, slots=True)
class ActiveKey:
    """An authenticated key: what a request needs to know about its caller."""

    key_id: str
    name: str
    role: str
    client_id: str
    client_name: str
    last_used_at: datetime | None


# A key's row by ``:key_id``: what :func:`verified` checks (meet_api's rate limit counts the
# request in the same statement: meet_api.lib.ratelimit).
KEY_LOOKUP = (
    select(
        ApiKey.id.label("key_id"),
        ApiKey.secret_hash,
        ApiKey.revoked_at,
        ApiKey.last_used_at,
        ApiKey.name,
        ApiKey.role,
        ApiKey.client_id,
        ApiClient.name.label("client_name"),
    )
    .join(ApiClient, ApiClient.id == ApiKey.client_id)
    .where(ApiKey.id == bindparam("key_id"))
)


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, *, name: str, role: str, client: str, actor: str = "cli") -> IssuedKey:
    """Create a key (and its client if new); the plaintext is returned once and never stored."""
    if role not in {r.value for r in Role}:
        raise ValueError(f"role must be one of {', '.join(r.value for r in Role)}, got {role!r}")
    if not name.strip() or len(name) > 100:
        raise ValueError("name must be 1 to 100 characters")
    if not client.strip() or len(client) > 100:
        raise ValueError("client must be 1 to 100 characters")
    api_client = session.scalar(select(ApiClient).where(ApiClient.name == client))
    created = api_client is None
    if api_client is None:
        api_client = ApiClient(name=client)
        session.add(api_client)
        session.flush()
    key_id = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    secret = secrets.token_urlsafe(32)
    session.add(
        ApiKey(id=key_id, client_id=api_client.id, name=name, role=role, secret_hash=_hash_secret(secret))
    )
    append_event(
        session,
        actor=actor,
        action="api_key.created",
        entity_type="api_key",
        entity_id=key_id,
        payload={"name": name, "role": role, "client": client},
    )
    return IssuedKey(key_id, api_client.id, role, f"mka_{key_id}_{secret}", created)


def client_names(session: Session) -> list[str]:
    return list(session.scalars(select(ApiClient.name).order_by(ApiClient.name)))


@dataclass(frozen=True, slots=True)
class PresentedKey:
    """A well-formed token as the lookup needs it: the key id and its secret's hash."""

    key_id: str
    secret_hash: str


def presented(token: str) -> PresentedKey | None:
    """The key id and secret hash of a well-formed token; None if it is not one."""
    match = KEY_PATTERN.match(token)
    if match is None:
        return None
    key_id, secret = match.groups()
    return PresentedKey(key_id, _hash_secret(secret))


def verified(key: PresentedKey, row: Any) -> ActiveKey | None:
    """The active key if ``row`` (of :data:`KEY_LOOKUP`, or None) matches the presented secret."""
    # Compare even when the key is unknown so that timing does not reveal which ids exist.
    stored = row.secret_hash if row is not None else "0" * 64
    if not hmac.compare_digest(stored, key.secret_hash) or row is None or row.revoked_at:
        return None
    return ActiveKey(key.key_id, row.name, row.role, row.client_id, row.client_name, row.last_used_at)


def authenticate(db: Connection | Session, token: str) -> ActiveKey | None:
    """The active key for a presented token, or None. Reads only: see :func:`record_use`."""
    key = presented(token)
    if key is None:
        return None
    return verified(key, db.execute(KEY_LOOKUP, {"key_id": key.key_id}).one_or_none())


def record_use(db: Connection | Session, key: ActiveKey) -> None:
    """Records the key's last use, to :data:`LAST_USED_RESOLUTION`: only when the stored
    value is older (the caller commits, if in a transaction)."""
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        db.execute(update(ApiKey).where(ApiKey.id == key.key_id).values(last_used_at=now))


def revoke_key(session: Session, key_id: str, *, actor: str = "cli") -> bool:
    key = session.get(ApiKey, key_id)
    if key is None:
        return False
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        append_event(session, actor=actor, action="api_key.revoked", entity_type="api_key", entity_id=key_id)
    return True


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))
