"""Apply a meeting's Google snapshot to the database in one short transaction.

Upserts conference records, Meet participants and their sessions (keyed by Google's
resource names, so re-runs add nothing), registers recordings and transcripts in the
archive manifest, and moves the meeting's status (each move an audit event).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from meet_core.archive.manifest import (
    register_artifacts,
    sightings_of_recording,
    sightings_of_smart_note,
    sightings_of_transcript,
)
from meet_core.audit import append_event
from meet_core.compliance.outbox import enqueue_event
from meet_core.days import day_of
from meet_core.db.models import (
    ConferenceParticipant,
    ConferenceRecord,
    Meeting,
    MeetingStatus,
    ParticipantSession,
)
from meet_core.google import MeetParticipant
from meet_core.harvest.identity import Identity
from meet_core.harvest.snapshot import MeetingSnapshot, ParticipantSnapshot, RecordSnapshot
from meet_core.meetings_state import (
    ConferenceFacts,
    ConferenceSpan,
    Interval,
    Invitee,
    WindowPolicy,
    attended_seconds,
    attendee_kind,
    email_domain,
    first_join,
    last_leave,
    match_invitee,
    next_status,
)


@dataclass(frozen=True, slots=True)
class HarvestOutcome:
    meeting_id: str
    records: int
    participants: int
    sessions: int
    artifacts_changed: int
    transition: tuple[str, str] | None  # (from, to)


def complete_record_names(session: Session, meeting_id: str) -> frozenset[str]:
    """Records that ended and were harvested after they ended: their attendance is final."""
    rows = session.execute(
        select(ConferenceRecord.name, ConferenceRecord.end_time, ConferenceRecord.synced_at).where(
            ConferenceRecord.meeting_id == meeting_id
        )
    ).all()
    return frozenset(r.name for r in rows if r.end_time is not None and r.synced_at >= r.end_time)


def apply_snapshot(
    session: Session, snapshot: MeetingSnapshot, *, now: datetime, policy: WindowPolicy, actor: str
) -> HarvestOutcome:
    """Write the snapshot; the caller commits. Nothing changes for a meeting that moved on
    meanwhile (cancelled through the API, say) except the conference data itself."""
    target = snapshot.target
    meeting = session.execute(
        select(Meeting).where(Meeting.id == target.id).with_for_update()
    ).scalar_one()
    people = _People(
        invitees=[Invitee(p.email, p.display_name) for p in meeting.participants],
        organizer=meeting.organizer_email.lower(),
        domain=email_domain(meeting.organizer_email) or "",
        identities=snapshot.identities,
    )
    participants = sessions = artifacts = 0
    for item in snapshot.records:
        record_row = _upsert_record(session, meeting.id, target.space_name, item, now)
        for seen in item.participants or ():
            _upsert_participant(session, record_row, seen, people, now)
            participants += 1
            sessions += len(seen.sessions)
        sightings = [s for r in item.recordings for s in sightings_of_recording(r)]
        sightings += [s for t in item.transcripts for s in sightings_of_transcript(t)]
        sightings += [s for n in item.smart_notes for s in sightings_of_smart_note(n)]
        artifacts += register_artifacts(
            session,
            meeting_id=meeting.id,
            conference_record_name=item.record.name,
            partition_date=day_of(meeting.start_time),
            sightings=sightings,
        )
    transition = _move_status(session, meeting, now=now, policy=policy, actor=actor)
    session.flush()
    return HarvestOutcome(
        meeting.id, len(snapshot.records), participants, sessions, artifacts, transition
    )


def _upsert_record(
    session: Session, meeting_id: str, space_name: str, item: RecordSnapshot, now: datetime
) -> ConferenceRecord:
    record = item.record
    row = session.scalar(select(ConferenceRecord).where(ConferenceRecord.name == record.name))
    if row is None:
        row = ConferenceRecord(name=record.name, meeting_id=meeting_id, first_seen_at=now)
        session.add(row)
    values: dict[str, Any] = {
        "space_name": record.space or space_name,
        "start_time": record.start or now,
        "end_time": record.end,
        "expire_time": record.expire,
    }
    if item.artifacts_read:
        values["recording_count"] = len(item.recordings)
        values["transcript_count"] = len(item.transcripts)
    if item.participants is not None:
        values["participant_count"] = len(item.participants)
    before = row.synced_at
    _assign(row, values, now)
    if record.end is not None and (before is None or before < record.end):
        if item.participants is not None:
            row.synced_at = now  # attendance read after the end is final: later looks skip it
        else:
            # The record alone (conference.started read late, a look that skipped attendance):
            # its end is known but its attendance was not read, so it must stay owed
            # (``synced_at`` before the end), or the next look would take it as complete.
            row.synced_at = min(before or now, record.end - timedelta(seconds=1))
    session.flush()
    return row


@dataclass(frozen=True, slots=True)
class _People:
    """Who may be recognised in a meeting: invitees, the organizer, resolved identities."""

    invitees: list[Invitee]
    organizer: str
    domain: str
    identities: Mapping[str, Identity]

    def own_email(self, person: MeetParticipant) -> str | None:
        """The participant's own email: from Google, else resolved from ``users/{id}``."""
        if person.email:
            return person.email.lower()
        identity = self.identities.get(person.user) if person.user else None
        return identity.email if identity is not None else None


def _upsert_participant(
    session: Session,
    record_row: ConferenceRecord,
    seen: ParticipantSnapshot,
    people: _People,
    now: datetime,
) -> None:
    person = seen.participant
    own = people.own_email(person)
    invitee, matched_by = match_invitee(own, person.display_name, people.invitees)
    # A display-name match carries the invitee's email (so their attendance joins), marked
    # as such by matched_by; everyone else keeps their own email, or none.
    email = own or (invitee.email if invitee else None)
    intervals = [Interval(s.start, s.end) for s in seen.sessions if s.start is not None]
    row = session.scalar(
        select(ConferenceParticipant).where(ConferenceParticipant.name == person.name)
    )
    if row is None:
        row = ConferenceParticipant(
            name=person.name, conference_record_id=record_row.id, meeting_id=record_row.meeting_id
        )
        session.add(row)
    _assign(
        row,
        {
            "kind": attendee_kind(person.kind, own, people.domain),
            "user_name": person.user,
            "email": email.lower() if email else None,
            "display_name": person.display_name,
            "invited": invitee is not None,
            "matched_by": matched_by.value if matched_by else None,
            "is_organizer": own is not None and own == people.organizer,
            "first_joined_at": first_join(intervals) or person.earliest_start,
            "last_left_at": last_leave(intervals),
            "attended_seconds": attended_seconds(intervals, now),
            "session_count": len(seen.sessions),
        },
        now,
    )
    session.flush()
    for item in seen.sessions:
        duration = int((item.end - item.start).total_seconds()) if item.start and item.end else None
        existing = session.scalar(
            select(ParticipantSession).where(ParticipantSession.name == item.name)
        )
        if existing is None:
            session.add(
                ParticipantSession(
                    name=item.name,
                    participant_id=row.id,
                    start_time=item.start,
                    end_time=item.end,
                    duration_seconds=duration,
                )
            )
        elif (existing.start_time, existing.end_time) != (item.start, item.end):
            existing.start_time, existing.end_time, existing.duration_seconds = (
                item.start,
                item.end,
                duration,
            )


def _assign(row: Any, values: dict[str, Any], now: datetime) -> None:
    """Set only what differs, and stamp ``synced_at`` when something did."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed or row.synced_at is None:
        row.synced_at = now


def _move_status(
    session: Session, meeting: Meeting, *, now: datetime, policy: WindowPolicy, actor: str
) -> tuple[str, str] | None:
    spans = [
        ConferenceSpan(r.start_time, r.end_time)
        for r in session.scalars(
            select(ConferenceRecord).where(ConferenceRecord.meeting_id == meeting.id)
        )
    ]
    facts = ConferenceFacts.from_spans(spans)
    target = next_status(
        meeting.status,
        start=meeting.start_time,
        end=meeting.end_time,
        facts=facts,
        now=now,
        policy=policy,
    )
    if target is None:
        return None
    previous = meeting.status
    moved = session.execute(
        update(Meeting)
        .where(
            Meeting.id == meeting.id, Meeting.status == previous, Meeting.version == meeting.version
        )
        .values(status=target.value, version=Meeting.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if moved != 1:
        return None
    session.refresh(meeting)
    append_event(
        session,
        actor=actor,
        action=f"meeting.{target.value}",
        entity_type="meeting",
        entity_id=meeting.id,
        payload={
            "from": previous,
            "to": target.value,
            "observed_at": now.isoformat(),
            "conference_records": sorted(
                r.name
                for r in session.scalars(
                    select(ConferenceRecord).where(ConferenceRecord.meeting_id == meeting.id)
                )
            ),
        },
    )
    if target in (MeetingStatus.FINISHED, MeetingStatus.NOT_HELD):
        enqueue_event(
            session,
            f"meeting.{target.value}",
            {"meeting_id": meeting.id, "external_id": meeting.external_id, "status": target.value,
             "observed_at": now.isoformat()},
            dedupe_key=f"meeting.{target.value}:{meeting.id}",
        )
    return previous, target.value
