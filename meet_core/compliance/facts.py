"""Gather :class:`MeetingFacts` for one day of meetings, a batch at a time.

A handful of set-based queries per batch (meetings, invitations, attendance, conference
records, manifest rows with their latest S3 check), so a day of 100,000 meetings is read
in flat memory with a constant number of round trips per batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from meet_core.compliance.rules import ArtifactFacts, MeetingFacts
from meet_core.days import day_bounds
from meet_core.db.models import (
    ArchiveManifestEntry,
    ConferenceParticipant,
    ConferenceRecord,
    Meeting,
    ObjectCheck,
    Participant,
)

DEFAULT_BATCH = 2000


def meeting_batches(
    session: Session, day: str, batch: int = DEFAULT_BATCH
) -> Iterator[list[MeetingFacts]]:
    """Facts for every meeting whose scheduled start falls on ``day`` (UTC), by id order."""
    if batch < 1:
        raise ValueError("batch must be >= 1")
    start, end = day_bounds(day)
    after = ""
    while True:
        meetings = session.execute(
            select(
                Meeting.id,
                Meeting.client_id,
                Meeting.external_id,
                Meeting.title,
                Meeting.status,
                Meeting.start_time,
                Meeting.end_time,
            )
            .where(Meeting.start_time >= start, Meeting.start_time < end, Meeting.id > after)
            .order_by(Meeting.id)
            .limit(batch)
        ).all()
        if not meetings:
            return
        yield _facts(session, meetings)
        after = meetings[-1].id


def facts_for_meetings(session: Session, meeting_ids: Sequence[str]) -> list[MeetingFacts]:
    """Facts for the given meetings, whatever their day (unknown ids are skipped)."""
    result: list[MeetingFacts] = []
    ids = list(meeting_ids)
    for start in range(0, len(ids), DEFAULT_BATCH):
        meetings = session.execute(
            select(
                Meeting.id,
                Meeting.client_id,
                Meeting.external_id,
                Meeting.title,
                Meeting.status,
                Meeting.start_time,
                Meeting.end_time,
            )
            .where(Meeting.id.in_(ids[start : start + DEFAULT_BATCH]))
            .order_by(Meeting.id)
        ).all()
        result += _facts(session, meetings)
    return result


def _facts(session: Session, meetings: Sequence[Any]) -> list[MeetingFacts]:
    ids = [m.id for m in meetings]
    invited = dict(
        session.execute(
            select(Participant.meeting_id, func.count())
            .where(Participant.meeting_id.in_(ids))
            .group_by(Participant.meeting_id)
        ).all()
    )
    attendance = _attendance(session, ids)
    records = _records(session, ids)
    artifacts = _artifacts(session, ids)
    result = []
    for m in meetings:
        joined, invited_joined, uninvited = attendance.get(m.id, (0, 0, 0))
        count, first, last, active, unfinal, expires = records.get(
            m.id, (0, None, None, False, 0, None)
        )
        result.append(
            MeetingFacts(
                meeting_id=m.id,
                partition_date=m.start_time.astimezone(UTC).strftime("%Y-%m-%d"),
                client_id=m.client_id,
                external_id=m.external_id,
                title=m.title,
                status=m.status,
                scheduled_start=m.start_time,
                scheduled_end=m.end_time,
                conference_count=count,
                conference_start=first,
                conference_end=last,
                conference_active=active,
                records_unfinal=unfinal,
                conference_expires=expires,
                invited_count=int(invited.get(m.id, 0)),
                joined_count=joined,
                invited_joined_count=invited_joined,
                artifacts=tuple(artifacts.get(m.id, ())),
                uninvited_count=uninvited,
            )
        )
    return result


def _attendance(session: Session, ids: list[str]) -> dict[str, tuple[int, int, int]]:
    """Distinct people who joined (by email, else Meet user, else participant), how many
    of them were invited, and how many were not (the organizer is neither)."""
    cp = ConferenceParticipant
    who = func.coalesce(cp.email, cp.user_name, cp.name)
    uninvited = and_(cp.invited.is_(False), cp.is_organizer.is_(False))
    rows = session.execute(
        select(
            cp.meeting_id,
            func.count(func.distinct(who)),
            func.count(func.distinct(case((cp.invited, cp.email)))),
            func.count(func.distinct(case((uninvited, who)))),
        )
        .where(cp.meeting_id.in_(ids))
        .group_by(cp.meeting_id)
    ).all()
    return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}


def _records(session: Session, ids: list[str]) -> dict[str, tuple[Any, ...]]:
    rows = session.execute(
        select(
            ConferenceRecord.meeting_id,
            func.count(),
            func.min(ConferenceRecord.start_time),
            func.max(ConferenceRecord.end_time),
            func.sum(case((ConferenceRecord.end_time.is_(None), 1), else_=0)),
            func.sum(
                case(
                    (ConferenceRecord.end_time.is_(None), 1),
                    (ConferenceRecord.synced_at < ConferenceRecord.end_time, 1),
                    else_=0,
                )
            ),
            func.min(ConferenceRecord.expire_time),
        )
        .where(ConferenceRecord.meeting_id.in_(ids))
        .group_by(ConferenceRecord.meeting_id)
    ).all()
    return {r[0]: (int(r[1]), r[2], r[3], bool(r[4]), int(r[5] or 0), r[6]) for r in rows}


def _artifacts(session: Session, ids: list[str]) -> dict[str, list[ArtifactFacts]]:
    m, c = ArchiveManifestEntry, ObjectCheck
    rows = session.execute(
        select(
            m.meeting_id,
            m.kind,
            m.state,
            m.google_state,
            m.bucket,
            m.object_key,
            m.version_id,
            m.size,
            m.sha256,
            m.drive_size,
            m.drive_sha256,
            m.lock_mode,
            m.retain_until,
            m.legal_hold,
            m.archived_at,
            c.outcome,
            c.problem,
        )
        .outerjoin(c, c.manifest_id == m.id)
        .where(m.meeting_id.in_(ids))
        .order_by(m.meeting_id, m.id)
    ).all()
    found: dict[str, list[ArtifactFacts]] = defaultdict(list)
    for r in rows:
        found[r.meeting_id].append(
            ArtifactFacts(
                kind=r.kind,
                state=r.state,
                google_state=r.google_state,
                bucket=r.bucket,
                object_key=r.object_key,
                version_id=r.version_id,
                size=r.size,
                sha256=r.sha256,
                drive_size=r.drive_size,
                drive_sha256=r.drive_sha256,
                lock_mode=r.lock_mode,
                retain_until=r.retain_until,
                legal_hold=bool(r.legal_hold),
                archived_at=r.archived_at,
                check_outcome=r.outcome,
                check_problem=r.problem,
            )
        )
    return found
