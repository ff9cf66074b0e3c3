"""Attendance of the invited people, derived from the harvested Meet participants.

Written onto the API's ``participants`` rows (attended, first join, last leave, seconds),
so XOMA reads it with the meeting; uninvited attendees stay in ``conference_participants``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from meet_core.db.models import (
    ConferenceParticipant,
    ConferenceRecord,
    Meeting,
    MeetingStatus,
    ParticipantSession,
)
from meet_core.meetings_state import Interval, attended_seconds, first_join, last_leave


@dataclass(slots=True)
class AttendanceSummary:
    invited: int = 0
    attended: int = 0
    attended_seconds: int = 0
    changed: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)


def update_attendance(session: Session, meeting_id: str, *, now: datetime) -> AttendanceSummary:
    """Recompute the invitees' attendance of one meeting; the caller commits."""
    meeting = session.get(Meeting, meeting_id)
    summary = AttendanceSummary()
    if meeting is None:
        return summary
    held = session.scalar(
        select(ConferenceRecord.id).where(ConferenceRecord.meeting_id == meeting_id).limit(1)
    )
    settled_without_conference = meeting.status == MeetingStatus.NOT_HELD
    people = list(
        session.scalars(
            select(ConferenceParticipant).where(ConferenceParticipant.meeting_id == meeting_id)
        )
    )
    summary.by_kind.update(p.kind for p in people)
    intervals_by_email: dict[str, list[Interval]] = {}
    for person in people:
        if not person.email:
            continue
        sessions = session.scalars(
            select(ParticipantSession).where(ParticipantSession.participant_id == person.id)
        )
        intervals_by_email.setdefault(person.email, []).extend(
            Interval(s.start_time, s.end_time) for s in sessions if s.start_time is not None
        )
    for invitee in meeting.participants:
        summary.invited += 1
        if held is None and not settled_without_conference:
            continue  # nothing known yet
        intervals = intervals_by_email.get(invitee.email.lower(), [])
        values = {
            "attended": bool(intervals),
            "first_joined_at": first_join(intervals),
            "last_left_at": last_leave(intervals),
            "attended_seconds": attended_seconds(intervals, now),
        }
        if any(getattr(invitee, k) != v for k, v in values.items()):
            for name, value in values.items():
                setattr(invitee, name, value)
            summary.changed += 1
        summary.attended += int(bool(intervals))
        summary.attended_seconds += values["attended_seconds"]  # type: ignore[operator]
    session.flush()
    return summary
