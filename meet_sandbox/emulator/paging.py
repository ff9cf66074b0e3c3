"""Opaque page tokens and page slicing shared by every list method."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import TypeVar

from .errors import bad_request

T = TypeVar("T")


def _scope_tag(scope: str) -> str:
    # Ties a token to the list (and filter) it was issued for, as Google's tokens are.
    return hashlib.sha256(scope.encode()).hexdigest()[:10]


def encode_token(offset: int, scope: str) -> str:
    raw = json.dumps({"o": offset, "s": _scope_tag(scope)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None, scope: str) -> int:
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = data["o"]
        valid = isinstance(offset, int) and offset >= 0 and data["s"] == _scope_tag(scope)
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise bad_request("Invalid page token.", location="pageToken")
    return offset


def page(
    items: Sequence[T], token: str | None, size: int, scope: str
) -> tuple[list[T], str | None]:
    """One page of `items` and the token of the next page (None on the last page)."""
    start = decode_token(token, scope)
    if start > len(items):
        raise bad_request("Invalid page token.", location="pageToken")
    chunk = list(items[start : start + size])
    end = start + len(chunk)
    return chunk, (encode_token(end, scope) if end < len(items) else None)
