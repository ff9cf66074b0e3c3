"""Typed results of the gateway, parsed from Google's JSON (all datetimes aware, in UTC)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 (``Z`` or offset, up to nanoseconds) to an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = _FRACTION.sub(r"\1", value.strip()).replace("z", "Z")
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without offset from Google: {value!r}")
    return parsed.astimezone(UTC)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class Space:
    name: str
    meeting_code: str | None
    meeting_uri: str | None
    access_type: str | None
    auto_recording: bool
    auto_transcription: bool
    active_conference: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Space:
        config = data.get("config") or {}
        artifacts = config.get("artifactConfig") or {}
        recording = (artifacts.get("recordingConfig") or {}).get("autoRecordingGeneration")
        transcript = (artifacts.get("transcriptionConfig") or {}).get("autoTranscriptionGeneration")
        return cls(
            name=data["name"],
            meeting_code=_str(data.get("meetingCode")),
            meeting_uri=_str(data.get("meetingUri")),
            access_type=_str(config.get("accessType")),
            auto_recording=recording == "ON",
            auto_transcription=transcript == "ON",
            active_conference=_str((data.get("activeConference") or {}).get("conferenceRecord")),
        )


@dataclass(frozen=True, slots=True)
class CalendarAttendee:
    email: str
    display_name: str | None = None
    optional: bool = False
    # Only set on events read back from Calendar ("needsAction", "accepted", …).
    response_status: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"email": self.email}
        if self.display_name:
            body["displayName"] = self.display_name
        if self.optional:
            body["optional"] = True
        return body

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CalendarAttendee:
        return cls(
            email=str(data.get("email", "")),
            display_name=_str(data.get("displayName")),
            optional=bool(data.get("optional", False)),
            response_status=_str(data.get("responseStatus")),
        )


@dataclass(frozen=True, slots=True)
class ConferenceCreate:
    """Ask Calendar to create a new Meet conference for the event (idempotent per request_id)."""

    request_id: str


@dataclass(frozen=True, slots=True)
class EventDraft:
    event_id: str
    summary: str
    start: datetime
    end: datetime
    timezone: str
    conference: ConferenceCreate | Space
    description: str | None = None
    attendees: tuple[CalendarAttendee, ...] | list[CalendarAttendee] = ()
    external_id: str | None = None
    meeting_id: str | None = None


@dataclass(frozen=True, slots=True)
class EventChanges:
    """Fields to change; None leaves a field as it is. ``attendees`` replaces the whole list."""

    summary: str | None = None
    description: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    timezone: str | None = None
    attendees: tuple[CalendarAttendee, ...] | list[CalendarAttendee] | None = None


def _event_time(data: Any) -> datetime | None:
    if not isinstance(data, Mapping):
        return None
    return parse_time(data.get("dateTime"))


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    id: str
    status: str
    summary: str | None
    description: str | None
    start: datetime | None
    end: datetime | None
    timezone: str | None
    attendees: tuple[CalendarAttendee, ...]
    html_link: str | None
    meet_uri: str | None
    conference_id: str | None
    # createRequest.status.statusCode: "pending", "success", "failure" (None without a request).
    conference_status: str | None
    external_id: str | None
    meeting_id: str | None
    etag: str | None
    sequence: int
    updated: datetime | None
    private_properties: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CalendarEvent:
        conference = data.get("conferenceData") or {}
        video = next(
            (
                e.get("uri")
                for e in conference.get("entryPoints") or []
                if e.get("entryPointType") == "video"
            ),
            None,
        )
        request = conference.get("createRequest") or {}
        private = dict((data.get("extendedProperties") or {}).get("private") or {})
        return cls(
            id=data["id"],
            status=str(data.get("status", "confirmed")),
            summary=_str(data.get("summary")),
            description=_str(data.get("description")),
            start=_event_time(data.get("start")),
            end=_event_time(data.get("end")),
            timezone=_str((data.get("start") or {}).get("timeZone")),
            attendees=tuple(CalendarAttendee.from_json(a) for a in data.get("attendees") or []),
            html_link=_str(data.get("htmlLink")),
            meet_uri=_str(video) or _str(data.get("hangoutLink")),
            conference_id=_str(conference.get("conferenceId")),
            conference_status=_str((request.get("status") or {}).get("statusCode")),
            external_id=_str(private.get("xoma_external_id")),
            meeting_id=_str(private.get("meeting_id")),
            etag=_str(data.get("etag")),
            sequence=int(data.get("sequence") or 0),
            updated=parse_time(data.get("updated")),
            private_properties=private,
        )


@dataclass(frozen=True, slots=True)
class MeetConferenceRecord:
    name: str
    space: str | None
    start: datetime | None
    end: datetime | None
    expire: datetime | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MeetConferenceRecord:
        return cls(
            name=data["name"],
            space=_str(data.get("space")),
            start=parse_time(data.get("startTime")),
            end=parse_time(data.get("endTime")),
            expire=parse_time(data.get("expireTime")),
        )


@dataclass(frozen=True, slots=True)
class MeetParticipant:
    name: str
    kind: str  # "signed_in", "anonymous" or "phone"
    user: str | None  # "users/{id}" for signed-in users
    display_name: str | None
    email: str | None  # only when the server supplies one (the Meet API itself does not)
    earliest_start: datetime | None
    latest_end: datetime | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MeetParticipant:
        if "signedinUser" in data:
            kind, who = "signed_in", data.get("signedinUser") or {}
        elif "phoneUser" in data:
            kind, who = "phone", data.get("phoneUser") or {}
        else:
            kind, who = "anonymous", data.get("anonymousUser") or {}
        return cls(
            name=data["name"],
            kind=kind,
            user=_str(who.get("user")),
            display_name=_str(who.get("displayName")),
            email=_str(who.get("email")),
            earliest_start=parse_time(data.get("earliestStartTime")),
            latest_end=parse_time(data.get("latestEndTime")),
        )


@dataclass(frozen=True, slots=True)
class MeetParticipantSession:
    name: str
    start: datetime | None
    end: datetime | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MeetParticipantSession:
        return cls(
            name=data["name"],
            start=parse_time(data.get("startTime")),
            end=parse_time(data.get("endTime")),
        )


@dataclass(frozen=True, slots=True)
class Recording:
    name: str
    state: str
    start: datetime | None
    end: datetime | None
    drive_file_id: str | None
    export_uri: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recording:
        drive = data.get("driveDestination") or {}
        return cls(
            name=data["name"],
            state=str(data.get("state", "STATE_UNSPECIFIED")),
            start=parse_time(data.get("startTime")),
            end=parse_time(data.get("endTime")),
            drive_file_id=_str(drive.get("file")),
            export_uri=_str(drive.get("exportUri")),
        )


@dataclass(frozen=True, slots=True)
class Transcript:
    name: str
    state: str
    start: datetime | None
    end: datetime | None
    document_id: str | None
    export_uri: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        docs = data.get("docsDestination") or {}
        return cls(
            name=data["name"],
            state=str(data.get("state", "STATE_UNSPECIFIED")),
            start=parse_time(data.get("startTime")),
            end=parse_time(data.get("endTime")),
            document_id=_str(docs.get("document")),
            export_uri=_str(docs.get("exportUri")),
        )


@dataclass(frozen=True, slots=True)
class SmartNote(Transcript):
    """Gemini's "take notes for me" of a conference: a Google Doc in ``docsDestination``,
    with the fields and JSON of a transcript."""


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    name: str
    participant: str | None
    text: str
    language_code: str | None
    start: datetime | None
    end: datetime | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TranscriptEntry:
        return cls(
            name=data["name"],
            participant=_str(data.get("participant")),
            text=str(data.get("text", "")),
            language_code=_str(data.get("languageCode")),
            start=parse_time(data.get("startTime")),
            end=parse_time(data.get("endTime")),
        )


@dataclass(frozen=True, slots=True)
class DriveFile:
    id: str
    name: str
    mime_type: str
    size: int
    md5: str | None
    sha256: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DriveFile:
        return cls(
            id=data["id"],
            name=str(data.get("name", "")),
            mime_type=str(data.get("mimeType", "")),
            # Drive sends int64 as a JSON string; Google Docs have no size at all.
            size=int(data.get("size") or 0),
            md5=_str(data.get("md5Checksum")),
            sha256=_str(data.get("sha256Checksum")),
        )


def _primary(items: Any, key: str) -> str | None:
    """The primary (else first) non-empty ``key`` of a list of People/Directory entries."""
    if not isinstance(items, list):
        return None
    values = [i for i in items if isinstance(i, Mapping) and _str(i.get(key))]
    if not values:
        return None
    primary = [i for i in values if (i.get("metadata") or {}).get("primary") or i.get("primary")]
    return str((primary or values)[0][key])


@dataclass(frozen=True, slots=True)
class PersonIdentity:
    """Who a Google account id is, as far as one API shows it (email None: not shown)."""

    account_id: str
    email: str | None
    display_name: str | None
    source: str  # "people" or "directory"

    @classmethod
    def from_person(cls, account_id: str, data: Mapping[str, Any]) -> PersonIdentity:
        email = _primary(data.get("emailAddresses"), "value")
        return cls(
            account_id=account_id,
            email=email.lower() if email else None,
            display_name=_primary(data.get("names"), "displayName"),
            source="people",
        )

    @classmethod
    def from_directory_user(cls, account_id: str, data: Mapping[str, Any]) -> PersonIdentity:
        email = _str(data.get("primaryEmail")) or _primary(data.get("emails"), "address")
        name = data.get("name") or {}
        return cls(
            account_id=account_id,
            email=email.lower() if email else None,
            display_name=_str(name.get("fullName")) if isinstance(name, Mapping) else None,
            source="directory",
        )
