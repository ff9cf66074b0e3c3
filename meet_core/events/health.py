"""Is events mode covering the meetings? (the ``event_subscriptions`` asset check)

Two failures: an organizer with upcoming (or running) meetings has no ACTIVE subscription;
or a subscription whose organizer has meetings in progress has heard nothing for
``silence`` (default an hour: a running meeting produces joins and leaves).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from meet_core.db.models import EventSubscription, Meeting, MeetingStatus
from meet_core.events.lifecycle import ACTIVE
from meet_core.harvest.watchlist import WatchList

UPCOMING = timedelta(days=1)
SILENCE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Coverage:
    uncovered: dict[str, str]  # organizer -> state of its subscription (or "none")
    silent: dict[str, str]  # organizer -> last event time (or "never")

    @property
    def healthy(self) -> bool:
        return not self.uncovered and not self.silent


def coverage(session: Session, *, now: datetime, silence: timedelta = SILENCE) -> Coverage:
    upcoming = set(
        session.scalars(
            select(Meeting.organizer_email)
            .where(
                or_(
                    Meeting.status == MeetingStatus.IN_PROGRESS,
                    and_(
                        Meeting.status == MeetingStatus.SCHEDULED,
                        Meeting.start_time <= now + UPCOMING,
                        Meeting.end_time >= now,
                    ),
                )
            )
            .distinct()
        )
    )
    running = set(
        session.scalars(
            select(Meeting.organizer_email)
            .where(
                Meeting.status == MeetingStatus.IN_PROGRESS,
                Meeting.start_time <= now - silence,
            )
            .distinct()
        )
    )
    subs = {
        row.organizer_email: row
        for row in session.scalars(
            select(EventSubscription).where(
                EventSubscription.organizer_email.in_(sorted({e.lower() for e in upcoming | running}))
            )
        )
    }
    uncovered = {}
    for email in sorted({e.lower() for e in upcoming}):
        row = subs.get(email)
        if row is None or row.state != ACTIVE or (row.expire_time and row.expire_time <= now):
            uncovered[email] = row.state if row else "none"
    silent = {}
    for email in sorted({e.lower() for e in running}):
        row = subs.get(email)
        if row is not None and row.state == ACTIVE and (
            row.last_event_at is None or row.last_event_at < now - silence
        ):
            silent[email] = row.last_event_at.isoformat() if row.last_event_at else "never"
    return Coverage(uncovered, silent)


def without_active_subscription(session: Session, watched: WatchList) -> WatchList:
    """The part of a polling watch list whose organizers have no ACTIVE subscription (their
    meetings send no events): events mode polls those as polling mode would."""
    ids = sorted(watched.ids)
    if not ids:
        return watched
    organizers = dict(
        session.execute(select(Meeting.id, Meeting.organizer_email).where(Meeting.id.in_(ids))).all()
    )
    active = set(
        session.scalars(
            select(EventSubscription.organizer_email).where(
                EventSubscription.state == ACTIVE,
                EventSubscription.organizer_email.in_(
                    sorted({e.lower() for e in organizers.values()})
                ),
            )
        )
    )
    keep = {i for i, email in organizers.items() if email.lower() not in active}
    return WatchList(watched.every_tick & keep, watched.backed_off & keep)
