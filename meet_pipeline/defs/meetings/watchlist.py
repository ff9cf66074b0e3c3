"""Which meetings a conference-sensor tick asks Google about.

Only meetings around their window, never history: scheduled ones from ``lead`` before
their start until decided, running ones, finished ones for ``artifact_wait`` after their
end, and finished ones whose recordings or transcripts Google has not generated yet (while
their conference records can still exist, 30 days). Every query is bounded by an index.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from meet_core.db.models import ArchiveManifestEntry, Meeting, MeetingStatus
from meet_core.meetings_state import WindowPolicy

# Google deletes conference records 30 days after the conference.
CONFERENCE_RECORD_LIFETIME = timedelta(days=30)
# Longest meeting the finished-meeting look-back assumes (bounds the index range scan).
LONGEST_MEETING = timedelta(days=1)
WAITING_GOOGLE_STATES = ("STATE_UNSPECIFIED", "STARTED", "ENDED")


def watched_meeting_ids(session: Session, *, now: datetime, policy: WindowPolicy) -> set[str]:
    running = select(Meeting.id).where(Meeting.status == MeetingStatus.IN_PROGRESS)
    starting = select(Meeting.id).where(
        Meeting.status == MeetingStatus.SCHEDULED,
        Meeting.start_time <= now + policy.lead,
        Meeting.space_name.is_not(None),
    )
    just_finished = select(Meeting.id).where(
        Meeting.status == MeetingStatus.FINISHED,
        Meeting.start_time >= now - policy.artifact_wait - LONGEST_MEETING,
        Meeting.end_time >= now - policy.artifact_wait,
    )
    awaiting_files = select(ArchiveManifestEntry.meeting_id).where(
        ArchiveManifestEntry.google_state.in_(WAITING_GOOGLE_STATES),
        or_(
            ArchiveManifestEntry.artifact_start_time >= now - CONFERENCE_RECORD_LIFETIME,
            ArchiveManifestEntry.artifact_start_time.is_(None),
        ),
    )
    ids: set[str] = set()
    for query in (running, starting, just_finished, awaiting_files):
        ids.update(session.scalars(query))
    return ids


def next_batch(ids: set[str], *, after: str | None, limit: int) -> list[str]:
    """Round robin: up to ``limit`` ids following ``after``, wrapping around, so that every
    watched meeting gets its turn however many there are."""
    ordered = sorted(ids)
    later = [i for i in ordered if after is None or i > after]
    earlier = [i for i in ordered if after is not None and i <= after]
    return (later + earlier)[:limit]
