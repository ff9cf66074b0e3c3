"""Webhook signatures, Standard Webhooks style.

Headers: ``Webhook-Id`` (the event id, stable across retries: receivers de-duplicate on
it), ``Webhook-Timestamp`` (Unix seconds of this attempt) and ``Webhook-Signature:
v1=<hex HMAC-SHA256(secret, f"{id}.{timestamp}.{body}")>``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, event_id: str, timestamp: int, body: str) -> str:
    if not secret:
        raise ValueError("webhook secret is empty")
    message = f"{event_id}.{timestamp}.{body}".encode()
    return f"{SCHEME}=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, event_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Webhook-Id": event_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": signature(secret, event_id, timestamp, body),
    }


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: str,
    *,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: recompute, compare in constant time, refuse stale timestamps.
    Several space-separated signatures are accepted (secret rotation)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    event_id, raw_time = lowered.get("webhook-id", ""), lowered.get("webhook-timestamp", "")
    if not event_id or not raw_time.isdigit():
        return False
    timestamp = int(raw_time)
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, event_id, timestamp, body)
    return any(
        hmac.compare_digest(expected, offered)
        for offered in lowered.get("webhook-signature", "").split()
    )
