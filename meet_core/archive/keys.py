"""Object keys and user metadata, validated before anything reaches S3.

Keys are built only from stable ids (never titles), one id per path segment, so that a key
can be recomputed years later and never smuggles a ``..`` or a control character.
"""

from __future__ import annotations

import re

# One segment: letters, digits and ``. _ - =``; must start with a letter or digit, so
# ``.``/``..`` and hidden-looking names are impossible.
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=-]{0,254}")
_META_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,127}")
MAX_KEY_BYTES = 1024
MAX_METADATA_BYTES = 2048  # S3's limit for user-defined metadata (names plus values)


def _check_segment(segment: object, what: str) -> str:
    if not isinstance(segment, str):
        raise ValueError(f"{what}: expected a string, got {type(segment).__name__}")
    if not _SEGMENT.fullmatch(segment):
        raise ValueError(f"{what}: unsafe or empty key segment {segment!r}")
    return segment


def object_key(prefix: str, *parts: str) -> str:
    """``prefix/part1/…/partN``; ``prefix`` may be empty or hold several segments."""
    if not isinstance(prefix, str):
        raise ValueError(f"prefix: expected a string, got {type(prefix).__name__}")
    if not parts:
        raise ValueError("object_key needs at least one part")
    segments = (
        [_check_segment(s, "prefix") for s in prefix.strip("/").split("/")] if prefix.strip("/") else []
    )
    segments += [_check_segment(p, f"part {i}") for i, p in enumerate(parts, 1)]
    key = "/".join(segments)
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ValueError(f"key longer than {MAX_KEY_BYTES} bytes")
    return key


def check_key(key: object) -> str:
    """Accept only keys that :func:`object_key` could have built."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"key: expected a non-empty string, got {key!r}")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ValueError(f"key longer than {MAX_KEY_BYTES} bytes")
    for segment in key.split("/"):
        _check_segment(segment, "key")
    return key


def check_metadata(metadata: object, reserved: frozenset[str]) -> dict[str, str]:
    """User metadata travels as HTTP headers: lowercase names, printable ASCII values."""
    if not isinstance(metadata, dict):
        raise ValueError(f"metadata: expected a dict, got {type(metadata).__name__}")
    total = 0
    for name, value in metadata.items():
        if not isinstance(name, str) or not _META_KEY.fullmatch(name):
            raise ValueError(f"metadata name {name!r}: use lowercase letters, digits and '-'")
        if name in reserved:
            raise ValueError(f"metadata name {name!r} is reserved for the archive writer")
        if not isinstance(value, str) or not all(0x20 <= ord(c) < 0x7F for c in value):
            raise ValueError(f"metadata {name!r}: value must be printable ASCII text")
        total += len(name) + len(value)
    if total > MAX_METADATA_BYTES - 200:  # leave room for the writer's own entries
        raise ValueError(f"metadata larger than {MAX_METADATA_BYTES - 200} bytes")
    return dict(metadata)


def check_content_type(content_type: object) -> str:
    if not isinstance(content_type, str) or not re.fullmatch(
        r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*(; ?[a-z0-9-]+=[A-Za-z0-9._-]+)*",
        content_type,
    ):
        raise ValueError(f"content_type: not a media type: {content_type!r}")
    return content_type


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def check_bucket(bucket: object) -> str:
    """S3's general-purpose bucket naming rules (the subset that matters here)."""
    if not isinstance(bucket, str) or not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise ValueError(f"not a valid S3 bucket name: {bucket!r}")
    return bucket
