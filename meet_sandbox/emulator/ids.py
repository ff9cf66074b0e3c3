"""Identifiers in the shapes Google uses."""

from __future__ import annotations

import hashlib
import secrets
import string

_LOWER = string.ascii_lowercase
_ALNUM = string.ascii_letters + string.digits
_DRIVE = string.ascii_letters + string.digits + "-_"
BASE32HEX = set("0123456789abcdefghijklmnopqrstuv")


def _pick(alphabet: str, count: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(count))


def meeting_code() -> str:
    """`abc-mnop-xyz`."""
    return f"{_pick(_LOWER, 3)}-{_pick(_LOWER, 4)}-{_pick(_LOWER, 3)}"


def space_id() -> str:
    """A case-sensitive server id such as `jQCFfuBOdN5z`."""
    return _pick(_ALNUM, 12)


def resource_id(length: int = 16) -> str:
    return _pick(_ALNUM, length)


def drive_file_id() -> str:
    return "1" + _pick(_DRIVE, 32)


def event_id() -> str:
    return _pick("0123456789abcdefghijklmnopqrstuv", 26)


def is_event_id(value: str) -> bool:
    """Calendar's rule for client-chosen ids: base32hex characters, 5 to 1024 of them."""
    return 5 <= len(value) <= 1024 and set(value) <= BASE32HEX


def user_id(email: str) -> str:
    """A stable numeric Google user id for an email (Meet's `users/{id}`)."""
    digest = hashlib.sha256(email.lower().encode()).digest()
    return str(10**20 + int.from_bytes(digest[:8], "big") % (9 * 10**20))
