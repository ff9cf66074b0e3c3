"""Calendar v3 events with Meet conferences, through the real google-api-python-client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from meet_sandbox.emulator import EmulatorServer, SandboxClient

from .conftest import Google, create_space, raw_request

CREATE = {
    "createRequest": {"requestId": "meeting-1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}
}


def _event(event_id: str = "meeting0001", **extra: Any) -> dict[str, Any]:
    body = {
        "id": event_id,
        "summary": "Quarterly review",
        "start": {"dateTime": "2030-03-01T10:00:00", "timeZone": "Europe/Paris"},
        "end": {"dateTime": "2030-03-01T11:00:00", "timeZone": "Europe/Paris"},
        "attendees": [
            {"email": "colleague@example.com"},
            {"email": "guest@other.org", "displayName": "Guest"},
        ],
        "extendedProperties": {"private": {"xoma_id": event_id}},
    }
    body.update(extra)
    return body


def _error(caught: pytest.ExceptionInfo[HttpError]) -> tuple[int, str]:
    error = json.loads(caught.value.content)["error"]
    assert error["code"] == caught.value.resp.status and error["message"]
    return caught.value.resp.status, error["errors"][0]["reason"]


def test_create_request_is_pending_then_success(google: Google) -> None:
    inserted = (
        google.calendar.events()
        .insert(
            calendarId="primary",
            conferenceDataVersion=1,
            sendUpdates="all",
            body=_event(conferenceData=CREATE),
        )
        .execute()
    )
    assert inserted["id"] == "meeting0001"
    assert inserted["conferenceData"]["createRequest"]["status"]["statusCode"] == "pending"
    assert "conferenceId" not in inserted["conferenceData"]
    event = google.calendar.events().get(calendarId="primary", eventId="meeting0001").execute()
    data = event["conferenceData"]
    assert data["createRequest"]["status"]["statusCode"] == "success"
    code = data["conferenceId"]
    assert data["entryPoints"][0] == {
        "entryPointType": "video",
        "uri": f"https://meet.google.com/{code}",
        "label": f"meet.google.com/{code}",
    }
    assert data["conferenceSolution"]["key"]["type"] == "hangoutsMeet"
    assert event["hangoutLink"] == f"https://meet.google.com/{code}"
    assert event["extendedProperties"]["private"]["xoma_id"] == "meeting0001"
    assert event["organizer"]["email"] == "organizer@example.com"
    # Calendar made the space: it exists, belongs to the organizer, records nothing by itself.
    space = google.meet.spaces().get(name=f"spaces/{code}").execute()
    assert space["meetingCode"] == code
    assert space["config"]["artifactConfig"]["recordingConfig"]["autoRecordingGeneration"] == "OFF"


def test_pending_can_be_switched_off(google: Google, sandbox: SandboxClient) -> None:
    sandbox.settings(create_request_pending=False)
    inserted = (
        google.calendar.events()
        .insert(calendarId="primary", conferenceDataVersion=1, body=_event(conferenceData=CREATE))
        .execute()
    )
    assert inserted["conferenceData"]["createRequest"]["status"]["statusCode"] == "success"


def test_attaching_an_existing_space(google: Google) -> None:
    space = create_space(google)
    code = space["meetingCode"]
    conference = {
        "conferenceId": code,
        "conferenceSolution": {"key": {"type": "hangoutsMeet"}},
        "entryPoints": [{"entryPointType": "video", "uri": space["meetingUri"]}],
    }
    event = (
        google.calendar.events()
        .insert(
            calendarId="primary", conferenceDataVersion=1, body=_event(conferenceData=conference)
        )
        .execute()
    )
    assert event["conferenceData"]["conferenceId"] == code
    assert event["hangoutLink"] == space["meetingUri"]
    assert "createRequest" not in event["conferenceData"]


def test_conference_data_is_ignored_without_version_1(google: Google) -> None:
    event = (
        google.calendar.events()
        .insert(calendarId="primary", body=_event(conferenceData=CREATE))
        .execute()
    )
    assert "conferenceData" not in event and "hangoutLink" not in event


def test_same_id_twice_is_409_duplicate(google: Google) -> None:
    google.calendar.events().insert(calendarId="primary", body=_event()).execute()
    with pytest.raises(HttpError) as caught:
        google.calendar.events().insert(calendarId="primary", body=_event()).execute()
    assert _error(caught) == (409, "duplicate")


@pytest.mark.parametrize("event_id", ["abc", "UPPERCASE123", "has-dash-123", "wxyz0123"])
def test_ids_outside_base32hex_are_refused(google: Google, event_id: str) -> None:
    with pytest.raises(HttpError) as caught:
        google.calendar.events().insert(calendarId="primary", body=_event(event_id)).execute()
    assert _error(caught) == (400, "invalid")


def test_patch_update_delete(google: Google) -> None:
    events = google.calendar.events()
    events.insert(
        calendarId="primary", conferenceDataVersion=1, body=_event(conferenceData=CREATE)
    ).execute()
    code = events.get(calendarId="primary", eventId="meeting0001").execute()["conferenceData"][
        "conferenceId"
    ]
    patched = events.patch(
        calendarId="primary", eventId="meeting0001", body={"summary": "Renamed"}
    ).execute()
    assert patched["summary"] == "Renamed" and patched["sequence"] == 1
    assert patched["conferenceData"]["conferenceId"] == code  # untouched by a patch without it
    assert patched["attendees"][0]["email"] == "colleague@example.com"
    full = dict(patched, description="New text")
    updated = events.update(
        calendarId="primary", eventId="meeting0001", conferenceDataVersion=1, body=full
    ).execute()
    assert (
        updated["description"] == "New text" and updated["conferenceData"]["conferenceId"] == code
    )
    replaced = events.update(
        calendarId="primary", eventId="meeting0001", body=_event(summary="Only")
    ).execute()
    assert replaced["summary"] == "Only" and "description" not in replaced
    assert events.delete(calendarId="primary", eventId="meeting0001").execute() == ""
    cancelled = events.get(calendarId="primary", eventId="meeting0001").execute()
    assert cancelled["status"] == "cancelled"
    with pytest.raises(HttpError) as caught:
        events.delete(calendarId="primary", eventId="meeting0001").execute()
    assert _error(caught) == (410, "deleted")


def test_list_paginates_and_filters_by_private_property(
    google: Google, sandbox: SandboxClient
) -> None:
    for number in range(7):
        google.calendar.events().insert(
            calendarId="primary", body=_event(f"meeting{number:04d}")
        ).execute()
    google.calendar.events().delete(calendarId="primary", eventId="meeting0003").execute()
    seen, token, pages = [], None, 0
    while True:
        result = (
            google.calendar.events()
            .list(calendarId="primary", maxResults=2, pageToken=token)
            .execute()
        )
        seen += [item["id"] for item in result["items"]]
        pages += 1
        token = result.get("nextPageToken")
        if not token:
            assert "nextSyncToken" in result
            break
    assert pages == 3 and sorted(seen) == [f"meeting{n:04d}" for n in range(7) if n != 3]
    found = (
        google.calendar.events()
        .list(calendarId="primary", privateExtendedProperty="xoma_id=meeting0005")
        .execute()
    )
    assert [item["id"] for item in found["items"]] == ["meeting0005"]
    with_deleted = (
        google.calendar.events()
        .list(calendarId="primary", showDeleted=True, maxResults=50)
        .execute()
    )
    assert len(with_deleted["items"]) == 7
    partial = (
        google.calendar.events()
        .list(calendarId="primary", maxResults=1, fields="items(id,start/timeZone),nextPageToken")
        .execute()
    )
    assert set(partial) == {"items", "nextPageToken"}
    assert partial["items"] == [{"id": "meeting0000", "start": {"timeZone": "Europe/Paris"}}]


def test_invitations_follow_send_updates(google: Google, sandbox: SandboxClient) -> None:
    events = google.calendar.events()
    events.insert(calendarId="primary", sendUpdates="all", body=_event()).execute()
    attendees = [{"email": "guest@other.org"}, {"email": "new@example.com"}]
    events.patch(
        calendarId="primary",
        eventId="meeting0001",
        sendUpdates="externalOnly",
        body={"attendees": attendees},
    ).execute()
    events.patch(calendarId="primary", eventId="meeting0001", body={"summary": "quiet"}).execute()
    events.delete(calendarId="primary", eventId="meeting0001", sendUpdates="all").execute()
    sent = [(i["kind"], i["recipient"]) for i in sandbox.invitations()]
    assert sent == [
        ("invite", "colleague@example.com"),
        ("invite", "guest@other.org"),
        ("update", "guest@other.org"),
        ("cancel", "guest@other.org"),
        ("cancel", "new@example.com"),
    ]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"start": None}, "required"),
        (
            {"end": {"dateTime": "2030-03-01T09:00:00", "timeZone": "Europe/Paris"}},
            "timeRangeEmpty",
        ),
        ({"start": {"dateTime": "2030-03-01T10:00:00", "timeZone": "Mars/Olympus"}}, "invalid"),
        ({"start": {"dateTime": "2030-03-01T10:00:00"}}, "timeZoneMissing"),
        ({"start": {"dateTime": "yesterday-ish", "timeZone": "UTC"}}, "invalid"),
        ({"attendees": [{"email": "not an email"}]}, "invalid"),
        ({"summary": 42}, "invalid"),
        ({"attendees": "everyone"}, "invalid"),
    ],
    ids=[
        "no-start",
        "end-before-start",
        "bad-zone",
        "no-zone",
        "bad-time",
        "bad-email",
        "bad-type",
        "bad-array",
    ],
)
def test_garbage_events_get_400(google: Google, change: dict[str, Any], reason: str) -> None:
    body = {k: v for k, v in {**_event(), **change}.items() if v is not None}
    with pytest.raises(HttpError) as caught:
        google.calendar.events().insert(calendarId="primary", body=body).execute()
    assert _error(caught) == (400, reason)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/calendar/v3/calendars/primary/events?conferenceDataVersion=1", b"{not json"),
        ("POST", "/calendar/v3/calendars/primary/events", b"[1, 2]"),
        ("PATCH", "/calendar/v3/calendars/primary/events/nosuchevent", b"{}"),
        ("GET", "/calendar/v3/calendars/primary/events?pageToken=garbage", None),
        ("GET", "/calendar/v3/calendars/primary/events?maxResults=lots", None),
        ("GET", "/calendar/v3/calendars/primary/events?syncToken=stale", None),
        ("GET", "/calendar/v3/calendars/someone%40other.org/events", None),
        ("GET", "/calendar/v3/calendars/primary/events?orderBy=startTime", None),
    ],
    ids=[
        "malformed",
        "not-object",
        "unknown-event",
        "page-token",
        "max-results",
        "sync-token",
        "foreign-calendar",
        "order",
    ],
)
def test_garbage_requests_get_google_errors(
    server: EmulatorServer, token: str, method: str, path: str, body: bytes | None
) -> None:
    raw = raw_request(
        server.base_url, method, path, body=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert raw.status in (400, 404, 410)
    error = raw.json()["error"]
    assert error["code"] == raw.status and error["errors"][0]["reason"] and error["message"]
