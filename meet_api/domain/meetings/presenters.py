"""Database rows to response bodies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meet_api.domain.meetings.schemas import (
    ComplianceState,
    MeetingDetail,
    MeetingOut,
    ParticipantOut,
    Provisioning,
    RecordingState,
    Violation,
)
from meet_core.db.models import (
    ArchiveManifestEntry,
    ArtifactKind,
    ComplianceViolation,
    ConferenceParticipant,
    ConferenceRecord,
    LedgerEntry,
    ManifestState,
    Meeting,
    MeetingStatus,
    Participant,
    ViolationState,
)


def participant_out(
    participant: Participant, attendance: dict[str, tuple] | None = None
) -> ParticipantOut:
    seen = attendance.get(participant.email) if attendance is not None else None
    if attendance is not None:
        # The pipeline has harvested the conference: attendance is known for everyone.
        seconds = int(seen[2]) if seen else 0
        return ParticipantOut(
            email=participant.email,
            display_name=participant.display_name,
            role=participant.role,
            response_status=participant.response_status,
            attended=seconds > 0,
            first_joined_at=seen[0] if seen else None,
            last_left_at=seen[1] if seen else None,
            attended_seconds=seconds,
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


def meeting_out(meeting: Meeting) -> MeetingOut:
    return MeetingOut(**_meeting_fields(meeting))


def _meeting_fields(meeting: Meeting) -> dict:
    return dict(
        id=meeting.id,
        external_id=meeting.external_id,
        title=meeting.title,
        description=meeting.description,
        start_time=meeting.start_time,
        end_time=meeting.end_time,
        timezone=meeting.timezone,
        organizer_email=meeting.organizer_email,
        status=meeting.status,
        meet_uri=meeting.meet_uri,
        meeting_code=meeting.meeting_code,
        calendar_event_id=meeting.calendar_event_id,
        space_name=meeting.space_name,
        auto_recording=meeting.auto_recording,
        version=meeting.version,
        participants=[participant_out(p) for p in meeting.participants],
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
    """email -> (first joined, last left, seconds), or None while no conference is known."""
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
        )
        .where(
            ConferenceParticipant.meeting_id == meeting_id, ConferenceParticipant.email.is_not(None)
        )
        .group_by(func.lower(ConferenceParticipant.email))
    )
    return {email: (first, last, seconds or 0) for email, first, last, seconds in rows}


def _recording_state(records: int, entries: Sequence[ArchiveManifestEntry]) -> RecordingState:
    recordings = [e for e in entries if e.kind == ArtifactKind.RECORDING]
    transcripts = [e for e in entries if e.kind != ArtifactKind.RECORDING]
    archived = [
        e.archived_at for e in entries if e.state == ManifestState.ARCHIVED and e.archived_at
    ]
    return RecordingState(
        conferences=records,
        recordings=len(recordings),
        recordings_archived=sum(e.state == ManifestState.ARCHIVED for e in recordings),
        transcripts=len(transcripts),
        transcripts_archived=sum(e.state == ManifestState.ARCHIVED for e in transcripts),
        last_archived_at=max(archived) if archived else None,
    )


def compliance_state(
    meeting: Meeting, recording: RecordingState, entries: Iterable[ArchiveManifestEntry]
) -> ComplianceState:
    """Derived from the status and the archive manifest (the pipeline keeps both current)."""
    status = meeting.status
    if status in (MeetingStatus.CANCELLED, MeetingStatus.FAILED, MeetingStatus.NOT_HELD):
        return ComplianceState(state="not_applicable", reasons=[f"meeting is {status}"])
    if status != MeetingStatus.FINISHED:
        return ComplianceState(state="awaiting_meeting", reasons=[])
    reasons: list[str] = []
    if recording.recordings == 0:
        reasons.append("the meeting was held but no recording exists")
    failed = [e.artifact_name for e in entries if e.state == ManifestState.FAILED]
    reasons.extend(f"archiving failed: {name}" for name in failed)
    if reasons:
        return ComplianceState(state="violation", reasons=reasons)
    if (
        recording.recordings_archived < recording.recordings
        or recording.transcripts_archived < recording.transcripts
    ):
        return ComplianceState(state="awaiting_archive", reasons=[])
    return ComplianceState(state="compliant", reasons=[])


def ledger_compliance(session: Session, meeting_id: str) -> ComplianceState | None:
    """The pipeline's verdict from the compliance ledger, or None before its first evaluation."""
    ledger = session.get(LedgerEntry, meeting_id)
    if ledger is None:
        return None
    violations = session.scalars(
        select(ComplianceViolation)
        .where(
            ComplianceViolation.meeting_id == meeting_id,
            ComplianceViolation.state == ViolationState.OPEN,
        )
        .order_by(ComplianceViolation.opened_at, ComplianceViolation.id)
    ).all()
    return ComplianceState(
        state=ledger.compliance_status,  # type: ignore[arg-type]  # compliant, pending, violation
        reasons=[r for r in (ledger.violation_reasons or "").split(",") if r],
        evaluated_at=ledger.evaluated_at,
        open_violations=[
            Violation(reason=v.reason, detail=v.detail, opened_at=v.opened_at) for v in violations
        ],
    )


def meeting_detail(session: Session, meeting: Meeting) -> MeetingDetail:
    records = (
        session.scalar(
            select(func.count())
            .select_from(ConferenceRecord)
            .where(ConferenceRecord.meeting_id == meeting.id)
        )
        or 0
    )
    entries = session.scalars(
        select(ArchiveManifestEntry).where(ArchiveManifestEntry.meeting_id == meeting.id)
    ).all()
    recording = _recording_state(records, entries)
    fields = _meeting_fields(meeting)
    attendance = attendance_by_email(session, meeting.id)
    if attendance is not None:
        fields["participants"] = [participant_out(p, attendance) for p in meeting.participants]
    compliance = ledger_compliance(session, meeting.id) or compliance_state(
        meeting, recording, entries
    )
    return MeetingDetail(**fields, recording=recording, compliance=compliance)
