"""Read what Google knows about one meeting's conferences, without touching the database.

The snapshot is taken first, outside any transaction (Google calls may take seconds and be
retried); :mod:`meet_core.harvest.apply` then applies it in one short one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from meet_core.db.models import Meeting
from meet_core.google import (
    GoogleGateway,
    MeetConferenceRecord,
    MeetParticipant,
    MeetParticipantSession,
    Recording,
    SmartNote,
    Transcript,
)
from meet_core.harvest.identity import Identity

if TYPE_CHECKING:
    from meet_core.harvest.identity import IdentityResolver


@dataclass(frozen=True, slots=True)
class MeetingTarget:
    """The facts about a meeting that harvesting needs, detached from any session."""

    id: str
    space_name: str
    organizer_email: str
    status: str
    start_time: datetime
    end_time: datetime

    @classmethod
    def of(cls, meeting: Meeting) -> MeetingTarget:
        if not meeting.space_name:
            raise ValueError(f"meeting {meeting.id} has no Meet space yet")
        return cls(
            id=meeting.id,
            space_name=meeting.space_name,
            organizer_email=meeting.organizer_email,
            status=meeting.status,
            start_time=meeting.start_time,
            end_time=meeting.end_time,
        )


@dataclass(frozen=True, slots=True)
class ParticipantSnapshot:
    participant: MeetParticipant
    sessions: tuple[MeetParticipantSession, ...]


@dataclass(frozen=True, slots=True)
class RecordSnapshot:
    record: MeetConferenceRecord
    # None: not fetched, because the record had ended and was fully harvested before.
    participants: tuple[ParticipantSnapshot, ...] | None
    recordings: tuple[Recording, ...]
    transcripts: tuple[Transcript, ...]
    smart_notes: tuple[SmartNote, ...] = ()
    # False: the artifact lists were not asked for (events mode's sweep, a settled record:
    # see meet_core/events/backstop.settled_record_names); the tuples above are then empty
    # and say nothing.
    artifacts_read: bool = True


@dataclass(frozen=True, slots=True)
class MeetingSnapshot:
    target: MeetingTarget
    records: tuple[RecordSnapshot, ...]
    # Meet ``users/{id}`` -> who People / Directory say it is (empty: nothing resolved).
    identities: Mapping[str, Identity] = field(default_factory=dict)


def fetch_snapshot(
    gateway: GoogleGateway,
    target: MeetingTarget,
    *,
    complete_records: frozenset[str] = frozenset(),
    settled_records: frozenset[str] = frozenset(),
    identities: IdentityResolver | None = None,
) -> MeetingSnapshot:
    """Conference records of the meeting's space, with participants and their sessions,
    recordings and transcripts. Records named in ``complete_records`` (ended and harvested
    after they ended) keep their attendance: only their artifacts are asked for again.
    With ``identities``, signed-in participants' ``users/{id}`` are resolved to emails
    (cached per person: Google is asked once per new person, not per meeting). Records
    named in ``settled_records`` are not asked for their artifacts either (events mode's
    daily sweep: meet_core/events/backstop.settled_record_names says why that is safe)."""
    subject = target.organizer_email
    records = []
    for record in sorted(
        gateway.list_conference_records(target.space_name, subject=subject), key=_by_start
    ):
        participants: tuple[ParticipantSnapshot, ...] | None = None
        if record.name not in complete_records:
            participants = tuple(
                ParticipantSnapshot(
                    p, tuple(gateway.list_participant_sessions(p.name, subject=subject))
                )
                for p in gateway.list_participants(record.name, subject=subject)
            )
        if record.name in settled_records and record.name in complete_records:
            records.append(
                RecordSnapshot(
                    record=record, participants=None, recordings=(), transcripts=(),
                    artifacts_read=False,
                )
            )
            continue
        records.append(
            RecordSnapshot(
                record=record,
                participants=participants,
                recordings=tuple(gateway.list_recordings(record.name, subject=subject)),
                transcripts=tuple(gateway.list_transcripts(record.name, subject=subject)),
                smart_notes=tuple(gateway.list_smart_notes(record.name, subject=subject)),
            )
        )
    resolved: Mapping[str, Identity] = {}
    if identities is not None:
        users = {
            seen.participant.user
            for item in records
            for seen in item.participants or ()
            if seen.participant.user
        }
        resolved = identities.resolve(users, subject=subject)
    return MeetingSnapshot(target=target, records=tuple(records), identities=resolved)


def _by_start(record: MeetConferenceRecord) -> tuple[str, str]:
    return (record.start.isoformat() if record.start else "", record.name)
