"""Conference records close to Google's 30-day expiry and not fully harvested, across
every day (the risk lies in old days nobody re-materialises)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from meet_core.compliance.facts import facts_for_meetings
from meet_core.compliance.rules import (
    FILE_GENERATED,
    HELD,
    SCHEDULED,
    MeetingFacts,
    harvest_complete,
    outcome_of,
    record_expiry,
)
from meet_core.compliance.service_levels import CONFERENCE_RECORD_LIFETIME, ServiceLevels
from meet_core.db.models import (
    ArchiveManifestEntry,
    ConferenceRecord,
    ManifestState,
    Meeting,
    MeetingStatus,
)


def near_expiry_unharvested(
    session: Session, now: datetime, levels: ServiceLevels, limit: int = 10_000
) -> list[tuple[MeetingFacts, datetime]]:
    """(facts, expiry) of meetings the ledger would flag ``harvest_near_expiry`` now."""
    horizon = now + levels.expiry_margin  # expiring before this is "near"
    old = horizon - CONFERENCE_RECORD_LIFETIME  # ended before this: expiry (if unknown) is near
    unsettled = select(Meeting.id).where(
        Meeting.status.in_((MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS)),
        Meeting.end_time <= old,
    )
    r = ConferenceRecord
    unfinal = or_(r.end_time.is_(None), r.synced_at < r.end_time)
    records = (
        select(r.meeting_id)
        .where(or_(r.expire_time <= horizon, r.expire_time.is_(None) & (r.start_time <= old)))
        .where(or_(unfinal, r.meeting_id.in_(unsettled)))
    )
    a = ArchiveManifestEntry
    ungenerated = (
        select(a.meeting_id)
        .join(Meeting, Meeting.id == a.meeting_id)
        .where(
            a.google_state != FILE_GENERATED,
            a.state != ManifestState.ARCHIVED,
            Meeting.end_time <= old,
        )
    )
    ids = sorted(
        set(session.scalars(unsettled.limit(limit)))
        | set(session.scalars(records.limit(limit)))
        | set(session.scalars(ungenerated.limit(limit)))
    )
    flagged = []
    for facts in facts_for_meetings(session, ids):
        if outcome_of(facts) not in (HELD, SCHEDULED) or harvest_complete(facts):
            continue
        expiry = record_expiry(facts)
        if now >= expiry - levels.expiry_margin:
            flagged.append((facts, expiry))
    return flagged
