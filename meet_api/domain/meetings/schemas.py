"""Request and response bodies (msgspec Structs; JSON in snake_case).

Request structs forbid unknown fields and carry the syntactic limits as ``Meta`` (they show
up in OpenAPI); the rules that need more than one field or the settings (end after start,
duration, organizer domain, time zone) are checked in :mod:`.validation`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

# Google Meet holds at most 100 participants on the smallest Workspace edition (Business
# Starter); keeping to it means a meeting fits whatever edition the organizer has.
MAX_PARTICIPANTS = 100
# Google Meet ends a call after 24 hours.
MAX_DURATION_HOURS = 24
MAX_TITLE = 1024
# Calendar keeps descriptions up to 8 KiB.
MAX_DESCRIPTION = 8192

# A practical addr-spec: dot-atom local part, dotted host with a letter-only TLD, ASCII only.
EMAIL_PATTERN = (
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
# One line of printable text (no control characters, which Postgres and Calendar refuse).
_LINE = r"^[^\x00-\x1f\x7f]*$"
# Multi-line text: tabs and line breaks allowed.
_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

Email = Annotated[
    str,
    Meta(
        min_length=6,
        max_length=254,
        pattern=EMAIL_PATTERN,
        description="Email address (compared case-insensitively, stored lower-case).",
    ),
]
ExternalId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="XOMA's own id of the meeting (printable ASCII, no spaces).",
    ),
]
Title = Annotated[
    str, Meta(min_length=1, max_length=MAX_TITLE, pattern=r"^(?=.*\S)[^\x00-\x1f\x7f]*$")
]
Description = Annotated[str, Meta(max_length=MAX_DESCRIPTION, pattern=_TEXT)]
DisplayName = Annotated[str, Meta(min_length=1, max_length=200, pattern=_LINE)]
TimeZoneName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_+/-]+$",
        description="IANA time zone, e.g. Europe/Zurich.",
    ),
]
Rfc3339 = Annotated[datetime, Meta(tz=True, description="RFC 3339 date-time with an offset.")]
ParticipantRole = Literal["organizer", "guest"]
MeetingStatusName = Literal[
    "pending", "scheduled", "in_progress", "finished", "not_held", "cancelled", "failed"
]


class ParticipantIn(Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    display_name: DisplayName | None = None
    role: ParticipantRole = "guest"


class MeetingCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    external_id: ExternalId
    title: Title
    start_time: Rfc3339
    end_time: Rfc3339
    participants: Annotated[list[ParticipantIn], Meta(min_length=1, max_length=MAX_PARTICIPANTS)]
    description: Description | None = None
    timezone: TimeZoneName = "UTC"
    organizer_email: Email | None = None


class MeetingPatch(Struct, kw_only=True, forbid_unknown_fields=True):
    """Only the fields present change. ``version`` may replace the If-Match header."""

    title: Title | UnsetType = UNSET
    description: Description | None | UnsetType = UNSET
    start_time: Rfc3339 | UnsetType = UNSET
    end_time: Rfc3339 | UnsetType = UNSET
    timezone: TimeZoneName | UnsetType = UNSET
    participants: (
        Annotated[list[ParticipantIn], Meta(min_length=1, max_length=MAX_PARTICIPANTS)] | UnsetType
    ) = UNSET
    version: Annotated[int, Meta(ge=1, le=2**31 - 1)] | UnsetType = UNSET


class ParticipantOut(Struct, kw_only=True):
    email: str
    display_name: str | None
    role: str
    response_status: str
    # Attendance: null until the pipeline has seen the meeting's conference records.
    attended: bool | None
    first_joined_at: datetime | None
    last_left_at: datetime | None
    attended_seconds: int | None
    # How the attendee was recognised: kind "internal", "external", "anonymous" or "phone";
    # matched_by "email" (identity resolved) or "display_name" (fallback for someone
    # nobody could resolve). Both null while the invitee has not been seen.
    kind: str | None = None
    matched_by: str | None = None


class Provisioning(Struct, kw_only=True):
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None


class MeetingOut(Struct, kw_only=True):
    id: str
    external_id: str
    title: str
    description: str | None
    start_time: datetime
    end_time: datetime
    timezone: str
    organizer_email: str
    status: MeetingStatusName
    meet_uri: str | None
    meeting_code: str | None
    calendar_event_id: str | None
    space_name: str | None
    auto_recording: bool
    version: int
    participants: list[ParticipantOut]
    provisioning: Provisioning
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None


class RecordingState(Struct, kw_only=True):
    """What the pipeline has seen and archived for the meeting (zeros until it runs)."""

    conferences: int
    recordings: int
    recordings_archived: int
    transcripts: int
    transcripts_archived: int
    last_archived_at: datetime | None


ComplianceStateName = Literal[
    "not_applicable", "awaiting_meeting", "awaiting_archive", "pending", "compliant", "violation"
]


class Violation(Struct, kw_only=True):
    reason: str
    detail: str
    opened_at: datetime


class ComplianceState(Struct, kw_only=True):
    """The compliance ledger's verdict once the pipeline has evaluated the meeting
    (``evaluated_at`` set); until then a provisional state derived from status and archive."""

    state: ComplianceStateName
    reasons: list[str]
    evaluated_at: datetime | None = None
    open_violations: list[Violation] = msgspec.field(default_factory=list)


class MeetingDetail(MeetingOut, kw_only=True):
    recording: RecordingState
    compliance: ComplianceState


class MeetingPage(Struct, kw_only=True):
    items: list[MeetingOut]
    # Every match, only with include_total=true; null otherwise (contract change, docs/api.md).
    total: int | None
    limit: int
    next_cursor: str | None


class AttendeeOut(Struct, kw_only=True):
    """Someone seen in the meeting who was not invited (or the organizer); ``email`` is
    their own as People / Directory resolved it, null where Google shows none."""

    kind: str
    display_name: str | None
    email: str | None
    first_joined_at: datetime | None
    last_left_at: datetime | None
    attended_seconds: int
    matched_by: str | None = None


class ParticipantList(Struct, kw_only=True):
    meeting_id: str
    attendance_known: bool
    items: list[ParticipantOut]
    uninvited_attendees: list[AttendeeOut]
    # The organizer's own attendance (recognised by identity); null until seen.
    organizer: AttendeeOut | None = None


class ArchivedObjectOut(Struct, kw_only=True):
    artifact_name: str
    kind: str
    state: str
    google_state: str
    conference_record: str
    s3_uri: str | None
    version_id: str | None
    sha256: str | None
    size: int | None
    content_type: str | None
    retain_until: datetime | None
    lock_mode: str | None
    legal_hold: bool
    archived_at: datetime | None
    download_url: str | None = None
    download_expires_at: datetime | None = None


class RecordingList(Struct, kw_only=True):
    meeting_id: str
    items: list[ArchivedObjectOut]


class AuditEntryOut(Struct, kw_only=True):
    seq: int
    occurred_at: datetime
    actor: str
    action: str
    payload: dict[str, Any]
    hash: str
    prev_hash: str


class AuditTrail(Struct, kw_only=True):
    meeting_id: str
    items: list[AuditEntryOut]
    next_after_seq: int | None
