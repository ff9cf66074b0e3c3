"""Which meetings a conference-sensor tick asks Google about.

Only meetings around their window, never history. Every tick: scheduled ones from ``lead``
before their start until decided, running ones, and finished ones until their rejoin gap has
passed (and a tick has looked after it: the caller says how often it ticks) with attendance
final. Every ``FINISHED_POLL_INTERVAL`` only: finished ones still owed a file, that is
within ``artifact_wait`` after their end a conference record without a recording or a
transcript yet (recording failed, transcript later), or (while conference records exist, 30
days) a recording or transcript Google has not generated yet. A finished meeting whose
records all have their files generated is not asked about again; a later rejoin or file is
left to the daily ``harvest_day`` sweep. Every query is bounded by an index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from meet_core.db.models import ArchiveManifestEntry, ConferenceRecord, Meeting, MeetingStatus
from meet_core.meetings_state import WindowPolicy

# Google deletes conference records 30 days after the conference.
CONFERENCE_RECORD_LIFETIME = timedelta(days=30)
# Longest meeting the finished-meeting look-back assumes (bounds the index range scan).
LONGEST_MEETING = timedelta(days=1)
WAITING_GOOGLE_STATES = ("STATE_UNSPECIFIED", "STARTED", "ENDED")
# A finished meeting only waiting for Google's files is asked about this often, not every tick.
FINISHED_POLL_INTERVAL = timedelta(minutes=5)
# Kept every tick this many sensor intervals past the rejoin gap, so a tick looks after
# the gap has passed.
LOOK_AFTER_GAP_TICKS = 2


def look_after_gap(sensor_interval: timedelta) -> timedelta:
    """How long past the rejoin gap a finished meeting is still looked at every tick."""
    return LOOK_AFTER_GAP_TICKS * sensor_interval


@dataclass(frozen=True, slots=True)
class WatchList:
    every_tick: frozenset[str]
    backed_off: frozenset[str]  # due once FINISHED_POLL_INTERVAL has passed since their last look

    @property
    def ids(self) -> frozenset[str]:
        return self.every_tick | self.backed_off


def watch_list(
    session: Session, *, now: datetime, policy: WindowPolicy, sensor_interval: timedelta
) -> WatchList:
    """The meetings to ask Google about; ``sensor_interval`` is how often the caller ticks."""
    record = ConferenceRecord
    running = select(Meeting.id).where(Meeting.status == MeetingStatus.IN_PROGRESS)
    starting = select(Meeting.id).where(
        Meeting.status == MeetingStatus.SCHEDULED,
        Meeting.start_time <= now + policy.lead,
        Meeting.space_name.is_not(None),
    )
    finished = (
        Meeting.status == MeetingStatus.FINISHED,
        Meeting.start_time >= now - policy.artifact_wait - LONGEST_MEETING,
        Meeting.end_time >= now - policy.artifact_wait,
    )
    # A rejoin may still come, or attendance was not read after a record's end.
    settling = exists().where(
        record.meeting_id == Meeting.id,
        or_(
            record.end_time.is_(None),
            record.end_time > now - policy.rejoin_gap - look_after_gap(sensor_interval),
            record.synced_at < record.end_time,
        ),
    )
    # Provisioning turns on both auto recording and auto transcription: every record owes both.
    owed_a_file = or_(
        ~exists().where(record.meeting_id == Meeting.id),
        exists().where(
            record.meeting_id == Meeting.id,
            or_(record.recording_count == 0, record.transcript_count == 0),
        ),
    )
    finished_settling = select(Meeting.id).where(*finished, settling)
    finished_owed = select(Meeting.id).where(*finished, ~settling, owed_a_file)
    awaiting_files = select(ArchiveManifestEntry.meeting_id).where(
        ArchiveManifestEntry.google_state.in_(WAITING_GOOGLE_STATES),
        or_(
            ArchiveManifestEntry.artifact_start_time >= now - CONFERENCE_RECORD_LIFETIME,
            ArchiveManifestEntry.artifact_start_time.is_(None),
        ),
    )
    every_tick: set[str] = set()
    for query in (running, starting, finished_settling):
        every_tick.update(session.scalars(query))
    backed_off: set[str] = set()
    for query in (finished_owed, awaiting_files):
        backed_off.update(session.scalars(query))
    return WatchList(frozenset(every_tick), frozenset(backed_off - every_tick))


def watched_meeting_ids(
    session: Session, *, now: datetime, policy: WindowPolicy, sensor_interval: timedelta
) -> set[str]:
    return set(watch_list(session, now=now, policy=policy, sensor_interval=sensor_interval).ids)


def resting(
    watched: WatchList, last_looks: Mapping[str, datetime], *, now: datetime
) -> dict[str, datetime]:
    """The backed-off meetings looked at less than ``FINISHED_POLL_INTERVAL`` ago (when):
    not due this tick. Bounded by the looks of one interval, whatever the history."""
    return {
        meeting_id: at
        for meeting_id, at in last_looks.items()
        if meeting_id in watched.backed_off and now - at < FINISHED_POLL_INTERVAL
    }


def next_batch(ids: set[str], *, after: str | None, limit: int) -> list[str]:
    """Round robin: up to ``limit`` ids following ``after``, wrapping around, so that every
    watched meeting gets its turn however many there are."""
    ordered = sorted(ids)
    later = [i for i in ordered if after is None or i > after]
    earlier = [i for i in ordered if after is not None and i <= after]
    return (later + earlier)[:limit]
