"""Meeting commands: create (store pending, then provision), update and cancel.

All functions are synchronous (SQLAlchemy and the Google client are); controllers run them
in worker threads. Transactions are short and never span a Google call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meet_api.domain.auth.principal import Principal
from meet_api.domain.meetings import idempotency
from meet_api.domain.meetings.presenters import meeting_out
from meet_api.domain.meetings.schemas import MeetingOut
from meet_api.domain.meetings.validation import InviteeInput, MeetingChanges, NewMeeting
from meet_api.lib.problems import ApiProblem
from meet_api.lib.state import AppState
from meet_core.audit import append_event
from meet_core.db.models import Meeting, MeetingStatus, Participant
from meet_core.db.types import utcnow
from meet_core.google.errors import GoogleError, GoogleUnavailable, QuotaExhausted
from meet_core.google.types import CalendarAttendee, EventChanges
from meet_core.provisioning import event_id_for

EDITABLE = (MeetingStatus.PENDING, MeetingStatus.SCHEDULED)
NOT_CANCELLABLE = (MeetingStatus.IN_PROGRESS, MeetingStatus.FINISHED, MeetingStatus.NOT_HELD)


@dataclass(frozen=True, slots=True)
class Created:
    meeting_id: str
    record_id: int | None  # the idempotency record to complete, if a key was given


def _audit(
    session: Session, principal: Principal, action: str, meeting_id: str, **payload: Any
) -> None:
    append_event(
        session,
        actor=principal.actor,
        action=action,
        entity_type="meeting",
        entity_id=meeting_id,
        payload=principal.audit_context(**payload),
    )


def visible_meeting(
    session: Session, principal: Principal, meeting_id: str, *, lock: bool = False
) -> Meeting:
    """The meeting, if this key may see it; another client's meeting is a 404 like a missing one."""
    meeting = (
        session.get(Meeting, meeting_id, with_for_update=lock) if is_uuid(meeting_id) else None
    )
    if meeting is None or (
        not principal.sees_all_clients and meeting.client_id != principal.client_id
    ):
        raise not_found(meeting_id)
    return meeting


def not_found(meeting_id: str) -> ApiProblem:
    return ApiProblem(404, f"no meeting {meeting_id!r}", slug="meeting-not-found")


def is_uuid(value: str) -> bool:
    return (
        len(value) == 36 and value.count("-") == 4 and all(c in "0123456789abcdef-" for c in value)
    )


def _participants(invitees: tuple[InviteeInput, ...]) -> list[Participant]:
    return [Participant(email=p.email, display_name=p.display_name, role=p.role) for p in invitees]


def _duplicate_external_id(session: Session, client_id: str, external_id: str) -> ApiProblem | None:
    found = session.scalar(
        select(Meeting.id).where(Meeting.client_id == client_id, Meeting.external_id == external_id)
    )
    if found is None:
        return None
    return ApiProblem(
        409,
        f"a meeting with external_id {external_id!r} already exists",
        slug="duplicate-external-id",
        extra={"meeting_id": found},
    )


def start_create(
    state: AppState, principal: Principal, new: NewMeeting, key: str | None, request_hash: str
) -> Created | idempotency.Replay | idempotency.InFlight:
    """Store the meeting as pending with its participants, its audit event and (with a key)
    the in-flight idempotency record, all in one transaction."""
    ttl = timedelta(hours=state.settings.idempotency_ttl_hours)
    for _ in range(5):  # a lost race on a unique constraint is retried and then seen as such
        now = utcnow()
        try:
            with state.sessions.begin() as session:
                if key is not None:
                    seen = idempotency.existing(
                        session, principal.client_id, key, request_hash, now
                    )
                    if seen is not None:
                        return seen
                duplicate = _duplicate_external_id(session, principal.client_id, new.external_id)
                if duplicate is not None:
                    # On PostgreSQL (read committed) a concurrent first request may have
                    # committed between the two reads: its meeting and idempotency record
                    # commit together, so look for the record again before calling it a
                    # duplicate.
                    if key is not None:
                        seen = idempotency.existing(session, principal.client_id, key, request_hash, now)
                        if seen is not None:
                            return seen
                    raise duplicate
                meeting = Meeting(
                    client_id=principal.client_id,
                    external_id=new.external_id,
                    title=new.title,
                    description=new.description,
                    start_time=new.start_time,
                    end_time=new.end_time,
                    timezone=new.timezone,
                    organizer_email=new.organizer_email,
                    status=MeetingStatus.PENDING,
                    participants=_participants(new.participants),
                    created_at=now,
                    updated_at=now,
                )
                session.add(meeting)
                session.flush()
                record = (
                    idempotency.start(
                        session, principal.client_id, key, request_hash, meeting.id, now, ttl
                    )
                    if key is not None
                    else None
                )
                _audit(
                    session,
                    principal,
                    "meeting.created",
                    meeting.id,
                    outcome="pending",
                    external_id=new.external_id,
                    participants=len(new.participants),
                    start_time=new.start_time.isoformat(),
                    end_time=new.end_time.isoformat(),
                    idempotency_key=key is not None,
                )
                return Created(meeting.id, record.id if record else None)
        except IntegrityError:
            continue
    raise ApiProblem(
        409, "a concurrent request is creating the same meeting; retry", slug="conflict"
    )


def complete_idempotent(state: AppState, record_id: int | None, status: int, body: Any) -> None:
    if record_id is None:
        return
    with state.sessions.begin() as session:
        idempotency.complete(session, record_id, status, body)


def poll_idempotent(state: AppState, record_id: int) -> idempotency.Replay | None:
    with state.sessions() as session:
        return idempotency.poll(session, record_id)


def finish_create(
    state: AppState,
    principal: Principal,
    meeting_id: str,
    record_id: int | None,
    status_for: Callable[[MeetingOut], int],
) -> MeetingOut:
    """The meeting after provisioning, stored (with a key) as the answer to repeats, in one
    transaction."""
    with state.sessions.begin() as session:
        out = meeting_out(visible_meeting(session, principal, meeting_id))
        if record_id is not None:
            idempotency.complete(session, record_id, status_for(out), as_json(out))
        return out


def read_out(state: AppState, principal: Principal, meeting_id: str) -> MeetingOut:
    with state.sessions() as session:
        return meeting_out(visible_meeting(session, principal, meeting_id))


def as_json(value: msgspec.Struct) -> Any:
    """JSON-ready builtins (what the idempotency record stores and replays)."""
    return msgspec.to_builtins(value)


# ----- update ----------------------------------------------------------------------------------


def _attendees(invitees: tuple[InviteeInput, ...] | list[Participant]) -> tuple[CalendarAttendee, ...]:
    return tuple(CalendarAttendee(email=p.email, display_name=p.display_name) for p in invitees)


def _google_problem(exc: GoogleError, what: str) -> ApiProblem:
    if isinstance(exc, (GoogleUnavailable, QuotaExhausted)):
        retry = str(int(exc.retry_after or 30))
        return ApiProblem(
            503,
            f"Google is unavailable, nothing was changed; retry later ({what})",
            slug="google-unavailable",
            headers={"Retry-After": retry},
        )
    return ApiProblem(502, f"Google refused the change: {exc.message}", slug="google-refused")


def _calendar_changes(meeting: Meeting, changes: MeetingChanges) -> EventChanges:
    times = changes.start_time or changes.end_time or changes.timezone
    return EventChanges(
        summary=changes.title,
        description="" if changes.clear_description else changes.description,
        start=(changes.start_time or meeting.start_time) if times else None,
        end=(changes.end_time or meeting.end_time) if times else None,
        timezone=(changes.timezone or meeting.timezone) if times else None,
        attendees=_attendees(changes.participants) if changes.participants is not None else None,
    )


def _check_version(meeting: Meeting, expected: int) -> None:
    if meeting.status not in EDITABLE:
        raise ApiProblem(
            409,
            f"a {meeting.status} meeting cannot be changed",
            slug="meeting-not-editable",
            extra={"meeting_status": meeting.status},
        )
    if meeting.version != expected:
        raise ApiProblem(
            409,
            f"version mismatch: the meeting is at version {meeting.version}, not {expected}",
            slug="version-mismatch",
            extra={"current_version": meeting.version},
        )


def _apply(session: Session, meeting: Meeting, changes: MeetingChanges) -> list[str]:
    changed: list[str] = []
    for field in ("title", "start_time", "end_time", "timezone"):
        value = getattr(changes, field)
        if value is not None and value != getattr(meeting, field):
            setattr(meeting, field, value)
            changed.append(field)
    if changes.clear_description or changes.description is not None:
        meeting.description = None if changes.clear_description else changes.description
        changed.append("description")
    if changes.participants is not None:
        wanted = {p.email: p for p in changes.participants}
        for participant in list(meeting.participants):
            if participant.email not in wanted:
                meeting.participants.remove(participant)
        current = {p.email: p for p in meeting.participants}
        session.flush()  # removals first, so a re-added email does not hit the unique constraint
        for email, invitee in wanted.items():
            if email in current:
                current[email].display_name, current[email].role = (
                    invitee.display_name,
                    invitee.role,
                )
            else:
                meeting.participants.append(
                    Participant(email=email, display_name=invitee.display_name, role=invitee.role)
                )
        changed.append("participants")
    meeting.version += 1
    meeting.updated_at = utcnow()
    return changed


def update_meeting(
    state: AppState,
    principal: Principal,
    meeting_id: str,
    changes: MeetingChanges,
    expected_version: int,
) -> MeetingOut:
    """Calendar first (with notifications), then the row; a lost race is a 409."""
    with state.sessions() as session:
        meeting = visible_meeting(session, principal, meeting_id)
        _check_version(meeting, expected_version)
        synced = meeting.status == MeetingStatus.SCHEDULED and meeting.calendar_event_id is not None
        event_changes = _calendar_changes(meeting, changes) if synced else None
        event_id, organizer = meeting.calendar_event_id, meeting.organizer_email
    if event_changes is not None and event_id is not None:
        try:
            state.gateway.patch_event(event_id, event_changes, subject=organizer)
        except GoogleError as exc:
            state.metrics.google_errors.inc(
                method=exc.method or "calendar.events.patch", kind=type(exc).__name__
            )
            with state.sessions.begin() as session:
                _audit(
                    session,
                    principal,
                    "meeting.update_failed",
                    meeting_id,
                    outcome="google_error",
                    error=str(exc)[:500],
                    error_kind=type(exc).__name__,
                )
            raise _google_problem(exc, "calendar.events.patch") from exc
    # Pending meetings are only changed here: provisioning brings the event up to date.
    with state.sessions.begin() as session:
        meeting = visible_meeting(session, principal, meeting_id, lock=True)
        _check_version(meeting, expected_version)
        changed = _apply(session, meeting, changes)
        _audit(
            session,
            principal,
            "meeting.updated",
            meeting_id,
            outcome="updated",
            changed=changed,
            version=meeting.version,
            calendar_synced=event_changes is not None,
        )
        return meeting_out(meeting)


# ----- cancel ----------------------------------------------------------------------------------


def _withdraw_event(state: AppState, meeting_id: str, organizer: str) -> bool:
    try:
        state.gateway.cancel_event(event_id_for(meeting_id), subject=organizer)
        return True
    except GoogleError as exc:
        state.metrics.google_errors.inc(
            method=exc.method or "calendar.events.delete", kind=type(exc).__name__
        )
        raise


def cancel_meeting(state: AppState, principal: Principal, meeting_id: str) -> MeetingOut:
    """Cancel: the event is deleted with notifications; the record and its history stay.

    A scheduled meeting's event is deleted first (503 and nothing changed if Google is
    down). A pending or failed one is marked cancelled first, so that a provisioning in
    flight withdraws what it makes, and its event (if any) is deleted after. Repeating a
    cancel deletes the event again (a no-op at Google) and changes nothing else.
    """
    with state.sessions() as session:
        meeting = visible_meeting(session, principal, meeting_id)
        status, organizer = meeting.status, meeting.organizer_email
        might_have_event = (
            meeting.calendar_event_id is not None or meeting.provisioning_attempts > 0
        )
    if status in NOT_CANCELLABLE:
        raise ApiProblem(
            409,
            f"a {status} meeting cannot be cancelled",
            slug="meeting-not-cancellable",
            extra={"meeting_status": status},
        )
    if status == MeetingStatus.SCHEDULED:
        try:
            _withdraw_event(state, meeting_id, organizer)
        except GoogleError as exc:
            with state.sessions.begin() as session:
                _audit(
                    session,
                    principal,
                    "meeting.cancel_failed",
                    meeting_id,
                    outcome="google_error",
                    error=str(exc)[:500],
                    error_kind=type(exc).__name__,
                )
            raise _google_problem(exc, "calendar.events.delete") from exc
    with state.sessions.begin() as session:
        meeting = visible_meeting(session, principal, meeting_id, lock=True)
        if meeting.status in NOT_CANCELLABLE:
            raise ApiProblem(
                409,
                f"a {meeting.status} meeting cannot be cancelled",
                slug="meeting-not-cancellable",
                extra={"meeting_status": meeting.status},
            )
        first_time = meeting.status != MeetingStatus.CANCELLED
        if first_time:
            previous = meeting.status
            session.execute(
                update(Meeting)
                .where(Meeting.id == meeting_id)
                .values(
                    status=MeetingStatus.CANCELLED,
                    cancelled_at=utcnow(),
                    next_attempt_at=None,
                    version=Meeting.version + 1,
                    updated_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
            _audit(
                session,
                principal,
                "meeting.cancelled",
                meeting_id,
                outcome="cancelled",
                previous_status=previous,
                event_deleted=status == MeetingStatus.SCHEDULED,
            )
        session.refresh(meeting)
        out = meeting_out(meeting)
    if status != MeetingStatus.SCHEDULED and might_have_event:
        # Best effort: a half-made event of a pending meeting, or a retry of an earlier cancel.
        try:
            _withdraw_event(state, meeting_id, organizer)
        except GoogleError:
            if first_time:
                with state.sessions.begin() as session:
                    _audit(
                        session,
                        principal,
                        "meeting.event_withdrawal_deferred",
                        meeting_id,
                        outcome="google_error",
                        detail="repeat DELETE to retry the withdrawal",
                    )
    return out
