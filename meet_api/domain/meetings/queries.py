"""Meeting reads: list with filters and keyset pagination, detail, participants,
archived recordings (with presigned links) and the audit trail."""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import json
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import boto3
import msgspec
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Select,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from meet_api.domain.auth.principal import Principal
from meet_api.domain.meetings.presenters import (
    attendance_by_email,
    compliance_state,
    ledger_compliance,
    meeting_fields,
    participant_out,
    participant_with_attendance,
    unrecorded_intervals,
)
from meet_api.domain.meetings.schemas import (
    ArchivedObjectOut,
    AttendeeOut,
    AuditEntryOut,
    AuditTrail,
    MeetingDetail,
    MeetingOut,
    MeetingPage,
    ParticipantList,
    ParticipantOut,
    RecordingList,
    RecordingState,
    Rfc3339,
)
from meet_api.domain.meetings.services import is_uuid, not_found, visible_meeting
from meet_api.lib.problems import ApiProblem, FieldError, validation_problem
from meet_api.lib.state import AppState
from meet_core.archive.client import s3_client
from meet_core.db.models import (
    ArchiveManifestEntry,
    ArtifactKind,
    AuditEvent,
    ComplianceViolation,
    ConferenceParticipant,
    ConferenceRecord,
    LedgerEntry,
    ManifestState,
    Meeting,
    Participant,
    ViolationState,
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


# The columns MeetingOut needs (plus client_id for visibility); rows, not ORM objects, so
# that a read does not pay for the identity map and attribute instrumentation.
_MEETING_COLUMNS = (
    Meeting.id,
    Meeting.client_id,
    Meeting.external_id,
    Meeting.title,
    Meeting.description,
    Meeting.start_time,
    Meeting.end_time,
    Meeting.timezone,
    Meeting.organizer_email,
    Meeting.status,
    Meeting.meet_uri,
    Meeting.meeting_code,
    Meeting.calendar_event_id,
    Meeting.space_name,
    Meeting.auto_recording,
    Meeting.version,
    Meeting.provisioning_attempts,
    Meeting.next_attempt_at,
    Meeting.last_error,
    Meeting.created_at,
    Meeting.updated_at,
    Meeting.cancelled_at,
)
_PARTICIPANT_COLUMNS = (
    Participant.email,
    Participant.display_name,
    Participant.role,
    Participant.response_status,
    Participant.attended,
    Participant.first_joined_at,
    Participant.last_left_at,
    Participant.attended_seconds,
)

# Rows are read by position into these: a Row's attribute access costs ~20 times a tuple's,
# which showed up as the largest part of a list page's time.
_MeetingRow = namedtuple("_MeetingRow", [c.key for c in _MEETING_COLUMNS])  # type: ignore[misc]
_ParticipantRow = namedtuple("_ParticipantRow", [c.key for c in _PARTICIPANT_COLUMNS])  # type: ignore[misc]
_M, _P = len(_MEETING_COLUMNS), len(_PARTICIPANT_COLUMNS)


# Each filter as a condition on a bound parameter of the same name, so that one statement
# object per combination of filters is built once and reused (SQLAlchemy then neither
# rebuilds nor re-adapts it per request).
_AFTER_START: BindParameter[datetime] = bindparam("after_start")
_FILTERS: dict[str, ColumnElement[bool]] = {
    "client_id": Meeting.client_id == bindparam("client_id"),
    "status": Meeting.status == bindparam("status"),
    "external_id": Meeting.external_id == bindparam("external_id"),
    "participant": Meeting.id.in_(
        select(Participant.meeting_id).where(Participant.email == bindparam("participant"))
    ),
    "start_from": Meeting.start_time >= bindparam("start_from"),
    "start_to": Meeting.start_time < bindparam("start_to"),
    # The keyset cursor: strictly after (start_time, id) of the previous page's last row.
    "after": or_(
        Meeting.start_time > _AFTER_START,
        and_(Meeting.start_time == _AFTER_START, Meeting.id > bindparam("after_id")),
    ),
}


def _page_participants(page_ids: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    return (
        select(Participant.meeting_id, *_PARTICIPANT_COLUMNS)
        .where(page_ids)
        .order_by(Participant.meeting_id, Participant.email)
    )


# SQLite: the invitations of a page's meetings in a second statement.
_PAGE_PARTICIPANTS = _page_participants(Participant.meeting_id.in_(bindparam("ids", expanding=True)))

# PostgreSQL: each meeting's invitations ride along with its row, as a JSON array of
# ParticipantOut objects that msgspec decodes straight into structs (timestamps included).
# One statement instead of two, and no Python per value: the largest part of a list page's
# CPU was reading 150 invitation rows and building their structs.
_INVITED_JSON = (
    select(
        func.coalesce(
            func.json_agg(
                aggregate_order_by(
                    func.json_build_object(
                        *itertools.chain.from_iterable(
                            (literal_column(f"'{c.key}'"), c) for c in _PARTICIPANT_COLUMNS
                        )
                    ),
                    Participant.email,
                )
            ),
            literal_column("'[]'::json"),
        )
    )
    .where(Participant.meeting_id == Meeting.id)
    .scalar_subquery()
)
_INVITED_COLUMN = cast(_INVITED_JSON, Text).label("invited")
_decode_invited = msgspec.json.Decoder(list[ParticipantOut]).decode


@functools.cache
def _list_statements(
    filters: tuple[str, ...], after: bool, with_total: bool, invited_inline: bool
) -> tuple[Select[*tuple[Any, ...]], Select[int]]:
    """(page, total alone) for one combination of filters; with ``with_total`` the page's
    rows carry the total too, with ``invited_inline`` their invitations (PostgreSQL)."""
    conditions = [_FILTERS[name] for name in filters]
    count = select(func.count()).select_from(Meeting).where(*conditions)
    columns: tuple[Any, ...] = _MEETING_COLUMNS
    if invited_inline:
        columns = (*columns, _INVITED_COLUMN)
    if with_total:  # the total rides along with the page (evaluated once by the database)
        columns = (*columns, count.scalar_subquery().label("total"))
    page = (
        select(*columns)
        .where(*conditions, *([_FILTERS["after"]] if after else []))
        .order_by(Meeting.start_time, Meeting.id)
        .limit(bindparam("limit"))
    )
    return page, count


def list_meetings(
    state: AppState,
    principal: Principal,
    where: MeetingFilter,
    *,
    limit: int,
    cursor: str | None,
    include_total: bool = False,
) -> MeetingPage:
    """Ordered by (start_time, id). ``total`` counts every match, not just this page, and only
    with ``include_total`` (counting is what made broad lists slow); otherwise it is None."""
    params: dict[str, Any] = {
        "client_id": None if principal.sees_all_clients else principal.client_id,
        "status": where.status,
        "external_id": where.external_id,
        "participant": where.participant.lower() if where.participant else None,
        "start_from": where.start_from,
        "start_to": where.start_to,
    }
    filters = tuple(name for name, value in params.items() if value)
    params = {name: params[name] for name in filters}
    if cursor:
        params["after_start"], params["after_id"] = decode_cursor(cursor)
    total: int | None = None
    with state.reader.connect() as conn:
        inline = conn.dialect.name == "postgresql"
        page_statement, count = _list_statements(filters, bool(cursor), include_total, inline)
        rows = conn.execute(page_statement, {**params, "limit": limit + 1}).all()
        if include_total:
            # An empty page (past the end, or nothing matches) has no row to carry the total.
            total = rows[0].total if rows else conn.scalar(count, params) or 0
        page = rows[:limit]
        if inline:
            items = [
                MeetingOut(**meeting_fields(_MeetingRow._make(row[:_M]), _decode_invited(row[_M])))
                for row in page
            ]
        else:
            items = _with_invitations(conn, [_MeetingRow._make(row[:_M]) for row in page])
    next_cursor = encode_cursor(items[-1].start_time, items[-1].id) if len(rows) > limit else None
    return MeetingPage(items=items, total=total, limit=limit, next_cursor=next_cursor)


def _with_invitations(conn: Connection, page: list[Any]) -> list[MeetingOut]:
    """A page's meetings with their invitations read in a second statement."""
    invited: dict[str, list[ParticipantOut]] = {m.id: [] for m in page}
    if page:
        for p in conn.execute(_PAGE_PARTICIPANTS, {"ids": list(invited)}).all():
            invited[p[0]].append(participant_out(_ParticipantRow._make(p[1:])))
    return [MeetingOut(**meeting_fields(m, invited[m.id])) for m in page]


# The detail in one statement (a second and a third only for failed archiving and for a
# meeting the compliance ledger has judged): the meeting with its conference count, archive
# counts and ledger verdict, once per invitation (outer join: at least one row), each with
# the attendance the pipeline harvested for that email.
_ID = bindparam("meeting_id", type_=String)
_ARCHIVED = ArchiveManifestEntry.state == ManifestState.ARCHIVED
_RECORDING = ArchiveManifestEntry.kind == ArtifactKind.RECORDING
# Transcript objects (text and entries); smart notes are listed by the recordings route only.
_TRANSCRIPT = ArchiveManifestEntry.kind.in_(
    (ArtifactKind.TRANSCRIPT_TEXT, ArtifactKind.TRANSCRIPT_ENTRIES)
)
_MANIFEST = (
    select(
        func.count(case((_RECORDING, 1))).label("recordings"),
        func.count(case((and_(_RECORDING, _ARCHIVED), 1))).label("recordings_archived"),
        func.count(case((_TRANSCRIPT, 1))).label("transcripts"),
        func.count(case((and_(_TRANSCRIPT, _ARCHIVED), 1))).label("transcripts_archived"),
        func.max(case((_ARCHIVED, ArchiveManifestEntry.archived_at))).label("last_archived_at"),
        func.count(case((ArchiveManifestEntry.state == ManifestState.FAILED, 1))).label("failed"),
    )
    .where(ArchiveManifestEntry.meeting_id == _ID)
    .subquery("manifest")
)
_ATTENDANCE = (
    select(
        func.lower(ConferenceParticipant.email).label("email"),
        func.min(ConferenceParticipant.first_joined_at).label("first_joined_at"),
        func.max(ConferenceParticipant.last_left_at).label("last_left_at"),
        func.sum(ConferenceParticipant.attended_seconds).label("attended_seconds"),
        func.max(ConferenceParticipant.kind).label("kind"),
        func.min(ConferenceParticipant.matched_by).label("matched_by"),
    )
    .where(
        ConferenceParticipant.meeting_id == _ID,
        ConferenceParticipant.email.is_not(None),
    )
    .group_by(func.lower(ConferenceParticipant.email))
    .subquery("attendance")
)
_DETAIL = (
    select(
        *_MEETING_COLUMNS,
        select(func.count())
        .where(ConferenceRecord.meeting_id == _ID)
        .scalar_subquery()
        .label("conferences"),
        *_MANIFEST.c,
        LedgerEntry.meeting_id.label("ledger_meeting_id"),
        LedgerEntry.compliance_status,
        LedgerEntry.violation_reasons,
        LedgerEntry.evaluated_at,
        LedgerEntry.recorded_seconds,
        LedgerEntry.unrecorded_seconds,
        LedgerEntry.coverage,
        LedgerEntry.unrecorded_intervals,
        Participant.id.label("participant_id"),
        *(c.label(f"p_{c.key}") for c in _PARTICIPANT_COLUMNS),
        _ATTENDANCE.c.email.label("seen"),
        _ATTENDANCE.c.first_joined_at.label("seen_first_joined_at"),
        _ATTENDANCE.c.last_left_at.label("seen_last_left_at"),
        _ATTENDANCE.c.attended_seconds.label("seen_attended_seconds"),
        _ATTENDANCE.c.kind.label("seen_kind"),
        _ATTENDANCE.c.matched_by.label("seen_matched_by"),
    )
    .select_from(Meeting)
    .join(_MANIFEST, true())
    .outerjoin(LedgerEntry, LedgerEntry.meeting_id == Meeting.id)
    .outerjoin(Participant, Participant.meeting_id == Meeting.id)
    .outerjoin(_ATTENDANCE, _ATTENDANCE.c.email == Participant.email)
    .where(Meeting.id == _ID)
    .order_by(Participant.email)
)
# Where an invitation's own columns sit in a detail row (read by position, as in lists).
_INVITED_AT = list(_DETAIL.selected_columns.keys()).index("p_email")
_INVITED = slice(_INVITED_AT, _INVITED_AT + _P)
_FAILED_ARTIFACTS = (
    select(ArchiveManifestEntry.artifact_name)
    .where(ArchiveManifestEntry.meeting_id == _ID, ArchiveManifestEntry.state == ManifestState.FAILED)
    .order_by(ArchiveManifestEntry.id)
)
_OPEN_VIOLATIONS = (
    select(ComplianceViolation.reason, ComplianceViolation.detail, ComplianceViolation.opened_at)
    .where(ComplianceViolation.meeting_id == _ID, ComplianceViolation.state == ViolationState.OPEN)
    .order_by(ComplianceViolation.opened_at, ComplianceViolation.id)
)


def get_detail(state: AppState, principal: Principal, meeting_id: str) -> MeetingDetail:
    if not is_uuid(meeting_id):
        raise not_found(meeting_id)
    params = {"meeting_id": meeting_id}
    with state.reader.connect() as conn:
        rows: Sequence[Any] = conn.execute(_DETAIL, params).all()
        m = rows[0] if rows else None
        if m is None or (not principal.sees_all_clients and m.client_id != principal.client_id):
            raise not_found(meeting_id)
        failed = conn.scalars(_FAILED_ARTIFACTS, params).all() if m.failed else []
        violations = (
            conn.execute(_OPEN_VIOLATIONS, params).all() if m.ledger_meeting_id is not None else []
        )
    harvested = bool(m.conferences)
    invited = [
        participant_out(
            _ParticipantRow._make(r[_INVITED]),
            harvested,
            r.seen_first_joined_at,
            r.seen_last_left_at,
            r.seen_attended_seconds,
            r.seen_kind,
            r.seen_matched_by,
        )
        for r in rows
        if r.participant_id is not None
    ]
    recording = RecordingState(
        conferences=m.conferences,
        recordings=m.recordings,
        recordings_archived=m.recordings_archived,
        transcripts=m.transcripts,
        transcripts_archived=m.transcripts_archived,
        last_archived_at=m.last_archived_at,
        recorded_seconds=m.recorded_seconds,
        unrecorded_seconds=m.unrecorded_seconds,
        coverage=m.coverage,
        unrecorded_intervals=unrecorded_intervals(m.unrecorded_intervals),
    )
    compliance = (
        ledger_compliance(m.compliance_status, m.violation_reasons, m.evaluated_at, violations)
        if m.ledger_meeting_id is not None
        else compliance_state(m.status, recording, failed)
    )
    return MeetingDetail(
        **meeting_fields(_MeetingRow._make(m[:_M]), invited),
        recording=recording,
        compliance=compliance,
    )


def get_participants(state: AppState, principal: Principal, meeting_id: str) -> ParticipantList:
    with state.sessions() as session:
        meeting = visible_meeting(session, principal, meeting_id)
        attendance = attendance_by_email(session, meeting_id)
        others = session.scalars(
            select(ConferenceParticipant)
            .where(ConferenceParticipant.meeting_id == meeting_id)
            .order_by(ConferenceParticipant.first_joined_at, ConferenceParticipant.id)
        ).all()
        organizer = [o for o in others if o.is_organizer]
        invited = {p.email.lower() for p in meeting.participants}
        return ParticipantList(
            meeting_id=meeting_id,
            attendance_known=attendance is not None,
            items=[participant_with_attendance(p, attendance) for p in meeting.participants],
            uninvited_attendees=[
                _attendee(o)
                for o in others
                if not o.invited
                and not o.is_organizer
                and (not o.email or o.email.lower() not in invited)
            ],
            organizer=_organizer(organizer) if organizer else None,
        )


def _attendee(row: ConferenceParticipant) -> AttendeeOut:
    return AttendeeOut(
        kind=row.kind,
        display_name=row.display_name,
        email=row.email,
        first_joined_at=row.first_joined_at,
        last_left_at=row.last_left_at,
        attended_seconds=row.attended_seconds,
        matched_by=row.matched_by,
    )


def _organizer(rows: Sequence[ConferenceParticipant]) -> AttendeeOut:
    """The organizer over every conference of the meeting (one row per conference)."""
    first = rows[0]
    lefts = [r.last_left_at for r in rows if r.last_left_at is not None]
    return AttendeeOut(
        kind=first.kind,
        display_name=first.display_name,
        email=first.email,
        first_joined_at=min((r.first_joined_at for r in rows if r.first_joined_at), default=None),
        last_left_at=max(lefts, default=None),
        attended_seconds=sum(r.attended_seconds for r in rows),
        matched_by=first.matched_by,
    )


def _archived_object(entry: ArchiveManifestEntry) -> ArchivedObjectOut:
    return ArchivedObjectOut(
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


def _presign(state: AppState, archived: list[tuple[ArchivedObjectOut, ArchiveManifestEntry]]) -> None:
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
            AuditEntryOut(
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
