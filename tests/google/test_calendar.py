"""Calendar methods against the emulator: both ways to attach a self-recording space,
idempotent insert, patch and cancel with notifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from meet_core.google import CalendarAttendee, EventChanges, GoogleGateway, NotFound
from meet_sandbox.emulator import SandboxClient
from tests.google.conftest import ORGANIZER, api_requests, draft


def invitations(sandbox: SandboxClient, event_id: str) -> list[tuple[str, str]]:
    return sorted(
        (i["recipient"], i["kind"]) for i in sandbox.invitations() if i["event_id"] == event_id
    )


def test_insert_with_create_request_then_enable_recording(
    gateway: GoogleGateway, sandbox: SandboxClient
) -> None:
    event = gateway.insert_event(draft())
    assert event.conference_status == "pending" and event.conference_id is None
    assert (event.external_id, event.meeting_id) == ("XOMA-42", "m-42")
    assert (
        event.start == datetime(2031, 3, 4, 9, 30, tzinfo=UTC) and event.timezone == "Europe/Zurich"
    )
    assert [(a.email, a.display_name, a.optional) for a in event.attendees] == [
        ("ann@partner.org", "Ann", False),
        ("bob@example.com", None, True),
    ]
    assert invitations(sandbox, event.id) == [
        ("ann@partner.org", "invite"),
        ("bob@example.com", "invite"),
    ]

    ready = gateway.wait_for_conference(event.id)
    assert ready.conference_status == "success" and ready.conference_id
    assert ready.meet_uri == f"https://meet.google.com/{ready.conference_id}"

    space = gateway.get_space(ready.conference_id or "")
    assert not space.auto_recording  # Calendar-made spaces do not record by themselves
    patched = gateway.enable_auto_artifacts(f"spaces/{ready.conference_id}")
    assert patched.auto_recording and patched.auto_transcription
    assert gateway.get_space(space.name).auto_recording


def test_insert_attaching_an_existing_space(gateway: GoogleGateway) -> None:
    space = gateway.create_space()
    event = gateway.insert_event(draft(conference=space))
    assert event.conference_id == space.meeting_code and event.meet_uri == space.meeting_uri
    assert event.conference_status is None
    assert gateway.wait_for_conference(event.id) == gateway.get_event(event.id)


def test_insert_twice_returns_the_first_event(
    gateway: GoogleGateway, sandbox: SandboxClient
) -> None:
    first = gateway.insert_event(draft(event_id="sameid00001"))
    again = gateway.insert_event(draft(event_id="sameid00001", summary="changed"))
    assert again.id == first.id and again.summary == first.summary  # Google's copy, not ours
    assert [r["status"] for r in api_requests(sandbox, "calendar.events.insert")] == [200, 409]
    assert gateway.calls["calendar.events.insert"] == 2


def test_insert_whose_answer_is_lost_does_not_create_a_second_event(
    gateway: GoogleGateway, sandbox: SandboxClient
) -> None:
    # The server stores the event, then the answer is cut: the retry meets 409 and reads it.
    sandbox.faults(kinds=["truncate"], count=1, methods=["calendar.events.insert"])
    event = gateway.insert_event(draft())
    assert event.summary == "Quarterly review"
    inserts = api_requests(sandbox, "calendar.events.insert")
    assert [(r["status"], r["fault"]) for r in inserts] == [(200, "truncate"), (409, None)]
    events = [k for k in sandbox.state()["events"] if k.endswith("/" + event.id)]
    assert len(events) == 1


def test_get_unknown_event_is_not_found_and_not_retried(
    gateway: GoogleGateway, sandbox: SandboxClient
) -> None:
    with pytest.raises(NotFound) as info:
        gateway.get_event("nosuchevent1")
    assert (info.value.status, info.value.reason) == (404, "notFound")
    assert (
        gateway.calls["calendar.events.get"]
        == len(api_requests(sandbox, "calendar.events.get"))
        == 1
    )


def test_patch_changes_fields_and_notifies(gateway: GoogleGateway, sandbox: SandboxClient) -> None:
    event = gateway.wait_for_conference(gateway.insert_event(draft()).id)
    start = datetime(2031, 3, 5, 14, 0, tzinfo=timezone(timedelta(hours=1)))
    patched = gateway.patch_event(
        event.id,
        EventChanges(
            summary="Moved review",
            start=start,
            end=start + timedelta(minutes=45),
            timezone="Europe/Berlin",
            attendees=[CalendarAttendee("ann@partner.org", "Ann"), CalendarAttendee("cy@partner.org", "Cy")],
        ),
    )
    assert patched.summary == "Moved review" and patched.description == "Numbers and plans"
    assert patched.start == datetime(2031, 3, 5, 13, 0, tzinfo=UTC)
    assert patched.end == datetime(2031, 3, 5, 13, 45, tzinfo=UTC)
    assert patched.timezone == "Europe/Berlin" and patched.sequence == event.sequence + 1
    assert [a.email for a in patched.attendees] == ["ann@partner.org", "cy@partner.org"]
    assert patched.external_id == "XOMA-42"  # untouched fields stay
    assert patched.conference_id == event.conference_id
    assert invitations(sandbox, event.id) == [
        ("ann@partner.org", "invite"),
        ("ann@partner.org", "update"),
        ("bob@example.com", "cancel"),
        ("bob@example.com", "invite"),
        ("cy@partner.org", "invite"),
    ]
    assert gateway.get_event(event.id) == patched


def test_cancel_is_idempotent(gateway: GoogleGateway, sandbox: SandboxClient) -> None:
    event = gateway.insert_event(draft())
    gateway.cancel_event(event.id)
    assert gateway.get_event(event.id).status == "cancelled"
    gateway.cancel_event(event.id)  # 410 Gone: already cancelled
    gateway.cancel_event("nevercreated1")  # 404: nothing to cancel
    statuses = [r["status"] for r in api_requests(sandbox, "calendar.events.delete")]
    assert statuses == [204, 410, 404]
    assert ("ann@partner.org", "cancel") in invitations(sandbox, event.id)


def test_subject_and_calendar_id(gateway: GoogleGateway) -> None:
    other = "second.organizer@example.com"
    event = gateway.insert_event(draft(), subject=other)
    assert gateway.get_event(event.id, subject=other, calendar_id=other).id == event.id
    with pytest.raises(NotFound):
        gateway.get_event(event.id)  # not on the default organizer's calendar
    assert (
        gateway.get_event(event.id, calendar_id=other).id == event.id
    )  # organizer sees a domain calendar
    assert other != ORGANIZER
