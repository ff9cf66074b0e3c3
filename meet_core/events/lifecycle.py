"""What a subscription's lifecycle event and its other events mean for its row (no Google
call): ``suspended`` → SUSPENDED with the reason, ``expired`` → MISSING (to be created
again), ``expirationReminder`` → renewal due now. Every change is an audit event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from meet_core.audit import append_event
from meet_core.db.models import EventSubscription
from meet_core.events import cloudevents as ce
from meet_core.events.cloudevents import WorkspaceEvent

ACTIVE, SUSPENDED, MISSING = "ACTIVE", "SUSPENDED", "MISSING"
ACTOR = "sensor:events_sensor"


def _row(session: Session, event: WorkspaceEvent) -> EventSubscription | None:
    name = event.subscription_name
    if name is None:
        return None
    return session.scalar(select(EventSubscription).where(EventSubscription.google_name == name))


def touch_subscription(session: Session, event: WorkspaceEvent, now: datetime) -> None:
    """Meet events arriving through a subscription prove it works: its ``last_event_at``."""
    if event.is_lifecycle:
        return
    row = _row(session, event)
    if row is not None and (row.last_event_at is None or row.last_event_at < now):
        row.last_event_at = now


def apply_lifecycle(session: Session, event: WorkspaceEvent, *, now: datetime) -> bool:
    """Apply one lifecycle event; True when the row changed."""
    row = _row(session, event)
    if row is None:
        return False
    before = (row.state, row.suspension_reason)
    if event.type == ce.SUSPENDED:
        row.state, row.suspension_reason = SUSPENDED, event.suspension_reason or "UNKNOWN"
    elif event.type == ce.EXPIRED:
        row.state, row.suspension_reason = MISSING, None
    elif event.type == ce.EXPIRATION_REMINDER:
        # Renew at the next upkeep, whatever expiry the row believed.
        row.expire_time = min(row.expire_time or now, now)
    else:
        return False
    row.updated_at = now
    if (row.state, row.suspension_reason) != before:
        append_event(
            session,
            actor=ACTOR,
            action=f"event_subscription.{row.state.lower()}",
            entity_type="event_subscription",
            entity_id=row.organizer_email,
            payload={
                "subscription": row.google_name,
                "from": before[0],
                "to": row.state,
                "reason": row.suspension_reason,
                "event": event.type,
                "ce_id": event.ce_id,
            },
        )
    return True
