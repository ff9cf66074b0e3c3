"""Idempotency-Key records: the unique (client, key) row is the lock.

The first request with a key inserts the row (state ``in_flight``) in the same transaction
that stores its meeting; a concurrent repeat cannot insert it (unique constraint: SQLite
queues writers, PostgreSQL blocks the second insert until the first commits and then
refuses it) and waits for the first to store its answer, which every repeat then replays.
A repeat with another body is refused (422). Rows expire after ``idempotency_ttl_hours``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from meet_api.lib.problems import ApiProblem
from meet_core.db.models import IdempotencyRecord

IN_FLIGHT, COMPLETED = "in_flight", "completed"
# Printable ASCII without spaces; a structured-field string ("...") is unwrapped first.
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: Any


@dataclass(frozen=True, slots=True)
class InFlight:
    record_id: int
    meeting_id: str | None


def parse_key(header: str | None) -> str | None:
    """The Idempotency-Key header's value, or None when absent; 400 when unusable."""
    if header is None:
        return None
    value = header.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not _KEY.fullmatch(value):
        raise ApiProblem(
            400,
            "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces",
            slug="invalid-idempotency-key",
        )
    return value


def fingerprint(method: str, path: str, body: msgspec.Struct) -> str:
    """Same method, path and decoded body (key order and spacing do not matter) -> same hash."""
    canonical = msgspec.json.encode(msgspec.to_builtins(body), order="sorted")
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def existing(
    session: Session, client_id: str, key: str, request_hash: str, now: datetime
) -> Replay | InFlight | None:
    """The live record for (client, key) as a replay / in-flight marker; None if there is none.
    Expired records are deleted here, so the key can be used afresh."""
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now))
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.client_id == client_id, IdempotencyRecord.key == key
        )
    )
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise ApiProblem(
            422,
            "this Idempotency-Key was already used with a different request body",
            slug="idempotency-key-reused",
        )
    if record.state == COMPLETED and record.response_status is not None:
        return Replay(record.response_status, record.response_body)
    meeting_id = (
        record.response_body.get("meeting_id") if isinstance(record.response_body, dict) else None
    )
    return InFlight(record.id, meeting_id)


def start(
    session: Session,
    client_id: str,
    key: str,
    request_hash: str,
    meeting_id: str,
    now: datetime,
    ttl: timedelta,
) -> IdempotencyRecord:
    """Insert the in-flight row; flushing it is what takes the lock."""
    record = IdempotencyRecord(
        client_id=client_id,
        key=key,
        request_hash=request_hash,
        state=IN_FLIGHT,
        response_body={"meeting_id": meeting_id},
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(record)
    session.flush()
    return record


def complete(session: Session, record_id: int, status: int, body: Any) -> None:
    record = session.get(IdempotencyRecord, record_id)
    if record is not None and record.state != COMPLETED:
        record.state, record.response_status, record.response_body = COMPLETED, status, body


def poll(session: Session, record_id: int) -> Replay | None:
    record = session.get(IdempotencyRecord, record_id)
    if record is not None and record.state == COMPLETED and record.response_status is not None:
        return Replay(record.response_status, record.response_body)
    return None
