"""PATCH and DELETE: Calendar kept in sync with notifications, optimistic concurrency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from meet_core.audit import events_for
from meet_core.db.models import Meeting
from meet_core.provisioning import event_id_for, provision_meeting
from meet_sandbox.emulator import SandboxClient
from tests.api.conftest import Api, Keys, assert_problem, insert_pending, row_counts

Create = Callable[..., dict[str, Any]]


def _invitations(sandbox: SandboxClient, event_id: str, kind: str) -> set[str]:
    return {
        i["recipient"]
        for i in sandbox.invitations()
        if i["event_id"] == event_id and i["kind"] == kind
    }


def _event(sandbox: SandboxClient, event_id: str) -> dict[str, Any]:
    return sandbox.state()["events"][f"organizer@example.com/{event_id}"]["resource"]


def test_patch_syncs_calendar_and_tells_every_guest(
    xoma: httpx.Client, create_meeting: Create, sandbox: SandboxClient
) -> None:
    meeting = create_meeting()
    event_id = meeting["calendar_event_id"]
    start = datetime.fromisoformat(meeting["start_time"]) + timedelta(hours=1)
    response = xoma.patch(
        f"/api/v1/meetings/{meeting['id']}",
        json={
            "title": "Moved review",
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(minutes=45)).isoformat(),
            "description": None,
            "participants": [{"email": "alice@example.org"}, {"email": "gina@example.org"}],
        },
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["version"] == 2 and response.headers["etag"] == '"2"'
    assert updated["title"] == "Moved review" and updated["description"] is None
    assert [p["email"] for p in updated["participants"]] == [
        "alice@example.org",
        "gina@example.org",
    ]

    event = _event(sandbox, event_id)
    assert event["summary"] == "Moved review"
    assert datetime.fromisoformat(event["start"]["dateTime"]) == start
    assert {a["email"] for a in event["attendees"]} >= {"alice@example.org", "gina@example.org"}
    assert "bob@example.net" not in {a["email"] for a in event["attendees"]}
    assert "alice@example.org" in _invitations(sandbox, event_id, "update")
    assert "gina@example.org" in _invitations(sandbox, event_id, "invite")
    assert "bob@example.net" in _invitations(sandbox, event_id, "cancel")


def test_patch_with_version_in_body(xoma: httpx.Client, create_meeting: Create) -> None:
    meeting = create_meeting()
    response = xoma.patch(
        f"/api/v1/meetings/{meeting['id']}", json={"title": "Body version", "version": 1}
    )
    assert response.status_code == 200 and response.json()["version"] == 2


def test_stale_version_is_409_and_changes_nothing(
    api: Api, xoma: httpx.Client, create_meeting: Create, sandbox: SandboxClient
) -> None:
    meeting = create_meeting()
    assert (
        xoma.patch(
            f"/api/v1/meetings/{meeting['id']}",
            json={"title": "First"},
            headers={"If-Match": '"1"'},
        ).status_code
        == 200
    )
    before = row_counts(api.sessions)
    problem = assert_problem(
        xoma.patch(
            f"/api/v1/meetings/{meeting['id']}",
            json={"title": "Lost update"},
            headers={"If-Match": '"1"'},
        ),
        409,
    )
    assert problem["current_version"] == 2
    assert row_counts(api.sessions) == before
    assert _event(sandbox, meeting["calendar_event_id"])["summary"] == "First"


def test_finished_or_cancelled_meetings_cannot_be_patched(
    api: Api, keys: Keys, xoma: httpx.Client
) -> None:
    for status in ("finished", "cancelled", "in_progress", "failed", "not_held"):
        meeting_id = insert_pending(api.sessions, keys.client_id, status=status)
        problem = assert_problem(
            xoma.patch(
                f"/api/v1/meetings/{meeting_id}", json={"title": "x"}, headers={"If-Match": '"1"'}
            ),
            409,
        )
        assert problem["status"] == 409 and problem["type"].endswith("meeting-not-editable")


def test_patch_of_a_pending_meeting_reaches_calendar_when_provisioned(
    api: Api, keys: Keys, xoma: httpx.Client, sandbox: SandboxClient
) -> None:
    meeting_id = insert_pending(api.sessions, keys.client_id)
    calls = api.gateway.calls.total
    response = xoma.patch(
        f"/api/v1/meetings/{meeting_id}",
        json={"title": "Renamed before Google"},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200 and response.json()["status"] == "pending"
    assert api.gateway.calls.total == calls  # nothing to sync yet
    with api.sessions() as session:
        due = session.get(Meeting, meeting_id).next_attempt_at
    outcome = provision_meeting(api.sessions, api.gateway, meeting_id, now=due)
    assert outcome.result == "scheduled"
    assert _event(sandbox, event_id_for(meeting_id))["summary"] == "Renamed before Google"


def test_cancel_deletes_the_event_and_tells_guests_and_repeats_harmlessly(
    api: Api, xoma: httpx.Client, create_meeting: Create, sandbox: SandboxClient
) -> None:
    meeting = create_meeting()
    event_id = meeting["calendar_event_id"]
    response = xoma.delete(f"/api/v1/meetings/{meeting['id']}")
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert (
        cancelled["status"] == "cancelled"
        and cancelled["cancelled_at"]
        and cancelled["version"] == 2
    )
    assert _event(sandbox, event_id)["status"] == "cancelled"
    assert _invitations(sandbox, event_id, "cancel") == {"alice@example.org", "bob@example.net"}

    audit_before = row_counts(api.sessions)["audit_events"]
    notices = len(sandbox.invitations())
    again = xoma.delete(f"/api/v1/meetings/{meeting['id']}")
    assert again.status_code == 200 and again.json() == cancelled
    assert row_counts(api.sessions)["audit_events"] == audit_before
    assert len(sandbox.invitations()) == notices
    # The record and its history stay.
    detail = xoma.get(f"/api/v1/meetings/{meeting['id']}").json()
    assert detail["status"] == "cancelled" and detail["compliance"]["state"] == "not_applicable"
    with api.sessions() as session:
        actions = [e.action for e in events_for(session, "meeting", meeting["id"])]
    assert actions[-1] == "meeting.cancelled"


def test_meetings_under_way_or_over_cannot_be_cancelled(
    api: Api, keys: Keys, xoma: httpx.Client
) -> None:
    for status in ("in_progress", "finished", "not_held"):
        meeting_id = insert_pending(api.sessions, keys.client_id, status=status)
        before = row_counts(api.sessions)
        assert_problem(xoma.delete(f"/api/v1/meetings/{meeting_id}"), 409)
        assert row_counts(api.sessions) == before


def test_cancel_of_a_pending_meeting_needs_no_google(
    api: Api, keys: Keys, xoma: httpx.Client
) -> None:
    meeting_id = insert_pending(api.sessions, keys.client_id)
    calls = api.gateway.calls.total
    response = xoma.delete(f"/api/v1/meetings/{meeting_id}")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert api.gateway.calls.total == calls
    # A sensor tick afterwards leaves it alone.
    later = datetime.fromisoformat(response.json()["start_time"])
    outcome = provision_meeting(api.sessions, api.gateway, meeting_id, now=later)
    assert (outcome.result, outcome.status) == ("skipped", "cancelled")
    assert api.gateway.calls.total == calls
