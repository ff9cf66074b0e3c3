"""Provisioning: turn a ``pending`` meeting into a Calendar event whose Meet space records
itself, and retry the ones Google could not take yet.

The API calls :func:`provision_meeting` right after storing a meeting; the pipeline's sensor
calls :func:`retry_pending`. Both are safe to run at the same time, any number of times:

* a meeting is *claimed* with a conditional update (status ``pending`` and no live lease),
  so only one worker provisions it at a time, and the claim counts the attempt;
* the Calendar event id is derived from the meeting id (base32hex of the UUID), and the
  conference ``requestId`` is the meeting id, so a repeated insert cannot make a second
  event or a second space: Google answers 409 and the existing event is reused;
* progress (the event id) is stored as soon as the event exists, so a half-done meeting
  (event made, space not yet patched) is finished on the next attempt, never duplicated.

The steps (docs/api.md, "Create and provisioning"; the Google calls in docs/google.md):
``events.insert`` with a ``createRequest`` -> wait while the conference is ``pending`` ->
``spaces.patch`` auto recording and transcription ON -> ``spaces.get`` to read it back; only
then is the meeting ``scheduled``.

No database transaction is ever held across a Google call: each step is a short
transaction (the audit chain serialises appenders on one row).
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from meet_core.audit import append_event
from meet_core.compliance.outbox import enqueue_event
from meet_core.db.models import Meeting, MeetingStatus
from meet_core.db.types import utcnow
from meet_core.google.errors import (
    ConferenceCreationFailed,
    GoogleError,
    InvalidRequest,
    PermissionDenied,
)
from meet_core.google.gateway import GoogleGateway
from meet_core.google.types import (
    CalendarAttendee,
    CalendarEvent,
    ConferenceCreate,
    EventChanges,
    EventDraft,
    Space,
)

log = logging.getLogger("meet_core.provisioning")

# After this many attempts a meeting is given up as ``failed`` (about a day of backoff).
MAX_ATTEMPTS = 12
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
# A claim expires after this long, so a crashed worker's meeting is picked up again.
LEASE = timedelta(minutes=10)
CONFERENCE_WAIT_SECONDS = 20.0
# Errors that retrying cannot fix: the request or the permissions are wrong.
PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    PermissionDenied,
    InvalidRequest,
    ConferenceCreationFailed,
    ValueError,
)


class ProvisionResult(enum.StrEnum):
    SCHEDULED = "scheduled"  # event, space and auto recording are in place
    PENDING = "pending"  # Google could not do it now; retried at next_attempt_at
    FAILED = "failed"  # permanent error or too many attempts; audited
    SKIPPED = "skipped"  # not pending, unknown, or another worker holds the claim


@dataclass(frozen=True, slots=True)
class ProvisionOutcome:
    meeting_id: str
    result: ProvisionResult
    status: str  # the meeting's status afterwards ("" if the meeting does not exist)
    attempts: int = 0
    error: str | None = None
    error_kind: str | None = None  # e.g. "GoogleUnavailable"
    error_method: str | None = None  # e.g. "calendar.events.insert"
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What one attempt works from, read in the claiming transaction."""

    id: str
    external_id: str
    title: str
    description: str | None
    start: datetime
    end: datetime
    timezone: str
    organizer: str
    attendees: tuple[CalendarAttendee, ...]
    event_id: str | None
    version: int
    attempts: int


class _NotReady(GoogleError):
    """Google accepted the calls but the result is not what we need yet (retry later)."""


def event_id_for(meeting_id: str) -> str:
    """The Calendar event id of a meeting: base32hex (a-v, 0-9) of its UUID, 26 characters."""
    return base64.b32hexencode(uuid.UUID(meeting_id).bytes).decode().rstrip("=").lower()


def backoff(attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: 30 s, 1 min, 2 min … capped at 1 h."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))


def _snapshot(meeting: Meeting) -> _Snapshot:
    return _Snapshot(
        id=meeting.id,
        external_id=meeting.external_id,
        title=meeting.title,
        description=meeting.description,
        start=meeting.start_time,
        end=meeting.end_time,
        timezone=meeting.timezone,
        organizer=meeting.organizer_email,
        attendees=tuple(
            CalendarAttendee(email=p.email, display_name=p.display_name) for p in meeting.participants
        ),
        event_id=meeting.calendar_event_id,
        version=meeting.version,
        attempts=meeting.provisioning_attempts,
    )


def _audit(
    session: Session,
    meeting_id: str,
    action: str,
    actor: str,
    context: Mapping[str, Any] | None,
    **payload: Any,
) -> None:
    append_event(
        session,
        actor=actor,
        action=action,
        entity_type="meeting",
        entity_id=meeting_id,
        payload={**(context or {}), **payload},
    )


def _claim(
    sessions: sessionmaker[Session],
    meeting_id: str,
    now: datetime,
    actor: str,
    context: Mapping[str, Any] | None,
) -> _Snapshot | ProvisionOutcome:
    with sessions.begin() as session:
        meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            return ProvisionOutcome(
                meeting_id, ProvisionResult.SKIPPED, "", error="no such meeting"
            )
        if meeting.status != MeetingStatus.PENDING:
            return ProvisionOutcome(
                meeting_id, ProvisionResult.SKIPPED, meeting.status, meeting.provisioning_attempts
            )
        if meeting.end_time <= now:
            # Too late to hold it: nobody can join a meeting whose time has passed.
            meeting.status, meeting.next_attempt_at = MeetingStatus.FAILED, None
            meeting.last_error = "the meeting's end time passed before it could be provisioned"
            _audit(
                session,
                meeting_id,
                "meeting.provisioning_failed",
                actor,
                context,
                outcome="failed",
                error=meeting.last_error,
                attempts=meeting.provisioning_attempts,
            )
            return ProvisionOutcome(
                meeting_id,
                ProvisionResult.FAILED,
                MeetingStatus.FAILED,
                meeting.provisioning_attempts,
                error=meeting.last_error,
            )
        claimed = session.execute(  # type: ignore[attr-defined]  # a CursorResult for UPDATE
            update(Meeting)
            .where(
                Meeting.id == meeting_id,
                Meeting.status == MeetingStatus.PENDING,
                or_(Meeting.next_attempt_at.is_(None), Meeting.next_attempt_at <= now),
            )
            .values(
                next_attempt_at=now + LEASE, provisioning_attempts=Meeting.provisioning_attempts + 1
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            return ProvisionOutcome(
                meeting_id,
                ProvisionResult.SKIPPED,
                meeting.status,
                meeting.provisioning_attempts,
                error="another worker holds the claim",
            )
        session.refresh(meeting)
        return _snapshot(meeting)


def _draft(snap: _Snapshot, event_id: str) -> EventDraft:
    return EventDraft(
        event_id=event_id,
        summary=snap.title,
        start=snap.start,
        end=snap.end,
        timezone=snap.timezone,
        conference=ConferenceCreate(request_id=snap.id),
        description=snap.description,
        attendees=snap.attendees,
        external_id=snap.external_id,
        meeting_id=snap.id,
    )


def _guests(emails: Any, organizer: str) -> set[str]:
    return {e.lower() for e in emails} - {organizer.lower()}


def _changes_needed(event: CalendarEvent, snap: _Snapshot) -> EventChanges | None:
    """What the existing event lacks compared with the meeting (after a PATCH or a retry)."""
    same = (
        event.summary == snap.title
        and (event.description or None) == (snap.description or None)
        and event.start == snap.start
        and event.end == snap.end
        and _guests((a.email for a in event.attendees), snap.organizer)
        == _guests((a.email for a in snap.attendees), snap.organizer)
    )
    if same:
        return None
    return EventChanges(
        summary=snap.title,
        description=snap.description if snap.description is not None else "",
        start=snap.start,
        end=snap.end,
        timezone=snap.timezone,
        attendees=snap.attendees,
    )


def _record_event(
    sessions: sessionmaker[Session], meeting_id: str, event_id: str, calendar_id: str
) -> None:
    # Progress marker: the next attempt knows the event exists (it would find it anyway,
    # by its derived id, but this also shows operators a half-done meeting).
    with sessions.begin() as session:
        session.execute(
            update(Meeting)
            .where(Meeting.id == meeting_id, Meeting.calendar_event_id.is_(None))
            .values(calendar_event_id=event_id, calendar_id=calendar_id)
            .execution_options(synchronize_session=False)
        )


def _ensure_event(
    sessions: sessionmaker[Session], gateway: GoogleGateway, snap: _Snapshot
) -> CalendarEvent:
    event_id = snap.event_id or event_id_for(snap.id)
    if snap.event_id is None:
        # insert_event turns Google's 409 for an existing id into that event.
        event = gateway.insert_event(_draft(snap, event_id), subject=snap.organizer)
        _record_event(sessions, snap.id, event.id, gateway.config.calendar_id)
    else:
        event = gateway.get_event(event_id, subject=snap.organizer)
    changes = _changes_needed(event, snap)
    if changes is not None:
        event = gateway.patch_event(event.id, changes, subject=snap.organizer)
    if event.conference_status == "pending" or not event.conference_id:
        event = gateway.wait_for_conference(
            event.id, subject=snap.organizer, timeout=CONFERENCE_WAIT_SECONDS
        )
    if not event.conference_id:
        raise _NotReady("the event has no Meet conference yet", method="calendar.events.get")
    return event


def _ensure_recording(gateway: GoogleGateway, event: CalendarEvent, organizer: str) -> Space:
    name = f"spaces/{event.conference_id}"
    gateway.enable_auto_artifacts(name, subject=organizer)
    # Read back rather than trust the patch answer: refuse "scheduled" unless it is ON.
    space = gateway.get_space(name, subject=organizer)
    if not (space.auto_recording and space.auto_transcription):
        raise _NotReady(
            f"{space.name}: auto recording/transcription still off after spaces.patch",
            method="meet.spaces.get",
        )
    return space


def _finish(
    sessions: sessionmaker[Session],
    snap: _Snapshot,
    event: CalendarEvent,
    space: Space,
    actor: str,
    context: Mapping[str, Any] | None,
) -> ProvisionOutcome | _Snapshot | None:
    """Mark scheduled; a newer snapshot if the meeting changed meanwhile; None if it is no
    longer pending (cancelled while we worked)."""
    with sessions.begin() as session:
        meeting = session.get(Meeting, snap.id, with_for_update=True)
        if meeting is None or meeting.status != MeetingStatus.PENDING:
            return None
        if meeting.version != snap.version:
            return dataclasses.replace(_snapshot(meeting), event_id=event.id)
        meeting.status = MeetingStatus.SCHEDULED
        meeting.calendar_event_id = event.id
        meeting.space_name = space.name
        meeting.meeting_code = space.meeting_code or event.conference_id
        meeting.meet_uri = space.meeting_uri or event.meet_uri
        meeting.auto_recording = True
        meeting.next_attempt_at = None
        meeting.last_error = None
        _audit(
            session,
            snap.id,
            "meeting.provisioned",
            actor,
            context,
            outcome="scheduled",
            attempts=meeting.provisioning_attempts,
            calendar_event_id=event.id,
            space_name=space.name,
            meeting_code=meeting.meeting_code,
            auto_recording=True,
            auto_transcription=True,
        )
        enqueue_event(
            session,
            "meeting.scheduled",
            {
                "meeting_id": snap.id,
                "external_id": meeting.external_id,
                "meet_uri": meeting.meet_uri,
                "meeting_code": meeting.meeting_code,
                "calendar_event_id": event.id,
            },
            dedupe_key=f"meeting.scheduled:{snap.id}",
        )
        return ProvisionOutcome(
            snap.id,
            ProvisionResult.SCHEDULED,
            MeetingStatus.SCHEDULED,
            meeting.provisioning_attempts,
        )


def _fail_or_defer(
    sessions: sessionmaker[Session],
    gateway: GoogleGateway,
    snap: _Snapshot,
    exc: Exception,
    now: datetime,
    actor: str,
    context: Mapping[str, Any] | None,
) -> ProvisionOutcome:
    kind = type(exc).__name__
    method = getattr(exc, "method", None)
    message = str(exc)[:2000]
    permanent = isinstance(exc, PERMANENT_ERRORS) or snap.attempts >= MAX_ATTEMPTS
    event_cancelled = False
    if permanent:
        # Guests may already hold an invitation to a meeting that will not record: withdraw it.
        try:
            gateway.cancel_event(snap.event_id or event_id_for(snap.id), subject=snap.organizer)
            event_cancelled = True
        except (GoogleError, ValueError) as cancel_error:
            log.warning(
                "could not withdraw the event of failed meeting %s: %s", snap.id, cancel_error
            )
    with sessions.begin() as session:
        meeting = session.get(Meeting, snap.id, with_for_update=True)
        if meeting is None or meeting.status != MeetingStatus.PENDING:
            return ProvisionOutcome(
                snap.id,
                ProvisionResult.SKIPPED,
                meeting.status if meeting else "",
                snap.attempts,
                error=message,
                error_kind=kind,
                error_method=method,
            )
        meeting.last_error = f"{kind}: {message}"
        if permanent:
            meeting.status, meeting.next_attempt_at = MeetingStatus.FAILED, None
            _audit(
                session,
                snap.id,
                "meeting.provisioning_failed",
                actor,
                context,
                outcome="failed",
                attempts=snap.attempts,
                error=message,
                error_kind=kind,
                google_method=method,
                event_withdrawn=event_cancelled,
            )
            result = ProvisionResult.FAILED
        else:
            meeting.next_attempt_at = now + backoff(snap.attempts)
            _audit(
                session,
                snap.id,
                "meeting.provisioning_deferred",
                actor,
                context,
                outcome="pending",
                attempts=snap.attempts,
                error=message,
                error_kind=kind,
                google_method=method,
                next_attempt_at=meeting.next_attempt_at.isoformat(),
            )
            result = ProvisionResult.PENDING
        return ProvisionOutcome(
            snap.id,
            result,
            meeting.status,
            snap.attempts,
            error=message,
            error_kind=kind,
            error_method=method,
            next_attempt_at=meeting.next_attempt_at,
        )


def provision_meeting(
    sessions: sessionmaker[Session],
    gateway: GoogleGateway,
    meeting_id: str,
    *,
    now: datetime | None = None,
    actor: str = "provisioner",
    audit_context: Mapping[str, Any] | None = None,
) -> ProvisionOutcome:
    """One provisioning attempt for one pending meeting (see the module docstring).

    Never raises for Google errors: they become a ``pending`` (retry later) or ``failed``
    outcome, audited either way. ``audit_context`` (client, key id, request id …) is added
    to the audit events' payload.
    """
    now = now or utcnow()
    claimed = _claim(sessions, meeting_id, now, actor, audit_context)
    if isinstance(claimed, ProvisionOutcome):
        return claimed
    snap = claimed
    try:
        for _ in range(3):
            event = _ensure_event(sessions, gateway, snap)
            space = _ensure_recording(gateway, event, snap.organizer)
            finished = _finish(sessions, snap, event, space, actor, audit_context)
            if finished is None:
                return _withdraw_after_cancel(sessions, gateway, snap)
            if isinstance(finished, ProvisionOutcome):
                return finished
            snap = finished  # edited meanwhile: bring the event up to date, then finish
        raise _NotReady("the meeting kept changing while it was provisioned")
    except (GoogleError, ValueError) as exc:
        log.info("provisioning of %s not done: %s", meeting_id, exc)
        return _fail_or_defer(sessions, gateway, snap, exc, now, actor, audit_context)


def _withdraw_after_cancel(
    sessions: sessionmaker[Session], gateway: GoogleGateway, snap: _Snapshot
) -> ProvisionOutcome:
    # Cancelled while we were creating the event: make sure the event does not outlive it.
    try:
        gateway.cancel_event(snap.event_id or event_id_for(snap.id), subject=snap.organizer)
    except GoogleError as exc:
        log.warning(
            "meeting %s was cancelled during provisioning; event not withdrawn: %s", snap.id, exc
        )
    with sessions() as session:
        meeting = session.get(Meeting, snap.id)
        status = meeting.status if meeting else ""
    return ProvisionOutcome(snap.id, ProvisionResult.SKIPPED, status, snap.attempts)


def due_meetings(session: Session, *, now: datetime, limit: int) -> list[str]:
    """Ids of pending meetings whose next attempt is due, oldest first."""
    return list(
        session.scalars(
            select(Meeting.id)
            .where(
                Meeting.status == MeetingStatus.PENDING,
                or_(Meeting.next_attempt_at.is_(None), Meeting.next_attempt_at <= now),
            )
            .order_by(
                Meeting.next_attempt_at.is_not(None), Meeting.next_attempt_at, Meeting.created_at
            )
            .limit(limit)
        )
    )


def retry_pending(
    sessions: sessionmaker[Session],
    gateway: GoogleGateway,
    *,
    now: datetime | None = None,
    limit: int = 50,
) -> list[ProvisionOutcome]:
    """Provision up to ``limit`` pending meetings that are due (for the pipeline's sensor)."""
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit!r}")
    now = now or utcnow()
    with sessions() as session:
        due = due_meetings(session, now=now, limit=limit)
    return [provision_meeting(sessions, gateway, meeting_id, now=now) for meeting_id in due]
