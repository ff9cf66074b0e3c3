"""Meeting reads: list with filters and keyset pagination, detail, participants,
archived recordings (with presigned links) and the audit trail."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import boto3
import msgspec
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import Select, and_, func, or_, select

from meet_api.domain.auth.principal import Principal
from meet_api.domain.meetings.presenters import (
    attendance_by_email,
    meeting_detail,
    meeting_out,
    participant_out,
)
from meet_api.domain.meetings.schemas import (
    ArchivedObject,
    Attendee,
    AuditEntry,
    AuditTrail,
    MeetingDetail,
    MeetingPage,
    ParticipantList,
    RecordingList,
    Rfc3339,
)
from meet_api.domain.meetings.services import visible_meeting
from meet_api.lib.problems import ApiProblem, FieldError, validation_problem
from meet_api.lib.state import AppState
from meet_core.archive.client import s3_client
from meet_core.db.models import (
    ArchiveManifestEntry,
    AuditEvent,
    ConferenceParticipant,
    ManifestState,
    Meeting,
    Participant,
)
from meet_core.db.types import utcnow

PRESIGN_TTL = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class MeetingFilter:
    status: str | None = None
    external_id: str | None = None
    participant: str | None = None
    start_from: datetime | None = None
    start_to: datetime | None = None


def parse_time(name: str, value: str | None) -> datetime | None:
    """A query parameter in RFC 3339 with an offset (strict: no naive times)."""
    if value is None:
        return None
    try:
        return msgspec.json.decode(msgspec.json.encode(value), type=Rfc3339, strict=True)
    except msgspec.ValidationError:
        raise validation_problem(
            [FieldError(field=name, message="expected an RFC 3339 date-time with an offset")],
            status=400,
        ) from None


def encode_cursor(start: datetime, meeting_id: str) -> str:
    raw = json.dumps([start.isoformat(), meeting_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        start, meeting_id = json.loads(raw)
        when = datetime.fromisoformat(start)
        if when.tzinfo is None or not isinstance(meeting_id, str):
            raise ValueError("naive")
        return when, meeting_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise validation_problem(
            [FieldError(field="cursor", message="not a cursor this API handed out")], status=400
        ) from None


def _filtered(principal: Principal, where: MeetingFilter) -> Select[Meeting]:
    query = select(Meeting)
    if not principal.sees_all_clients:
        query = query.where(Meeting.client_id == principal.client_id)
    if where.status:
        query = query.where(Meeting.status == where.status)
    if where.external_id:
        query = query.where(Meeting.external_id == where.external_id)
    if where.participant:
        invited = select(Participant.meeting_id).where(
            Participant.email == where.participant.lower()
        )
        query = query.where(Meeting.id.in_(invited))
    if where.start_from:
        query = query.where(Meeting.start_time >= where.start_from)
    if where.start_to:
        query = query.where(Meeting.start_time < where.start_to)
    return query


def list_meetings(
    state: AppState, principal: Principal, where: MeetingFilter, *, limit: int, cursor: str | None
) -> MeetingPage:
    """Ordered by (start_time, id); ``total`` counts every match, not just this page."""
    query = _filtered(principal, where)
    with state.sessions() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        if cursor:
            after_start, after_id = decode_cursor(cursor)
            query = query.where(
                or_(
                    Meeting.start_time > after_start,
                    and_(Meeting.start_time == after_start, Meeting.id > after_id),
                )
            )
        rows = session.scalars(
            query.order_by(Meeting.start_time, Meeting.id).limit(limit + 1)
        ).all()
        page = rows[:limit]
        next_cursor = encode_cursor(page[-1].start_time, page[-1].id) if len(rows) > limit else None
        return MeetingPage(
            items=[meeting_out(m) for m in page], total=total, limit=limit, next_cursor=next_cursor
        )


def get_detail(state: AppState, principal: Principal, meeting_id: str) -> MeetingDetail:
    with state.sessions() as session:
        return meeting_detail(session, visible_meeting(session, principal, meeting_id))


def get_participants(state: AppState, principal: Principal, meeting_id: str) -> ParticipantList:
    with state.sessions() as session:
        meeting = visible_meeting(session, principal, meeting_id)
        attendance = attendance_by_email(session, meeting_id)
        invited = {p.email for p in meeting.participants}
        others = session.scalars(
            select(ConferenceParticipant)
            .where(ConferenceParticipant.meeting_id == meeting_id)
            .order_by(ConferenceParticipant.first_joined_at, ConferenceParticipant.id)
        ).all()
        return ParticipantList(
            meeting_id=meeting_id,
            attendance_known=attendance is not None,
            items=[participant_out(p, attendance) for p in meeting.participants],
            uninvited_attendees=[
                Attendee(
                    kind=o.kind,
                    display_name=o.display_name,
                    email=o.email,
                    first_joined_at=o.first_joined_at,
                    last_left_at=o.last_left_at,
                    attended_seconds=o.attended_seconds,
                )
                for o in others
                if not o.email or o.email.lower() not in invited
            ],
        )


def _archived_object(entry: ArchiveManifestEntry) -> ArchivedObject:
    return ArchivedObject(
        artifact_name=entry.artifact_name,
        kind=entry.kind,
        state=entry.state,
        google_state=entry.google_state,
        conference_record=entry.conference_record_name,
        s3_uri=f"s3://{entry.bucket}/{entry.object_key}"
        if entry.bucket and entry.object_key
        else None,
        version_id=entry.version_id,
        sha256=entry.sha256,
        size=entry.size,
        content_type=entry.content_type,
        retain_until=entry.retain_until,
        lock_mode=entry.lock_mode,
        legal_hold=entry.legal_hold,
        archived_at=entry.archived_at,
    )


def get_recordings(
    state: AppState, principal: Principal, meeting_id: str, *, presign: bool
) -> RecordingList:
    with state.sessions() as session:
        visible_meeting(session, principal, meeting_id)
        entries = session.scalars(
            select(ArchiveManifestEntry)
            .where(ArchiveManifestEntry.meeting_id == meeting_id)
            .order_by(ArchiveManifestEntry.artifact_start_time, ArchiveManifestEntry.id)
        ).all()
    items = [_archived_object(e) for e in entries]
    if presign:
        archived = [
            (item, e)
            for item, e in zip(items, entries, strict=True)
            if e.state == ManifestState.ARCHIVED and e.bucket and e.object_key
        ]
        if archived:
            _presign(state, archived)
    return RecordingList(meeting_id=meeting_id, items=items)


def _signing_client(state: AppState) -> Any:
    """An S3 client that presigns with SigV4 (the archive's client presigns with the
    deprecated SigV2 for us-east-1 endpoints, which new S3 buckets refuse)."""
    base = s3_client(state.settings)
    credentials = base._get_credentials()  # noqa: SLF001 - same credentials as the archive's client
    return boto3.session.Session().client(
        "s3",
        endpoint_url=state.settings.s3_endpoint_url,
        region_name=base.meta.region_name,
        aws_access_key_id=credentials.access_key if credentials else None,
        aws_secret_access_key=credentials.secret_key if credentials else None,
        aws_session_token=credentials.token if credentials else None,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"} if state.settings.s3_endpoint_url else {},
        ),
    )


def _presign(state: AppState, archived: list[tuple[ArchivedObject, ArchiveManifestEntry]]) -> None:
    # Signing is local (no request to S3); the link works for PRESIGN_TTL only, for that version.
    expires = utcnow() + PRESIGN_TTL
    try:
        client = _signing_client(state)
        for item, entry in archived:
            params = {"Bucket": entry.bucket, "Key": entry.object_key}
            if entry.version_id:
                params["VersionId"] = entry.version_id
            item.download_url = client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=int(PRESIGN_TTL.total_seconds())
            )
            item.download_expires_at = expires
    except (BotoCoreError, ClientError) as exc:
        raise ApiProblem(
            503,
            f"cannot sign download links: {type(exc).__name__}",
            slug="archive-unavailable",
            headers={"Retry-After": "60"},
        ) from exc


def get_audit(
    state: AppState, principal: Principal, meeting_id: str, *, after_seq: int, limit: int
) -> AuditTrail:
    with state.sessions() as session:
        visible_meeting(session, principal, meeting_id)
        rows = session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.entity_type == "meeting",
                AuditEvent.entity_id == meeting_id,
                AuditEvent.seq > after_seq,
            )
            .order_by(AuditEvent.seq)
            .limit(limit + 1)
        ).all()
    page = rows[:limit]
    return AuditTrail(
        meeting_id=meeting_id,
        items=[
            AuditEntry(
                seq=e.seq,
                occurred_at=e.occurred_at,
                actor=e.actor,
                action=e.action,
                payload=e.payload if isinstance(e.payload, dict) else {"value": e.payload},
                hash=e.hash,
                prev_hash=e.prev_hash,
            )
            for e in page
        ],
        next_after_seq=page[-1].seq if len(rows) > limit else None,
    )
