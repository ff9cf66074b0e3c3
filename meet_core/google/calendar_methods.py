"""Calendar events with a Meet conference: insert (idempotent by event id), get, patch,
cancel, and waiting for Calendar to finish creating the conference."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from meet_core.google import validate
from meet_core.google.core import GatewayCore
from meet_core.google.errors import ConferenceCreationFailed, Conflict, GoogleUnavailable, NotFound
from meet_core.google.types import (
    CalendarAttendee,
    CalendarEvent,
    ConferenceCreate,
    EventChanges,
    EventDraft,
    Space,
)


def _when(moment: datetime, timezone: str | None) -> dict[str, str]:
    body = {"dateTime": moment.isoformat()}
    if timezone:
        body["timeZone"] = timezone
    return body


def _conference(conference: ConferenceCreate | Space) -> dict[str, Any]:
    if isinstance(conference, ConferenceCreate):
        # Calendar creates a new Meet space for this event; requestId makes a repeat a no-op.
        return {
            "createRequest": {
                "requestId": conference.request_id,
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        }
    uri = conference.meeting_uri or ""
    return {
        "conferenceId": conference.meeting_code,
        "conferenceSolution": {"key": {"type": "hangoutsMeet"}},
        "entryPoints": [{"entryPointType": "video", "uri": uri, "label": uri.split("://", 1)[-1]}],
    }


def _attendees(attendees: tuple[CalendarAttendee, ...] | list[CalendarAttendee]) -> list[dict[str, Any]]:
    return [a.to_json() for a in attendees]


def event_body(draft: EventDraft) -> dict[str, Any]:
    """The events.insert body for a validated draft."""
    body: dict[str, Any] = {
        "id": draft.event_id,
        "summary": draft.summary,
        "start": _when(draft.start, draft.timezone),
        "end": _when(draft.end, draft.timezone),
        "attendees": _attendees(draft.attendees),
        "conferenceData": _conference(draft.conference),
    }
    if draft.description is not None:
        body["description"] = draft.description
    private = {}
    if draft.external_id is not None:
        private["xoma_external_id"] = draft.external_id
    if draft.meeting_id is not None:
        private["meeting_id"] = draft.meeting_id
    if private:
        body["extendedProperties"] = {"private": private}
    return body


def changes_body(changes: EventChanges) -> dict[str, Any]:
    """The events.patch body: only the fields that change."""
    body: dict[str, Any] = {}
    if changes.summary is not None:
        body["summary"] = changes.summary
    if changes.description is not None:
        body["description"] = changes.description
    if changes.start is not None and changes.end is not None:
        body["start"] = _when(changes.start, changes.timezone)
        body["end"] = _when(changes.end, changes.timezone)
    if changes.attendees is not None:
        body["attendees"] = _attendees(changes.attendees)
    return body


class CalendarMethods(GatewayCore):
    def insert_event(
        self, event: EventDraft, *, subject: str | None = None, calendar_id: str | None = None
    ) -> CalendarEvent:
        """Insert with conferenceDataVersion=1 and sendUpdates=all. The caller chose the id,
        so a 409 means an earlier (maybe timed-out) insert worked: return that event."""
        validate.draft(event)
        who, calendar = self._subject(subject), self._calendar_id(calendar_id)
        body = event_body(event)
        try:
            data = self._execute(
                "calendar",
                who,
                lambda s: s.events().insert(
                    calendarId=calendar, body=body, conferenceDataVersion=1, sendUpdates="all"
                ),
            )
        except Conflict:
            return self.get_event(event.event_id, subject=who, calendar_id=calendar)
        return CalendarEvent.from_json(data)

    def get_event(
        self, event_id: str, *, subject: str | None = None, calendar_id: str | None = None
    ) -> CalendarEvent:
        validate.event_id(event_id)
        who, calendar = self._subject(subject), self._calendar_id(calendar_id)
        data = self._execute(
            "calendar", who, lambda s: s.events().get(calendarId=calendar, eventId=event_id)
        )
        return CalendarEvent.from_json(data)

    def patch_event(
        self,
        event_id: str,
        changes: EventChanges,
        *,
        subject: str | None = None,
        calendar_id: str | None = None,
    ) -> CalendarEvent:
        validate.event_id(event_id)
        validate.changes(changes)
        who, calendar = self._subject(subject), self._calendar_id(calendar_id)
        body = changes_body(changes)
        data = self._execute(
            "calendar",
            who,
            lambda s: s.events().patch(
                calendarId=calendar, eventId=event_id, body=body, sendUpdates="all"
            ),
        )
        return CalendarEvent.from_json(data)

    def cancel_event(
        self, event_id: str, *, subject: str | None = None, calendar_id: str | None = None
    ) -> None:
        """Delete with sendUpdates=all so guests are told; 404/410 means already gone."""
        validate.event_id(event_id)
        who, calendar = self._subject(subject), self._calendar_id(calendar_id)
        try:
            self._execute(
                "calendar",
                who,
                lambda s: s.events().delete(
                    calendarId=calendar, eventId=event_id, sendUpdates="all"
                ),
                json=False,
            )
        except NotFound:
            return

    def wait_for_conference(
        self,
        event_id: str,
        *,
        subject: str | None = None,
        calendar_id: str | None = None,
        timeout: float = 20,
    ) -> CalendarEvent:
        """Poll events.get while Calendar's createRequest is ``pending``."""
        validate.event_id(event_id)
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        give_up = time.monotonic() + timeout
        pause = self.retry_policy.base
        while True:
            event = self.get_event(event_id, subject=subject, calendar_id=calendar_id)
            if event.conference_status == "failure":
                raise ConferenceCreationFailed(
                    f"Calendar could not create the Meet conference of event {event_id}",
                    reason="failure",
                    method="calendar.events.get",
                )
            if event.conference_status != "pending":
                return event
            if time.monotonic() + pause > give_up:
                raise GoogleUnavailable(
                    f"conference of event {event_id} still pending after {timeout} s",
                    reason="pending",
                    method="calendar.events.get",
                )
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
