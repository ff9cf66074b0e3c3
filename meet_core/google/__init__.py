"""Google Workspace gateway: Calendar, Meet and Drive through google-api-python-client,
with one retry policy, per-thread clients and typed results."""

from meet_core.google.auth import SCOPES
from meet_core.google.config import GoogleConfig
from meet_core.google.drive_methods import SupportsWrite
from meet_core.google.errors import (
    ConferenceCreationFailed,
    Conflict,
    GoogleError,
    GoogleUnavailable,
    IncompleteDownload,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    QuotaExhausted,
)
from meet_core.google.gateway import GoogleGateway
from meet_core.google.retry import RetryPolicy
from meet_core.google.transport import CallCounter
from meet_core.google.types import (
    CalendarAttendee,
    CalendarEvent,
    ConferenceCreate,
    DriveFile,
    EventChanges,
    EventDraft,
    MeetConferenceRecord,
    MeetParticipant,
    MeetParticipantSession,
    PersonIdentity,
    Recording,
    SmartNote,
    Space,
    Transcript,
    TranscriptEntry,
)

__all__ = [
    "SCOPES",
    "CalendarAttendee",
    "CalendarEvent",
    "CallCounter",
    "ConferenceCreate",
    "ConferenceCreationFailed",
    "MeetConferenceRecord",
    "Conflict",
    "DriveFile",
    "EventChanges",
    "EventDraft",
    "GoogleError",
    "GoogleConfig",
    "GoogleGateway",
    "GoogleUnavailable",
    "IncompleteDownload",
    "InvalidRequest",
    "NotFound",
    "MeetParticipant",
    "MeetParticipantSession",
    "PermissionDenied",
    "PersonIdentity",
    "QuotaExhausted",
    "Recording",
    "RetryPolicy",
    "SmartNote",
    "Space",
    "SupportsWrite",
    "Transcript",
    "TranscriptEntry",
]
