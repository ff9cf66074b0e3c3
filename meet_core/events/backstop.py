"""Polling as the backstop of events mode (docs/pipeline.md).

Only two looks remain: (a) one per meeting after its end plus the artifact wait (what
proves that no recording is owed, since Google sends no event for a recording never made),
and (b) the daily ``harvest_day`` sweep. Whatever such a look finds that no event had
announced is stored as a ``received_events`` row with ``origin = 'backstop'``: their count
is the count of lost (or late beyond the wait) events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.db.models import (
    ArchiveManifestEntry,
    BackstopLook,
    ConferenceRecord,
    Meeting,
    MeetingStatus,
    ReceivedEvent,
)
from meet_core.events import cloudevents as ce
from meet_core.events.intake import HANDLED
from meet_core.google import GoogleGateway
from meet_core.harvest.apply import apply_snapshot, complete_record_names
from meet_core.harvest.attendance import update_attendance
from meet_core.harvest.identity import IdentityResolver
from meet_core.harvest.snapshot import MeetingSnapshot, MeetingTarget, fetch_snapshot
from meet_core.meetings_state import WindowPolicy

FILE_GENERATED = "FILE_GENERATED"
LOOKED_STATUSES = (MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS, MeetingStatus.FINISHED)
FINAL_STATUSES = (MeetingStatus.FINISHED, MeetingStatus.NOT_HELD, MeetingStatus.CANCELLED)
# A look that found the meeting still running (it overran) is taken again this much later.
RELOOK_AFTER = timedelta(minutes=15)
# Meetings whose look is overdue by more than this are left to the daily sweep.
LOOK_BACK = timedelta(days=2)
ACTOR = "sensor:conference_sensor"


@dataclass(frozen=True, slots=True)
class Unannounced:
    event_type: str
    resource_name: str


def due_meetings(
    session: Session, *, now: datetime, policy: WindowPolicy, limit: int
) -> list[str]:
    """Meetings whose end plus the artifact wait has passed and whose look is still owed."""
    wait = max(policy.artifact_wait, policy.grace)
    looked = exists().where(
        BackstopLook.meeting_id == Meeting.id,
        or_(BackstopLook.final.is_(True), BackstopLook.looked_at > now - RELOOK_AFTER),
    )
    query = (
        select(Meeting.id)
        .where(
            Meeting.status.in_(LOOKED_STATUSES),
            Meeting.space_name.is_not(None),
            # Never started (no event said so): looked at after the grace, which decides
            # not_held as polling would; the others after the artifact wait.
            or_(
                Meeting.end_time <= now - wait,
                and_(
                    Meeting.status == MeetingStatus.SCHEDULED,
                    Meeting.end_time <= now - policy.grace,
                ),
            ),
            Meeting.end_time >= now - wait - LOOK_BACK,
            ~looked,
        )
        .order_by(Meeting.end_time, Meeting.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def settle_statuses(
    sessions: sessionmaker[Session], *, now: datetime, policy: WindowPolicy, limit: int = 500
) -> int:
    """Events mode, no Google call: meetings in progress whose conferences have all ended
    move to ``finished`` once the rejoin gap (or the scheduled end) has passed, as polling's
    next look would have moved them. How many moved."""
    running = exists().where(
        ConferenceRecord.meeting_id == Meeting.id, ConferenceRecord.end_time.is_(None)
    )
    ended = exists().where(ConferenceRecord.meeting_id == Meeting.id)
    with sessions() as session:
        targets = [
            MeetingTarget.of(m)
            for m in session.scalars(
                select(Meeting)
                .where(Meeting.status == MeetingStatus.IN_PROGRESS, ended, ~running)
                .order_by(Meeting.end_time)
                .limit(limit)
            )
        ]
    moved = 0
    for target in targets:
        with sessions.begin() as session:
            outcome = apply_snapshot(
                session, MeetingSnapshot(target=target, records=()), now=now, policy=policy,
                actor=ACTOR,
            )
        moved += outcome.transition is not None
    return moved


def settled_record_names(session: Session, meeting_id: str) -> frozenset[str]:
    """Events mode's daily sweep: records it need not ask for their artifacts again.

    A record is settled when all of these hold:

    * it ended and its attendance was read after the end (``complete_record_names``:
      Google adds no participant or session to an ended conference);
    * the backstop's look at the meeting ran after the record's end (and its artifact
      wait) and was final: it listed the record's recordings, transcripts and smart notes
      then. Google lists an artifact from the moment it starts (state STARTED, then ENDED,
      then FILE_GENERATED) and an ended conference starts none, so that look saw every
      artifact the record will ever have, whatever events were lost;
    * every artifact the manifest holds for the record is FILE_GENERATED: nothing is still
      owed by Google. One that is not (a file slower than the wait, whose event may be lost)
      keeps the record unsettled, and the sweep lists its artifacts again until it is.

    So skipping the lists loses nothing the proof needs: the sweep still lists the
    meeting's conference records (a record no event and no look has seen is read in full).
    """
    looked = session.get(BackstopLook, meeting_id)
    if looked is None or not looked.final:
        return frozenset()
    rows = session.execute(
        select(ConferenceRecord.name, ConferenceRecord.end_time, ConferenceRecord.synced_at).where(
            ConferenceRecord.meeting_id == meeting_id
        )
    ).all()
    pending = set(
        session.scalars(
            select(ArchiveManifestEntry.conference_record_name).where(
                ArchiveManifestEntry.meeting_id == meeting_id,
                ArchiveManifestEntry.google_state != FILE_GENERATED,
            )
        )
    )
    return frozenset(
        r.name
        for r in rows
        if r.end_time is not None
        and r.synced_at >= r.end_time
        and looked.looked_at >= r.end_time
        and r.name not in pending
    )


def unannounced(session: Session, snapshot: MeetingSnapshot) -> list[Unannounced]:
    """What the snapshot holds that the database (fed by events) did not know yet."""
    meeting_id = snapshot.target.id
    records = {
        name: end
        for name, end in session.execute(
            select(ConferenceRecord.name, ConferenceRecord.end_time).where(
                ConferenceRecord.meeting_id == meeting_id
            )
        )
    }
    generated = set(
        session.scalars(
            select(ArchiveManifestEntry.artifact_name).where(
                ArchiveManifestEntry.meeting_id == meeting_id,
                ArchiveManifestEntry.google_state == FILE_GENERATED,
            )
        )
    )
    found: list[Unannounced] = []
    for item in snapshot.records:
        name = item.record.name
        if name not in records:
            found.append(Unannounced(ce.CONFERENCE_STARTED, name))
        if item.record.end is not None and records.get(name) is None:
            found.append(Unannounced(ce.CONFERENCE_ENDED, name))
        for recording in item.recordings:
            if recording.state == FILE_GENERATED and recording.name not in generated:
                found.append(Unannounced(ce.RECORDING_GENERATED, recording.name))
        for transcript in item.transcripts:
            if transcript.state == FILE_GENERATED and transcript.name not in generated:
                found.append(Unannounced(ce.TRANSCRIPT_GENERATED, transcript.name))
    return found


def record_unannounced(
    session: Session, meeting_id: str, found: list[Unannounced], *, now: datetime
) -> int:
    """Store each find once (``backstop:{type}:{resource}``); how many were new."""
    added = 0
    for item in found:
        ce_id = f"backstop:{item.event_type}:{item.resource_name}"[:300]
        if session.get(ReceivedEvent, ce_id) is not None:
            continue
        session.add(
            ReceivedEvent(
                ce_id=ce_id,
                event_type=item.event_type,
                origin="backstop",
                resource_name=item.resource_name[:300],
                meeting_id=meeting_id,
                received_at=now,
                deliveries=0,
                state=HANDLED,
                handled_at=now,
                attempts=0,
            )
        )
        added += 1
    session.flush()
    return added


def look(
    gateway: GoogleGateway,
    sessions: sessionmaker[Session],
    meeting_id: str,
    *,
    now: Callable[[], datetime],
    policy: WindowPolicy,
) -> int | None:
    """The backstop's look at one meeting; how many unannounced finds (None: no meeting).
    Google errors propagate (the next tick looks again)."""
    with sessions() as session:
        meeting = session.get(Meeting, meeting_id)
        if meeting is None or not meeting.space_name:
            return None
        target = MeetingTarget.of(meeting)
        complete = complete_record_names(session, meeting_id)
    identities = IdentityResolver(sessions, gateway, now=now)
    snapshot = fetch_snapshot(gateway, target, complete_records=complete, identities=identities)
    with sessions.begin() as session:
        found = unannounced(session, snapshot)
        apply_snapshot(session, snapshot, now=now(), policy=policy, actor=ACTOR)
        added = record_unannounced(session, meeting_id, found, now=now())
        status = session.scalar(select(Meeting.status).where(Meeting.id == meeting_id))
        row = session.get(BackstopLook, meeting_id)
        if row is None:
            row = BackstopLook(meeting_id=meeting_id, found=0)
            session.add(row)
        row.looked_at, row.final = now(), status in FINAL_STATUSES
        row.found += added
    with sessions.begin() as session:
        update_attendance(session, meeting_id, now=now())
    return added
