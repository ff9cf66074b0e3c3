"""Database rows to response bodies."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meet_api.domain.meetings.schemas import (
    ComplianceState,
    MeetingOut,
    ParticipantOut,
    Provisioning,
    RecordingState,
    Violation,
)
from meet_core.db.models import ConferenceParticipant, ConferenceRecord, Meeting, MeetingStatus


def participant_out(
    participant: Any,
    harvested: bool = False,
    first_joined_at: datetime | None = None,
    last_left_at: datetime | None = None,
    seconds: int | None = None,
    kind: str | None = None,
    matched_by: str | None = None,
) -> ParticipantOut:
    """An invitation (a Participant, or a row with its column names) as a body.

    ``harvested``: the pipeline has seen a conference of the meeting, so attendance is known
    for everyone; the other arguments are what it harvested for this email (nothing: did not
    attend). Before that, the participant's own columns are answered as they are."""
    if harvested:
        attended_seconds = int(seconds or 0)
        return ParticipantOut(
            email=participant.email,
            display_name=participant.display_name,
            role=participant.role,
            response_status=participant.response_status,
            attended=attended_seconds > 0,
            first_joined_at=first_joined_at,
            last_left_at=last_left_at,
            attended_seconds=attended_seconds,
            kind=kind,
            matched_by=matched_by,
        )
    return ParticipantOut(
        email=participant.email,
        display_name=participant.display_name,
        role=participant.role,
        response_status=participant.response_status,
        attended=participant.attended,
        first_joined_at=participant.first_joined_at,
        last_left_at=participant.last_left_at,
        attended_seconds=participant.attended_seconds,
    )


def participant_with_attendance(
    participant: Any, attendance: dict[str, tuple] | None
) -> ParticipantOut:
    """:func:`participant_out` with the harvest of :func:`attendance_by_email`."""
    if attendance is None:
        return participant_out(participant)
    seen = attendance.get(participant.email)
    return participant_out(participant, True, *(seen or ()))


def meeting_out(meeting: Meeting) -> MeetingOut:
    return MeetingOut(**meeting_fields(meeting, [participant_out(p) for p in meeting.participants]))


def meeting_fields(meeting: Any, participants: list[ParticipantOut]) -> dict[str, Any]:
    """The MeetingOut fields of a Meeting, or of a row with the same column names."""
    return dict(
        id=meeting.id,
        external_id=meeting.external_id,
        title=meeting.title,
        description=meeting.description,
        # Every answer in UTC: a PATCH's object still holds the caller's offset.
        start_time=meeting.start_time.astimezone(UTC),
        end_time=meeting.end_time.astimezone(UTC),
        timezone=meeting.timezone,
        organizer_email=meeting.organizer_email,
        status=meeting.status,
        meet_uri=meeting.meet_uri,
        meeting_code=meeting.meeting_code,
        calendar_event_id=meeting.calendar_event_id,
        space_name=meeting.space_name,
        auto_recording=meeting.auto_recording,
        version=meeting.version,
        participants=participants,
        provisioning=Provisioning(
            attempts=meeting.provisioning_attempts,
            next_attempt_at=meeting.next_attempt_at
            if meeting.status == MeetingStatus.PENDING
            else None,
            last_error=meeting.last_error,
        ),
        created_at=meeting.created_at,
        updated_at=meeting.updated_at,
        cancelled_at=meeting.cancelled_at,
    )


def attendance_by_email(session: Session, meeting_id: str) -> dict[str, tuple] | None:
    """email -> (first joined, last left, seconds, kind, matched_by) of the participants
    matched to that invitee, or None while no conference is known."""
    if not session.scalar(
        select(func.count())
        .select_from(ConferenceRecord)
        .where(ConferenceRecord.meeting_id == meeting_id)
    ):
        return None
    rows = session.execute(
        select(
            func.lower(ConferenceParticipant.email),
            func.min(ConferenceParticipant.first_joined_at),
            func.max(ConferenceParticipant.last_left_at),
            func.sum(ConferenceParticipant.attended_seconds),
            func.max(ConferenceParticipant.kind),
            func.min(ConferenceParticipant.matched_by),
        )
        .where(
            ConferenceParticipant.meeting_id == meeting_id,
            ConferenceParticipant.email.is_not(None),
        )
        .group_by(func.lower(ConferenceParticipant.email))
    )
    return {
        email: (first, last, seconds or 0, kind, matched_by)
        for email, first, last, seconds, kind, matched_by in rows
    }


def compliance_state(
    status: str, recording: RecordingState, failed: Iterable[str]
) -> ComplianceState:
    """Derived from the status and the archive manifest (the pipeline keeps both current);
    ``failed`` names the manifest entries whose archiving failed."""
    if status in (MeetingStatus.CANCELLED, MeetingStatus.FAILED, MeetingStatus.NOT_HELD):
        return ComplianceState(state="not_applicable", reasons=[f"meeting is {status}"])
    if status != MeetingStatus.FINISHED:
        return ComplianceState(state="awaiting_meeting", reasons=[])
    reasons: list[str] = []
    if recording.recordings == 0:
        reasons.append("the meeting was held but no recording exists")
    reasons.extend(f"archiving failed: {name}" for name in failed)
    if reasons:
        return ComplianceState(state="violation", reasons=reasons)
    if (
        recording.recordings_archived < recording.recordings
        or recording.transcripts_archived < recording.transcripts
    ):
        return ComplianceState(state="awaiting_archive", reasons=[])
    return ComplianceState(state="compliant", reasons=[])


def ledger_compliance(
    status: str, reasons: str | None, evaluated_at: datetime | None, violations: Iterable[Any]
) -> ComplianceState:
    """The pipeline's verdict from the compliance ledger, with its open violations."""
    return ComplianceState(
        state=status,  # type: ignore[arg-type]  # compliant, pending, violation
        reasons=[r for r in (reasons or "").split(",") if r],
        evaluated_at=evaluated_at,
        open_violations=[
            Violation(reason=v.reason, detail=v.detail, opened_at=v.opened_at) for v in violations
        ],
    )
