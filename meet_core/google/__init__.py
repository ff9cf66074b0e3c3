"""Google Workspace gateway: Calendar, Meet and Drive through google-api-python-client,
with one retry policy, per-thread clients and typed results."""

from meet_core.google.auth import SCOPES
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
    Attendee,
    CalendarEvent,
    ConferenceCreate,
    ConferenceRecord,
    DriveFile,
    EventChanges,
    EventDraft,
    Participant,
    ParticipantSession,
    Recording,
    Space,
    Transcript,
    TranscriptEntry,
)

__all__ = [
    "SCOPES",
    "Attendee",
    "CalendarEvent",
    "CallCounter",
    "ConferenceCreate",
    "ConferenceCreationFailed",
    "ConferenceRecord",
    "Conflict",
    "DriveFile",
    "EventChanges",
    "EventDraft",
    "GoogleError",
    "GoogleGateway",
    "GoogleUnavailable",
    "IncompleteDownload",
    "InvalidRequest",
    "NotFound",
    "Participant",
    "ParticipantSession",
    "PermissionDenied",
    "QuotaExhausted",
    "Recording",
    "RetryPolicy",
    "Space",
    "SupportsWrite",
    "Transcript",
    "TranscriptEntry",
]
