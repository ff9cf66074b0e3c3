"""The least Google work each stored event needs, then the database updated as polling
would have (the harvest code's own apply step).

- ``conference.started``: no read; the record is stored from the event (name, space, the
  event's time as its start) and the meeting goes ``in_progress``.
- ``conference.ended``: read the record, its participants and their sessions, its
  recordings and transcripts, once.
- ``recording.fileGenerated`` / ``transcript.fileGenerated``: read that one artifact and
  register it in the archive manifest (``archive_sensor`` then asks for the run).
- ``participant.joined`` / ``left`` and smart notes: nothing (the end reads attendance).
- Lifecycle events: the subscription's row (no Google call).

Order is not promised: an ``ended`` or a ``fileGenerated`` before its ``started`` works
the same (the record or the manifest row is created then); a late ``started`` is a no-op.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive.manifest import (
    register_artifacts,
    sightings_of_recording,
    sightings_of_transcript,
)
from meet_core.days import day_of
from meet_core.db.models import ConferenceRecord, Meeting, ReceivedEvent
from meet_core.events import cloudevents as ce
from meet_core.events.cloudevents import WorkspaceEvent
from meet_core.events.intake import FAILED, HANDLED, IGNORED, PENDING
from meet_core.google import GoogleError, GoogleGateway, MeetConferenceRecord, NotFound
from meet_core.harvest.apply import HarvestOutcome, apply_snapshot
from meet_core.harvest.attendance import AttendanceSummary, update_attendance
from meet_core.harvest.identity import IdentityResolver
from meet_core.harvest.snapshot import (
    MeetingSnapshot,
    MeetingTarget,
    ParticipantSnapshot,
    RecordSnapshot,
)
from meet_core.meetings_state import WindowPolicy

ACTOR = "sensor:events_sensor"
MAX_ATTEMPTS = 5


@dataclass
class HandleOutcome:
    handled: int = 0
    ignored: int = 0
    failed: int = 0
    retried: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    # (day, harvest, attendance) of each read applied: what the lineage reports.
    applied: list[tuple[str, HarvestOutcome, AttendanceSummary]] = field(default_factory=list)


def handle_pending(
    gateway: GoogleGateway,
    sessions: sessionmaker[Session],
    *,
    now: Callable[[], datetime],
    policy: WindowPolicy,
    limit: int = 1000,
    budget_seconds: float = 20.0,
) -> HandleOutcome:
    """Handle up to ``limit`` pending events, oldest first, within the time budget."""
    started = time.monotonic()
    outcome = HandleOutcome()
    with sessions() as session:
        rows = session.execute(
            select(ReceivedEvent.ce_id)
            .where(ReceivedEvent.state == PENDING)
            .order_by(ReceivedEvent.received_at, ReceivedEvent.event_time, ReceivedEvent.ce_id)
            .limit(limit)
        ).scalars().all()
    for ce_id in rows:
        if time.monotonic() - started > budget_seconds:
            break
        with sessions() as session:
            row = session.get(ReceivedEvent, ce_id)
            if row is None or row.state != PENDING:
                continue
            event = _event_of(row)
        try:
            state, meeting_id = handle_one(
                gateway, sessions, event, now=now, policy=policy, applied=outcome.applied
            )
            error = None
        except GoogleError as exc:  # retried inside the gateway already
            state, meeting_id, error = PENDING, None, str(exc)[:2000]
        with sessions.begin() as session:
            row = session.get(ReceivedEvent, ce_id)
            assert row is not None
            row.attempts += 1
            row.meeting_id = meeting_id or row.meeting_id
            row.error = error
            if state == PENDING and row.attempts >= MAX_ATTEMPTS:
                state = FAILED
            row.state = state
            if state != PENDING:
                row.handled_at = now()
        outcome.by_type[event.type] += 1
        if state == HANDLED:
            outcome.handled += 1
        elif state == IGNORED:
            outcome.ignored += 1
        elif state == FAILED:
            outcome.failed += 1
        else:
            outcome.retried += 1
    return outcome


def handle_one(
    gateway: GoogleGateway,
    sessions: sessionmaker[Session],
    event: WorkspaceEvent,
    *,
    now: Callable[[], datetime],
    policy: WindowPolicy,
    applied: list[tuple[str, HarvestOutcome, AttendanceSummary]] | None = None,
) -> tuple[str, str | None]:
    """(new state, meeting id) for one event; Google errors propagate. A read that was
    applied is added to ``applied``."""
    if event.is_lifecycle:
        return IGNORED, None  # applied when stored (meet_core.events.intake)
    if event.type not in ce.WORK_TYPES:
        return IGNORED, None  # joined/left, smart notes: the end's read covers them
    record_name = event.conference_record
    with sessions() as session:
        target, known = _target(session, event.space_name, record_name)
    if target is None or record_name is None or event.resource_name is None:
        return IGNORED, None  # not a meeting of ours (or an unreadable event)
    subject = target.organizer_email
    try:
        if event.type == ce.CONFERENCE_STARTED:
            if known:
                return HANDLED, target.id  # seen already (a reordered end, a sweep)
            snapshot = _started_snapshot(target, record_name, event.time or now())
        elif event.type == ce.CONFERENCE_ENDED:
            snapshot = _ended_snapshot(gateway, target, record_name, subject)
            users = {
                seen.participant.user
                for item in snapshot.records
                for seen in item.participants or ()
                if seen.participant.user
            }
            resolved = IdentityResolver(sessions, gateway, now=now).resolve(users, subject=subject)
            snapshot = dataclasses.replace(snapshot, identities=resolved)
        else:
            _register_artifact(gateway, sessions, target, event, record_name, subject)
            return HANDLED, target.id
    except NotFound:
        return FAILED, target.id  # gone at Google (30-day expiry): nothing left to read
    changed = _apply(sessions, snapshot, now=now, policy=policy)
    if applied is not None:
        applied.append((day_of(target.start_time), *changed))
    return HANDLED, target.id


def _started_snapshot(target: MeetingTarget, record_name: str, started: datetime) -> MeetingSnapshot:
    """Just the record, from the event alone (no Google call): its name, the meeting's
    space, and the event's time as its start. The meeting goes in_progress; attendance and
    Google's own times wait for the end's read (or the backstop's look), which overwrite
    them."""
    record = MeetConferenceRecord(
        name=record_name, space=target.space_name, start=started, end=None, expire=None
    )
    item = RecordSnapshot(record=record, participants=None, recordings=(), transcripts=())
    return MeetingSnapshot(target=target, records=(item,))


def _ended_snapshot(
    gateway: GoogleGateway, target: MeetingTarget, record_name: str, subject: str
) -> MeetingSnapshot:
    record = gateway.get_conference_record(record_name, subject=subject)
    participants = tuple(
        ParticipantSnapshot(p, tuple(gateway.list_participant_sessions(p.name, subject=subject)))
        for p in gateway.list_participants(record_name, subject=subject)
    )
    item = RecordSnapshot(
        record=record,
        participants=participants,
        recordings=tuple(gateway.list_recordings(record_name, subject=subject)),
        transcripts=tuple(gateway.list_transcripts(record_name, subject=subject)),
    )
    return MeetingSnapshot(target=target, records=(item,))


def _register_artifact(
    gateway: GoogleGateway,
    sessions: sessionmaker[Session],
    target: MeetingTarget,
    event: WorkspaceEvent,
    record_name: str,
    subject: str,
) -> None:
    assert event.resource_name is not None
    if event.type == ce.RECORDING_GENERATED:
        sightings = sightings_of_recording(gateway.get_recording(event.resource_name, subject=subject))
    else:
        sightings = sightings_of_transcript(
            gateway.get_transcript(event.resource_name, subject=subject)
        )
    with sessions.begin() as session:
        register_artifacts(
            session,
            meeting_id=target.id,
            conference_record_name=record_name,
            partition_date=day_of(target.start_time),
            sightings=sightings,
        )
        record = session.scalar(select(ConferenceRecord).where(ConferenceRecord.name == record_name))
        if record is not None:  # counts as polling keeps them (the watch list reads them)
            if event.type == ce.RECORDING_GENERATED:
                record.recording_count = max(record.recording_count, 1)
            else:
                record.transcript_count = max(record.transcript_count, 1)


def _apply(
    sessions: sessionmaker[Session],
    snapshot: MeetingSnapshot,
    *,
    now: Callable[[], datetime],
    policy: WindowPolicy,
) -> tuple[HarvestOutcome, AttendanceSummary]:
    with sessions.begin() as session:
        outcome = apply_snapshot(session, snapshot, now=now(), policy=policy, actor=ACTOR)
    with sessions.begin() as session:
        attendance = update_attendance(session, snapshot.target.id, now=now())
    return outcome, attendance


def _target(
    session: Session, space_name: str | None, record_name: str | None
) -> tuple[MeetingTarget | None, bool]:
    """The meeting an event is about, and whether its conference record is known."""
    meeting: Meeting | None = None
    known = False
    if record_name is not None:
        record = session.scalar(select(ConferenceRecord).where(ConferenceRecord.name == record_name))
        if record is not None:
            meeting, known = session.get(Meeting, record.meeting_id), True
    if meeting is None and space_name is not None:
        meeting = session.scalars(
            select(Meeting).where(Meeting.space_name == space_name).order_by(Meeting.start_time.desc())
        ).first()
    if meeting is None or not meeting.space_name:
        return None, False
    return MeetingTarget.of(meeting), known


def _event_of(row: ReceivedEvent) -> WorkspaceEvent:
    return WorkspaceEvent(
        ce_id=row.ce_id,
        type=row.event_type,
        source=row.source,
        subject=row.subject,
        time=row.event_time,
        resource_name=row.resource_name,
    )
