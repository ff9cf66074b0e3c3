"""The append-only, hash-chained audit log.

Each row carries the SHA-256 of a canonical serialisation of its own content, which
includes the previous row's hash, so editing, deleting or re-ordering any row breaks every
later link. Appenders serialise on the single ``audit_chain_head`` row (``FOR UPDATE`` on
PostgreSQL, the database write lock on SQLite), which keeps one linear chain however many
processes append at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from meet_core.db.models import AuditChainHead, AuditEvent
from meet_core.db.types import utcnow

GENESIS_HASH = "0" * 64
HEAD_ID = 1


def canonical_bytes(
    *,
    seq: int,
    occurred_at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | None,
    payload: Any,
    prev_hash: str,
) -> bytes:
    """The exact bytes that are hashed: sorted keys, no whitespace, UTC microseconds."""
    content = {
        "seq": seq,
        "occurred_at": occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(
        canonical_bytes(
            seq=event.seq,
            occurred_at=event.occurred_at,
            actor=event.actor,
            action=event.action,
            entity_type=event.entity_type,
            entity_id=event.entity_id,
            payload=event.payload,
            prev_hash=event.prev_hash,
        )
    ).hexdigest()


def _normalise_payload(payload: Any) -> Any:
    # Round-trip through JSON so that what is hashed is exactly what the database returns.
    return json.loads(json.dumps(payload if payload is not None else {}, default=str))


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One event to append: what :func:`append_many` chains."""

    actor: str
    action: str
    entity_type: str
    entity_id: str | None = None
    payload: Any = None


def append_event(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | None = None,
    payload: Any = None,
) -> AuditEvent:
    """Append one event inside the caller's transaction; it becomes visible on commit."""
    [event] = append_many(session, [AuditEntry(actor, action, entity_type, entity_id, payload)])
    return event


def append_many(session: Session, entries: Sequence[AuditEntry]) -> list[AuditEvent]:
    """Append events in order inside the caller's transaction, locking and moving the chain
    head once (one lock, one head update and one batched insert however many events).

    The head stays locked until the caller commits, so commit soon after: every other
    appender waits for it.
    """
    if not entries:
        return []
    head = session.execute(
        select(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .with_for_update()
    ).scalar_one()
    occurred_at, seq, prev_hash = utcnow(), head.seq, head.hash
    events = []
    for entry in entries:
        seq += 1
        event = AuditEvent(
            seq=seq,
            occurred_at=occurred_at,
            actor=entry.actor,
            action=entry.action,
            entity_type=entry.entity_type,
            entity_id=entry.entity_id,
            payload=_normalise_payload(entry.payload),
            prev_hash=prev_hash,
        )
        event.hash = prev_hash = event_hash(event)
        events.append(event)
    session.add_all(events)
    session.execute(
        update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(seq=seq, hash=prev_hash)
    )
    head.seq, head.hash = seq, prev_hash
    session.flush()
    return events


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    count: int
    last_seq: int
    last_hash: str
    broken_seq: int | None = None
    problem: str | None = None

    def describe(self) -> str:
        if self.ok:
            return f"audit chain OK: {self.count} events, last seq {self.last_seq}, head {self.last_hash}"
        return f"audit chain BROKEN at seq {self.broken_seq}: {self.problem}"


def iter_events(session: Session, *, after_seq: int = 0, batch: int = 5000) -> Iterator[AuditEvent]:
    """Events in chain order, read in keyset-paginated batches (memory stays flat)."""
    last = after_seq
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify_chain(session: Session) -> ChainReport:
    """Recompute every link; report the first sequence number where the chain breaks."""
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for event in iter_events(session):
        if event.seq != expected_seq:
            return ChainReport(False, count, expected_seq - 1, prev_hash, expected_seq,
                               f"missing event(s): expected seq {expected_seq}, found {event.seq}")
        if event.prev_hash != prev_hash:
            return ChainReport(False, count, expected_seq - 1, prev_hash, event.seq,
                               "prev_hash does not match the previous event's hash")
        actual = event_hash(event)
        if actual != event.hash:
            return ChainReport(False, count, expected_seq - 1, prev_hash, event.seq,
                               "content does not match its hash (row modified)")
        prev_hash, expected_seq, count = event.hash, expected_seq + 1, count + 1
    head = session.get(AuditChainHead, HEAD_ID)
    if head is None or head.seq != count or head.hash != prev_hash:
        head_seq = head.seq if head else None
        return ChainReport(False, count, count, prev_hash, count + 1,
                           f"chain ends at seq {count} but the head says {head_seq}: "
                           "trailing event(s) deleted")
    return ChainReport(True, count, count, prev_hash)


def events_for(session: Session, entity_type: str, entity_id: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.seq)
        )
    )
