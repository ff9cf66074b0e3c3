"""Pull the Pub/Sub subscription, store each event once by ``ce-id``, and acknowledge only
after the commit.

A crash between the commit and the acknowledgement leaves the messages unacknowledged:
Pub/Sub redelivers them after the ack deadline, and the second delivery finds the stored
row (its ``deliveries`` goes up, nothing is handled twice). The Google work an event
needs happens afterwards, from the stored rows (:mod:`meet_core.events.handle`), so a
crash there loses nothing either.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.db.models import ReceivedEvent
from meet_core.events.cloudevents import UNREADABLE, WORK_TYPES, WorkspaceEvent, read_message
from meet_core.events.lifecycle import apply_lifecycle, touch_subscription
from meet_core.google import GoogleGateway

PENDING, HANDLED, IGNORED, FAILED = "pending", "handled", "ignored", "failed"


@dataclass
class IntakeOutcome:
    pulled: int = 0
    stored: int = 0
    duplicates: int = 0
    batches: int = 0
    by_type: Counter[str] = field(default_factory=Counter)


def store_events(
    session: Session, events: Iterable[WorkspaceEvent], *, now: datetime
) -> tuple[list[WorkspaceEvent], int]:
    """Insert the events not stored yet (the caller commits); (new ones, duplicates).
    Duplicates within one batch count once."""
    unique: dict[str, WorkspaceEvent] = {}
    repeats: Counter[str] = Counter()
    for event in events:
        if event.ce_id in unique:
            repeats[event.ce_id] += 1
        else:
            unique[event.ce_id] = event
    existing = {
        row.ce_id: row
        for row in session.scalars(
            select(ReceivedEvent).where(ReceivedEvent.ce_id.in_(list(unique)))
        )
    }
    fresh: list[WorkspaceEvent] = []
    for event in unique.values():
        touch_subscription(session, event, now)
    for ce_id, event in unique.items():
        row = existing.get(ce_id)
        if row is not None:
            row.deliveries += 1 + repeats[ce_id]
            continue
        fresh.append(event)
        # Lifecycle events need no Google call: applied in this very transaction.
        lifecycle = event.is_lifecycle and apply_lifecycle(session, event, now=now)
        # Lifecycle events are applied above; joined/left and smart notes need nothing (the
        # end's read covers attendance): neither waits in the pending queue.
        done = event.type == UNREADABLE or event.is_lifecycle or event.type not in WORK_TYPES
        session.add(
            ReceivedEvent(
                ce_id=ce_id,
                event_type=event.type,
                origin="pubsub",
                source=event.source,
                subject=event.subject,
                resource_name=event.resource_name,
                event_time=event.time,
                received_at=now,
                deliveries=1 + repeats[ce_id],
                state=(HANDLED if lifecycle else IGNORED) if done else PENDING,
                handled_at=now if done else None,
                attempts=0,
                error=event.error,
            )
        )
    session.flush()
    duplicates = sum(repeats.values()) + len(existing)
    return fresh, duplicates


def pull_and_store(
    gateway: GoogleGateway,
    sessions: sessionmaker[Session],
    subscription: str,
    *,
    now: Callable[[], datetime],
    batch_size: int = 100,
    max_batches: int = 10,
    budget_seconds: float = 20.0,
    acknowledge: Callable[[list[str]], None] | None = None,
) -> IntakeOutcome:
    """Pull batches until the subscription is empty, ``max_batches`` or the time budget.

    ``acknowledge`` replaces the acknowledgement (a test kills the sensor there)."""
    ack = acknowledge or (lambda ids: gateway.acknowledge(subscription, ids))
    outcome = IntakeOutcome()
    started = time.monotonic()
    while outcome.batches < max_batches and time.monotonic() - started < budget_seconds:
        messages = gateway.pull(subscription, max_messages=batch_size)
        outcome.batches += 1
        if not messages:
            break
        outcome.pulled += len(messages)
        events = [read_message(m) for m in messages]
        with sessions.begin() as session:
            fresh, duplicates = store_events(session, events, now=now())
        # Only now, with the rows committed, may Pub/Sub forget the messages.
        ack([m.ack_id for m in messages])
        outcome.stored += len(fresh)
        outcome.duplicates += duplicates
        outcome.by_type.update(e.type for e in fresh)
        if len(messages) < batch_size:
            break
    return outcome
