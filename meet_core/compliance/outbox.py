"""The webhook outbox: events for XOMA written in the transaction of the change they
announce, so an event exists if and only if its change was committed.

Call :func:`enqueue_event` with the session that makes the change, before it commits::

    with sessions.begin() as session:
        meeting.status = "finished"
        append_event(session, ...)
        enqueue_event(session, "meeting.finished", {"meeting_id": meeting.id, ...})
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meet_core.db.models import OutboxState, WebhookOutboxEntry
from meet_core.db.types import utcnow

EVENT_TYPES = frozenset(
    {
        "meeting.scheduled",
        "meeting.finished",
        "meeting.not_held",
        "recording.archived",
        "compliance.violation",
        "pipeline.run_failed",
    }
)
MAX_BODY_BYTES = 64 * 1024
MAX_DEDUPE_KEY = 300


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def _check_json(value: Any, path: str = "payload") -> None:
    """Plain JSON only: str keys, finite numbers, no bytes, dates as ISO strings."""
    if value is None or isinstance(value, (bool, str, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}: {value!r} is not valid JSON")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: keys must be strings, got {key!r}")
            _check_json(item, f"{path}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_json(item, f"{path}[{index}]")
        return
    raise ValueError(
        f"{path}: {type(value).__name__} is not JSON (convert it, e.g. datetime.isoformat())"
    )


def event_body(event_id: str, event_type: str, created_at: str, payload: Mapping[str, Any]) -> str:
    """The exact JSON text delivered (and signed): compact, keys sorted."""
    return json.dumps(
        {"id": event_id, "type": event_type, "created_at": created_at, "data": payload},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def enqueue_event(
    session: Session, event_type: str, payload: Mapping[str, Any], *, dedupe_key: str | None = None
) -> str:
    """Add an event to the outbox inside the caller's transaction; returns its id.

    ``dedupe_key`` makes the call idempotent: a second event with the same key is not added
    and the first one's id is returned (e.g. ``recording.archived:<artifact name>``).
    """
    [event_id] = enqueue_events(session, event_type, [(payload, dedupe_key)])
    return event_id


def enqueue_events(
    session: Session,
    event_type: str,
    events: Sequence[tuple[Mapping[str, Any], str | None]],
) -> list[str]:
    """:func:`enqueue_event` for many ``(payload, dedupe_key)`` of one type at once: one
    look-up of the keys and one batched insert. Returns the ids in the order given."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"event_type: expected one of {sorted(EVENT_TYPES)}, got {event_type!r}")
    for payload, dedupe_key in events:
        if not isinstance(payload, Mapping):
            raise ValueError(f"payload: expected a JSON object, got {type(payload).__name__}")
        _check_json(payload)
        if dedupe_key is not None and (
            not isinstance(dedupe_key, str) or not dedupe_key or len(dedupe_key) > MAX_DEDUPE_KEY
        ):
            raise ValueError(
                f"dedupe_key: expected 1..{MAX_DEDUPE_KEY} characters, got {dedupe_key!r}"
            )
    keys = [key for _, key in events if key is not None]
    known: dict[str, str] = {}
    if keys:
        for key, event_id in session.execute(
            select(WebhookOutboxEntry.dedupe_key, WebhookOutboxEntry.id).where(
                WebhookOutboxEntry.dedupe_key.in_(keys)
            )
        ):
            known[str(key)] = event_id
    now = utcnow()
    created_at = now.isoformat().replace("+00:00", "Z")
    ids, rows = [], []
    for payload, dedupe_key in events:
        if dedupe_key is not None and dedupe_key in known:
            ids.append(known[dedupe_key])
            continue
        event_id = new_event_id()
        body = event_body(event_id, event_type, created_at, payload)
        if len(body.encode()) > MAX_BODY_BYTES:
            raise ValueError(f"payload: the event body exceeds {MAX_BODY_BYTES} bytes")
        rows.append(
            WebhookOutboxEntry(
                id=event_id,
                event_type=event_type,
                dedupe_key=dedupe_key,
                body=body,
                created_at=now,
                state=OutboxState.PENDING,
                attempts=0,
                next_attempt_at=now,
            )
        )
        ids.append(event_id)
        if dedupe_key is not None:
            known[dedupe_key] = event_id
    session.add_all(rows)
    session.flush()
    return ids
