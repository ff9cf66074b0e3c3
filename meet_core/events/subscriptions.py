"""Keep one Workspace Events subscription per organizer (docs/pipeline.md).

Organizers: ``MEET_GOOGLE_SUBJECT`` and every ``organizer_email`` of a meeting that is not
over yet. For each: read the subscription back (state and expiry as Google sees them),
create it where missing (after ``people/me`` names the user; ``ALREADY_EXISTS`` adopts the
existing one), renew it (``ttl`` patched) well before expiry, try to reactivate a suspended
one (Google refuses while the cause persists: the row keeps the error). Every change is an
audit event in the same transaction as the row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.audit import append_event
from meet_core.db.models import EventSubscription, Meeting, MeetingStatus
from meet_core.events.lifecycle import ACTIVE, MISSING, SUSPENDED
from meet_core.google import Conflict, GoogleError, GoogleGateway, NotFound
from meet_core.google.events_methods import USER_TARGET
from meet_core.google.events_types import WorkspaceSubscription

ACTOR = "schedule:event_subscriptions"
# Subscriptions without resource data live 7 days; renewed when fewer than 3 are left,
# so two missed upkeep days still leave one.
RENEW_BEFORE = timedelta(days=3)
OPEN_STATUSES = (MeetingStatus.PENDING, MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS)


@dataclass
class UpkeepOutcome:
    organizers: int = 0
    created: int = 0
    renewed: int = 0
    reactivated: int = 0
    errors: list[str] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)


def organizers(session: Session, *, default_subject: str, now: datetime) -> list[str]:
    """The default organizer and every organizer of a meeting not over yet."""
    rows = session.scalars(
        select(Meeting.organizer_email)
        .where(Meeting.status.in_(OPEN_STATUSES), Meeting.end_time >= now - timedelta(days=1))
        .distinct()
    )
    return sorted({default_subject.lower(), *(r.lower() for r in rows if r)})


def uncovered_organizers(
    session: Session, *, default_subject: str, now: datetime, retry_after: timedelta
) -> list[str]:
    """Organizers with no subscription row, or one MISSING at Google, whose last failure (if
    any) is older than ``retry_after``: what the intake sensor creates at once, so that a
    new organizer's meetings are covered within a tick, not at the next hourly upkeep."""
    wanted = organizers(session, default_subject=default_subject, now=now)
    rows = {
        r.organizer_email: r
        for r in session.scalars(
            select(EventSubscription).where(EventSubscription.organizer_email.in_(wanted))
        )
    }
    due = []
    for email in wanted:
        row = rows.get(email)
        if row is None or row.state == MISSING and (row.last_error is None or row.updated_at <= now - retry_after):
            due.append(email)
    return due


def keep_subscriptions(
    gateway: GoogleGateway,
    sessions: sessionmaker[Session],
    *,
    topic: str,
    default_subject: str,
    now: datetime,
    only: Iterable[str] | None = None,
) -> UpkeepOutcome:
    with sessions() as session:
        emails = list(only) if only is not None else organizers(
            session, default_subject=default_subject, now=now
        )
    outcome = UpkeepOutcome(organizers=len(emails))
    for email in emails:
        try:
            state = _keep_one(gateway, sessions, email, topic=topic, now=now, outcome=outcome)
        except GoogleError as exc:
            outcome.errors.append(f"{email}: {exc}")
            state = _record_error(sessions, email, str(exc), now)
        outcome.states[email] = state
    return outcome


def _keep_one(
    gateway: GoogleGateway,
    sessions: sessionmaker[Session],
    email: str,
    *,
    topic: str,
    now: datetime,
    outcome: UpkeepOutcome,
) -> str:
    with sessions.begin() as session:
        row = _row(session, email, now)
        name, user_id, state = row.google_name, row.user_id, row.state
    seen: WorkspaceSubscription | None = None
    if name is not None and state != MISSING:
        try:
            seen = gateway.get_subscription(name, subject=email)
        except NotFound:
            seen = None
        if seen is not None and seen.state not in (ACTIVE, SUSPENDED):
            seen = None  # DELETED, or a state we cannot use: make a new one
    if seen is None:
        if user_id is None:
            user_id = gateway.user_id(subject=email)
        try:
            seen = gateway.create_subscription(user_id=user_id, topic=topic, subject=email)
        except Conflict:
            seen = _existing(gateway, email, user_id)
            if seen is None:
                raise
        outcome.created += 1
        return _save(sessions, email, seen, now, action="created", user_id=user_id)
    if seen.state == SUSPENDED:
        try:
            seen = gateway.reactivate_subscription(seen.name, subject=email)
        except GoogleError as exc:  # the cause is not fixed yet: stays suspended, visibly
            _save(sessions, email, seen, now, action=None)
            raise GoogleError(
                f"suspended ({seen.suspension_reason}); reactivation refused: {exc}",
                reason=exc.reason,
            ) from exc
        outcome.reactivated += 1
        return _save(sessions, email, seen, now, action="reactivated")
    if seen.expire_time is None or seen.expire_time - now < RENEW_BEFORE:
        seen = gateway.renew_subscription(seen.name, subject=email)
        outcome.renewed += 1
        return _save(sessions, email, seen, now, action="renewed")
    return _save(sessions, email, seen, now, action=None)


def _existing(gateway: GoogleGateway, email: str, user_id: str) -> WorkspaceSubscription | None:
    target = USER_TARGET + user_id
    for item in gateway.list_subscriptions(subject=email):
        if item.target_resource == target and item.state in (ACTIVE, SUSPENDED):
            return item
    return None


def _row(session: Session, email: str, now: datetime) -> EventSubscription:
    row = session.scalar(select(EventSubscription).where(EventSubscription.organizer_email == email))
    if row is None:
        row = EventSubscription(
            organizer_email=email, state=MISSING, created_at=now, updated_at=now
        )
        session.add(row)
        session.flush()
    return row


def _save(
    sessions: sessionmaker[Session],
    email: str,
    seen: WorkspaceSubscription,
    now: datetime,
    *,
    action: str | None,
    user_id: str | None = None,
) -> str:
    with sessions.begin() as session:
        row = _row(session, email, now)
        before = (row.google_name, row.state, row.expire_time)
        if seen.name != row.google_name:
            # A name held by an older row (a re-created subscription) is released first.
            other = session.scalar(
                select(EventSubscription).where(EventSubscription.google_name == seen.name)
            )
            if other is not None and other.id != row.id:
                other.google_name = None
                session.flush()
        row.google_name = seen.name
        row.state = seen.state if seen.state in (ACTIVE, SUSPENDED) else MISSING
        row.suspension_reason = seen.suspension_reason if row.state == SUSPENDED else None
        row.expire_time = seen.expire_time
        row.user_id = user_id or row.user_id
        row.last_error = None
        row.updated_at = now
        if action in ("created", "renewed", "reactivated"):
            row.renewed_at = now
        if action is not None or before[:2] != (row.google_name, row.state):
            append_event(
                session,
                actor=ACTOR,
                action=f"event_subscription.{action or row.state.lower()}",
                entity_type="event_subscription",
                entity_id=email,
                payload={
                    "subscription": seen.name,
                    "from": before[1],
                    "to": row.state,
                    "expire_time": seen.expire_time.isoformat() if seen.expire_time else None,
                    "reason": row.suspension_reason,
                },
            )
        return row.state


def _record_error(sessions: sessionmaker[Session], email: str, error: str, now: datetime) -> str:
    with sessions.begin() as session:
        row = _row(session, email, now)
        row.last_error = error[:2000]
        row.updated_at = now
        return row.state
