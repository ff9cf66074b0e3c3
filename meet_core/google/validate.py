"""Checks on caller input, run before any Google call so garbage never costs a request
(or, worse, creates half an event)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from meet_core.google.types import CalendarAttendee, ConferenceCreate, EventChanges, EventDraft, Space

# Calendar's rule for caller-chosen event ids: base32hex (a-v, 0-9), 5 to 1024 characters.
_EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SEGMENT = r"[A-Za-z0-9_~-][A-Za-z0-9_.~-]*"  # no "." or ".." segments
_SPACE_NAME = re.compile(rf"spaces/{_SEGMENT}")
_RECORD = re.compile(rf"conferenceRecords/{_SEGMENT}")
_PARTICIPANT = re.compile(rf"conferenceRecords/{_SEGMENT}/participants/{_SEGMENT}")
_TRANSCRIPT = re.compile(rf"conferenceRecords/{_SEGMENT}/transcripts/{_SEGMENT}")
_DRIVE_ID = re.compile(r"[A-Za-z0-9_-]+")
# A Google account id as Meet (users/{id}) and People (people/{id}) name it: digits.
_ACCOUNT = re.compile(r"(?:users/|people/)?([0-9]{1,40})")
_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,256}")
ACCESS_TYPES = ("OPEN", "TRUSTED", "RESTRICTED")


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _match(pattern: re.Pattern[str], value: object, what: str, example: str) -> str:
    text = _text(value, what)
    if not pattern.fullmatch(text):
        raise ValueError(f"{what} must look like {example!r}, got {text!r}")
    return text


def event_id(value: object) -> str:
    return _match(_EVENT_ID, value, "event_id", "base32hex: 5-1024 of a-v 0-9")


def calendar_id(value: object) -> str:
    text = _text(value, "calendar_id")
    if any(c.isspace() for c in text) or "/" in text:
        raise ValueError(f"calendar_id must be 'primary' or a calendar address, got {text!r}")
    return text


def email(value: object, what: str = "email") -> str:
    return _match(_EMAIL, value, what, "user@example.com")


def subject(value: object) -> str:
    return email(value, "subject")


def space_name(value: object) -> str:
    """Accept ``spaces/{id}``, ``spaces/{meetingCode}`` or a bare meeting code / id."""
    text = _text(value, "space name or meeting code")
    name = text if text.startswith("spaces/") else f"spaces/{text}"
    return _match(_SPACE_NAME, name, "space name or meeting code", "spaces/abc-mnop-xyz")


def record_name(value: object) -> str:
    return _match(_RECORD, value, "conference record name", "conferenceRecords/abc")


def participant_name(value: object) -> str:
    return _match(_PARTICIPANT, value, "participant name", "conferenceRecords/abc/participants/def")


def transcript_name(value: object) -> str:
    return _match(_TRANSCRIPT, value, "transcript name", "conferenceRecords/abc/transcripts/def")


def account_id(value: object) -> str:
    """The numeric account id of ``users/{id}``, ``people/{id}`` or a bare id."""
    text = _text(value, "user")
    match = _ACCOUNT.fullmatch(text)
    if not match:
        raise ValueError(f"user must look like 'users/123456789', got {text!r}")
    return match.group(1)


def drive_id(value: object, what: str = "file_id") -> str:
    return _match(_DRIVE_ID, value, what, "1AbC-d_EfG")


def access_type(value: object) -> str:
    if value not in ACCESS_TYPES:
        raise ValueError(f"access_type must be one of {ACCESS_TYPES}, got {value!r}")
    return str(value)


def aware(value: object, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{what} must be timezone-aware (naive datetimes are ambiguous), got {value!r}"
        )
    return value


def timezone_name(value: object) -> str:
    text = _text(value, "timezone")
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"timezone must be an IANA name like 'Europe/Zurich', got {text!r}"
        ) from None
    return text


def attendees(values: object) -> tuple[CalendarAttendee, ...]:
    if not isinstance(values, (list, tuple)):
        raise ValueError(f"attendees must be a list of CalendarAttendee, got {type(values).__name__}")
    seen: set[str] = set()
    for item in values:
        if not isinstance(item, CalendarAttendee):
            raise ValueError(f"attendees must contain CalendarAttendee objects, got {item!r}")
        key = email(item.email, "attendee email").lower()
        if key in seen:
            raise ValueError(f"attendee listed twice: {item.email!r}")
        seen.add(key)
    return tuple(values)


def _interval(start: object, end: object) -> None:
    aware(start, "start")
    aware(end, "end")
    assert isinstance(start, datetime) and isinstance(end, datetime)
    if end <= start:
        raise ValueError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")


def draft(value: object) -> EventDraft:
    if not isinstance(value, EventDraft):
        raise ValueError(f"event must be an EventDraft, got {type(value).__name__}")
    event_id(value.event_id)
    _text(value.summary, "summary")
    _interval(value.start, value.end)
    timezone_name(value.timezone)
    attendees(value.attendees)
    for what, text in (("external_id", value.external_id), ("meeting_id", value.meeting_id)):
        if text is not None:
            _text(text, what)
    conference = value.conference
    if isinstance(conference, ConferenceCreate):
        _match(_REQUEST_ID, conference.request_id, "conference request_id", "meeting-0001")
    elif isinstance(conference, Space):
        if not conference.meeting_code or not conference.meeting_uri:
            raise ValueError(
                "an attached Space needs meeting_code and meeting_uri (read it from Meet)"
            )
    else:
        raise ValueError(f"conference must be ConferenceCreate or Space, got {conference!r}")
    return value


def changes(value: object) -> EventChanges:
    if not isinstance(value, EventChanges):
        raise ValueError(f"changes must be EventChanges, got {type(value).__name__}")
    fields = (
        value.summary,
        value.description,
        value.start,
        value.end,
        value.timezone,
        value.attendees,
    )
    if all(f is None for f in fields):
        raise ValueError("changes is empty: nothing to patch")
    if value.summary is not None:
        _text(value.summary, "summary")
    if (value.start is None) != (value.end is None):
        raise ValueError("start and end must be changed together")
    if value.start is not None:
        _interval(value.start, value.end)
    if value.timezone is not None:
        if value.start is None:
            # Calendar keeps the zone inside start/end, so it cannot change on its own.
            raise ValueError("timezone can only be changed together with start and end")
        timezone_name(value.timezone)
    if value.attendees is not None:
        attendees(value.attendees)
    return value


def positive(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return value


def non_negative(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r}")
    return value


_USER_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_WS_SUBSCRIPTION = re.compile(r"subscriptions/[A-Za-z0-9_-]{1,256}")
_PROJECT = r"projects/[a-z][a-z0-9-]{4,28}[a-z0-9]"
_PUBSUB_ID = r"(?!goog)[A-Za-z][A-Za-z0-9._~+%-]{2,254}"
_TOPIC = re.compile(_PROJECT + "/topics/" + _PUBSUB_ID)
_PUBSUB_SUBSCRIPTION = re.compile(_PROJECT + "/subscriptions/" + _PUBSUB_ID)
_RECORDING = re.compile(r"conferenceRecords/[A-Za-z0-9_-]+/recordings/[A-Za-z0-9_-]+")


def user_id(value: object) -> str:
    return _match(_USER_ID, value, "user id", "1234567890")


def subscription_name(value: object) -> str:
    return _match(_WS_SUBSCRIPTION, value, "subscription name", "subscriptions/abc")


def topic_name(value: object) -> str:
    return _match(_TOPIC, value, "topic", "projects/my-project/topics/meet-events")


def pubsub_subscription(value: object) -> str:
    return _match(
        _PUBSUB_SUBSCRIPTION, value, "Pub/Sub subscription", "projects/my-project/subscriptions/s"
    )


def recording_name(value: object) -> str:
    return _match(_RECORDING, value, "recording name", "conferenceRecords/abc/recordings/def")
