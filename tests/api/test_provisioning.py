"""Google failing: 202 pending, retries that finish half-done work without duplicates,
permanent failures, backoff, and every Google call path of the API under faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from meet_api.app import create_app
from meet_api.config import ApiConfig
from meet_api.server import BackgroundServer
from meet_core.audit import events_for
from meet_core.db.models import Meeting
from meet_core.google.gateway import GoogleGateway
from meet_core.provisioning import (
    MAX_ATTEMPTS,
    backoff,
    event_id_for,
    provision_meeting,
    retry_pending,
)
from meet_core.settings import Settings
from meet_sandbox.emulator import SandboxClient
from tests.api.conftest import (
    Api,
    Keys,
    api_settings,
    assert_problem,
    google_counts,
    insert_pending,
    make_keys,
    meeting_body,
    row_counts,
)

Create = Callable[..., dict[str, Any]]


def _meeting(sessions: sessionmaker[Session], meeting_id: str) -> Meeting:
    with sessions() as session:
        return session.get(Meeting, meeting_id)


def _actions(sessions: sessionmaker[Session], meeting_id: str) -> list[str]:
    with sessions() as session:
        return [e.action for e in events_for(session, "meeting", meeting_id)]


def test_google_down_gives_202_then_retry_provisions_once(
    api: Api, xoma: httpx.Client, sandbox: SandboxClient
) -> None:
    sandbox.faults(kinds=["503"], apis=["calendar", "meet"])
    response = xoma.post("/api/v1/meetings", json=meeting_body())
    assert response.status_code == 202, response.text
    pending = response.json()
    assert pending["status"] == "pending" and pending["meet_uri"] is None
    assert (
        pending["provisioning"]["attempts"] == 1 and "503" in pending["provisioning"]["last_error"]
    )
    assert response.headers["location"] == f"/api/v1/meetings/{pending['id']}"

    sandbox.clear_faults()
    before = google_counts(sandbox)
    due = _meeting(api.sessions, pending["id"]).next_attempt_at
    outcome = provision_meeting(api.sessions, api.gateway, pending["id"], now=due)
    assert outcome.result == "scheduled" and outcome.attempts == 2
    after = google_counts(sandbox, event_id_for(pending["id"]))
    assert (
        after.events == 1
        and after.spaces - before.spaces == 1
        and after.inserts - before.inserts == 1
    )
    scheduled = xoma.get(f"/api/v1/meetings/{pending['id']}").json()
    assert (
        scheduled["status"] == "scheduled" and scheduled["meet_uri"] and scheduled["auto_recording"]
    )
    assert _actions(api.sessions, pending["id"]) == [
        "meeting.created",
        "meeting.provisioning_deferred",
        "meeting.provisioned",
    ]
    # Once scheduled, another tick does nothing.
    assert provision_meeting(api.sessions, api.gateway, pending["id"], now=due).result == "skipped"


@pytest.mark.parametrize(
    "fault",
    [
        {"kinds": ["429"], "apis": ["calendar"]},
        {"kinds": ["403_rate"], "apis": ["calendar"]},
        {"kinds": ["reset"], "apis": ["calendar"]},
        {"kinds": ["truncate"], "apis": ["calendar"]},
    ],
    ids=["429", "403-rate-limit", "connection-reset", "truncated-body"],
)
def test_transient_faults_leave_the_meeting_pending(
    api: Api, xoma: httpx.Client, sandbox: SandboxClient, fault: dict[str, Any]
) -> None:
    sandbox.faults(**fault)
    response = xoma.post("/api/v1/meetings", json=meeting_body())
    assert response.status_code == 202 and response.json()["status"] == "pending"


@pytest.mark.parametrize(
    ("fault", "half_done"),
    [
        ({"kinds": ["503"], "apis": ["meet"]}, "event made, space not patched"),
        ({"kinds": ["503"], "methods": ["spaces.get"]}, "space patched, not read back"),
        ({"kinds": ["503"], "methods": ["events.get"]}, "event made, conference not confirmed"),
    ],
    ids=["meet-down", "space-read-fails", "event-read-fails"],
)
def test_half_done_provisioning_is_finished_never_duplicated(
    api: Api, xoma: httpx.Client, sandbox: SandboxClient, fault: dict[str, Any], half_done: str
) -> None:
    sandbox.faults(**fault)
    before = google_counts(sandbox)
    response = xoma.post("/api/v1/meetings", json=meeting_body())
    assert response.status_code == 202, half_done
    meeting_id = response.json()["id"]
    assert response.json()["calendar_event_id"] == event_id_for(meeting_id)  # progress was recorded
    sandbox.clear_faults()
    due = _meeting(api.sessions, meeting_id).next_attempt_at
    assert provision_meeting(api.sessions, api.gateway, meeting_id, now=due).result == "scheduled"
    after = google_counts(sandbox, event_id_for(meeting_id))
    assert (
        after.events == 1
        and after.inserts - before.inserts == 1
        and after.spaces - before.spaces == 1
    )
    space = next(
        s
        for s in sandbox.state()["spaces"].values()
        if s["meeting_code"] == _meeting(api.sessions, meeting_id).meeting_code
    )
    assert space["config"]["artifactConfig"]["recordingConfig"]["autoRecordingGeneration"] == "ON"


def test_a_lost_insert_answer_is_not_a_second_event(
    api: Api, keys: Keys, sandbox: SandboxClient
) -> None:
    """Google made the event but the answer never arrived (truncated): the retry meets 409."""
    meeting_id = insert_pending(api.sessions, keys.client_id)
    sandbox.faults(kinds=["truncate"], methods=["events.insert"], count=1)
    due = _meeting(api.sessions, meeting_id).next_attempt_at
    started = time.time()
    outcome = provision_meeting(api.sessions, api.gateway, meeting_id, now=due)
    assert outcome.result == "scheduled", outcome
    assert google_counts(sandbox, event_id_for(meeting_id)).events == 1
    inserts = [
        (r["status"], r["fault"])
        for r in sandbox.requests()
        if r["method_id"] == "calendar.events.insert" and r["time"] >= started
    ]
    assert inserts == [(200, "truncate"), (409, None)]


def test_backoff_and_attempt_counting(api: Api, keys: Keys, sandbox: SandboxClient) -> None:
    meeting_id = insert_pending(api.sessions, keys.client_id)
    due = _meeting(api.sessions, meeting_id).next_attempt_at
    sandbox.faults(kinds=["503"], apis=["calendar"])
    first = provision_meeting(api.sessions, api.gateway, meeting_id, now=due)
    assert (
        first.result == "pending"
        and first.attempts == 1
        and first.next_attempt_at == due + backoff(1)
    )
    calls = api.gateway.calls.total
    early = provision_meeting(
        api.sessions, api.gateway, meeting_id, now=due + backoff(1) - timedelta(seconds=1)
    )
    assert (
        early.result == "skipped" and api.gateway.calls.total == calls
    )  # not due yet: no Google call
    second = provision_meeting(api.sessions, api.gateway, meeting_id, now=due + backoff(1))
    assert second.attempts == 2 and second.next_attempt_at == due + backoff(1) + backoff(2)
    assert backoff(2) == 2 * backoff(1) and backoff(40) == timedelta(hours=1)


def test_too_many_attempts_fail_the_meeting(api: Api, keys: Keys, sandbox: SandboxClient) -> None:
    meeting_id = insert_pending(
        api.sessions, keys.client_id, provisioning_attempts=MAX_ATTEMPTS - 1
    )
    due = _meeting(api.sessions, meeting_id).next_attempt_at
    sandbox.faults(kinds=["503"], apis=["calendar"])
    outcome = provision_meeting(api.sessions, api.gateway, meeting_id, now=due)
    assert (outcome.result, outcome.status, outcome.attempts) == ("failed", "failed", MAX_ATTEMPTS)
    assert _actions(api.sessions, meeting_id)[-1] == "meeting.provisioning_failed"


def test_a_permanent_google_refusal_fails_the_meeting(
    api: Api, keys: Keys, xoma: httpx.Client
) -> None:
    # Domain-wide delegation covers example.com only: Google refuses to act for another domain.
    meeting_id = insert_pending(api.sessions, keys.client_id, organizer_email="boss@elsewhere.org")
    due = _meeting(api.sessions, meeting_id).next_attempt_at
    outcome = provision_meeting(api.sessions, api.gateway, meeting_id, now=due)
    assert (outcome.result, outcome.error_kind) == ("failed", "PermissionDenied")
    assert outcome.attempts == 1  # no retries of a 4xx
    assert xoma.get(f"/api/v1/meetings/{meeting_id}").json()["status"] == "failed"
    with api.sessions() as session:
        failed = events_for(session, "meeting", meeting_id)[-1]
    assert (
        failed.action == "meeting.provisioning_failed"
        and failed.payload["error_kind"] == "PermissionDenied"
    )


def test_a_meeting_whose_time_passed_is_given_up(api: Api, keys: Keys) -> None:
    meeting_id = insert_pending(api.sessions, keys.client_id)
    end = _meeting(api.sessions, meeting_id).end_time
    calls = api.gateway.calls.total
    outcome = provision_meeting(
        api.sessions, api.gateway, meeting_id, now=end + timedelta(seconds=1)
    )
    assert (outcome.result, outcome.status) == (
        "failed",
        "failed",
    ) and api.gateway.calls.total == calls


def test_cancel_during_provisioning_withdraws_the_event(
    api: Api, keys: Keys, sandbox: SandboxClient
) -> None:
    """DELETE lands while POST is still inside Google: the event made for it does not survive."""
    sandbox.faults(kinds=["slow"], methods=["spaces.patch"], slow_seconds=1.5)
    body = meeting_body()
    result: dict[str, httpx.Response] = {}

    def post() -> None:
        with api.client(keys.service) as client:
            result["post"] = client.post("/api/v1/meetings", json=body)

    poster = threading.Thread(target=post)
    poster.start()
    meeting_id = None
    while meeting_id is None or _meeting(api.sessions, meeting_id).calendar_event_id is None:
        time.sleep(0.02)
        with api.sessions() as session:
            found = session.query(Meeting).filter_by(external_id=body["external_id"]).one_or_none()
            meeting_id = found.id if found else None
    with api.client(keys.service) as client:
        cancelled = client.delete(f"/api/v1/meetings/{meeting_id}")
    poster.join()
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert result["post"].status_code == 202 and result["post"].json()["status"] == "cancelled"
    event = sandbox.state()["events"][f"organizer@example.com/{event_id_for(meeting_id)}"][
        "resource"
    ]
    assert event["status"] == "cancelled"
    assert _meeting(api.sessions, meeting_id).status == "cancelled"


# ----- the API's other Google call paths under faults -------------------------------------------


def test_patch_with_google_down_is_503_and_changes_nothing(
    api: Api, xoma: httpx.Client, create_meeting: Create, sandbox: SandboxClient
) -> None:
    meeting = create_meeting()
    sandbox.faults(kinds=["503"], methods=["events.patch"])
    before = row_counts(api.sessions)
    response = xoma.patch(
        f"/api/v1/meetings/{meeting['id']}", json={"title": "Never"}, headers={"If-Match": '"1"'}
    )
    problem = assert_problem(response, 503)
    assert (
        problem["type"].endswith("google-unavailable") and int(response.headers["retry-after"]) >= 0
    )
    stored = _meeting(api.sessions, meeting["id"])
    assert (stored.title, stored.version) == (meeting["title"], 1)
    assert row_counts(api.sessions)["meetings"] == before["meetings"]
    assert _actions(api.sessions, meeting["id"])[-1] == "meeting.update_failed"


def test_delete_with_google_down_is_503_and_keeps_the_meeting(
    api: Api, xoma: httpx.Client, create_meeting: Create, sandbox: SandboxClient
) -> None:
    meeting = create_meeting()
    sandbox.faults(kinds=["503"], methods=["events.delete"])
    assert_problem(xoma.delete(f"/api/v1/meetings/{meeting['id']}"), 503)
    assert _meeting(api.sessions, meeting["id"]).status == "scheduled"
    sandbox.clear_faults()
    assert xoma.delete(f"/api/v1/meetings/{meeting['id']}").json()["status"] == "cancelled"


def test_reconciling_patch_during_provisioning_under_faults(
    api: Api, keys: Keys, xoma: httpx.Client, sandbox: SandboxClient
) -> None:
    """A pending meeting edited after its event was made: the retry patches the event, and a
    fault on that patch keeps it pending until Google answers."""
    sandbox.faults(kinds=["503"], apis=["meet"])
    meeting_id = xoma.post("/api/v1/meetings", json=meeting_body()).json()["id"]
    assert (
        xoma.patch(
            f"/api/v1/meetings/{meeting_id}",
            json={"title": "Edited while pending"},
            headers={"If-Match": '"1"'},
        ).status_code
        == 200
    )
    sandbox.clear_faults()
    sandbox.faults(kinds=["503"], methods=["events.patch"])
    due = _meeting(api.sessions, meeting_id).next_attempt_at
    assert provision_meeting(api.sessions, api.gateway, meeting_id, now=due).result == "pending"
    sandbox.clear_faults()
    due = _meeting(api.sessions, meeting_id).next_attempt_at
    assert provision_meeting(api.sessions, api.gateway, meeting_id, now=due).result == "scheduled"
    event = sandbox.state()["events"][f"organizer@example.com/{event_id_for(meeting_id)}"][
        "resource"
    ]
    assert event["summary"] == "Edited while pending"
    assert google_counts(sandbox, event_id_for(meeting_id)).events == 1


# ----- retry_pending, on a database of its own (it picks every due meeting) ---------------------


def test_retry_pending_after_an_outage(
    fresh_database_url: str,
    fresh_sessions: sessionmaker[Session],
    google_env: dict[str, str],
    api_gateway: GoogleGateway,
    sandbox: SandboxClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = api_settings(
        google_env, fresh_database_url, tmp_path_factory.mktemp("own"), "http://127.0.0.1:9"
    )
    keys = make_keys(fresh_sessions)
    config = ApiConfig(provisioning_deadline_seconds=20)
    with (
        BackgroundServer(create_app(settings, gateway=api_gateway, config=config)) as server,
        httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {keys.service}"}
        ) as xoma,
    ):
        sandbox.faults(kinds=["500"])
        ids = [xoma.post("/api/v1/meetings", json=meeting_body()).json()["id"] for _ in range(3)]
        sandbox.clear_faults()
        before = google_counts(sandbox)
        assert retry_pending(fresh_sessions, api_gateway) == []  # nothing due yet: backoff
        later = datetime.now(UTC) + timedelta(minutes=5)
        outcomes = retry_pending(fresh_sessions, api_gateway, now=later, limit=2)
        assert len(outcomes) == 2 and {o.result for o in outcomes} == {"scheduled"}
        rest = retry_pending(fresh_sessions, api_gateway, now=later)
        assert [o.result for o in rest] == ["scheduled"]
        assert {o.meeting_id for o in outcomes + rest} == set(ids)
        assert retry_pending(fresh_sessions, api_gateway, now=later) == []
        after = google_counts(sandbox)
        assert after.inserts - before.inserts == 3 and after.spaces - before.spaces == 3
        for meeting_id in ids:
            assert google_counts(sandbox, event_id_for(meeting_id)).events == 1
            assert xoma.get(f"/api/v1/meetings/{meeting_id}").json()["status"] == "scheduled"


def test_retry_pending_rejects_a_bad_limit(
    fresh_sessions: sessionmaker[Session], api_gateway: GoogleGateway
) -> None:
    with pytest.raises(ValueError, match="limit"):
        retry_pending(fresh_sessions, api_gateway, limit=0)


def test_google_refusing_the_organizer_is_502_and_replayed(
    api: Api, keys: Keys, api_gateway: GoogleGateway, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Delegation not granted for the configured organizer's domain: a permanent refusal."""
    settings = Settings.from_env(
        {
            "MEET_DATABASE_URL": api.settings.database_url,
            "MEET_HOME": str(tmp_path_factory.mktemp("x")),
            "MEET_GOOGLE_SUBJECT": "organizer@elsewhere.org",
        }
    )
    with (
        BackgroundServer(create_app(settings, gateway=api_gateway)) as server,
        httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {keys.service}"}
        ) as xoma,
    ):
        body = meeting_body()
        first = xoma.post("/api/v1/meetings", json=body, headers={"Idempotency-Key": "refused-1"})
        problem = assert_problem(first, 502)
        assert (
            problem["type"].endswith("provisioning-failed")
            and "PermissionDenied" not in problem["title"]
        )
        assert xoma.get(f"/api/v1/meetings/{problem['meeting_id']}").json()["status"] == "failed"
        again = xoma.post("/api/v1/meetings", json=body, headers={"Idempotency-Key": "refused-1"})
        assert again.status_code == 502 and again.headers["idempotent-replayed"] == "true"
        assert again.json()["meeting_id"] == problem["meeting_id"]
    assert _actions(api.sessions, problem["meeting_id"])[-1] == "meeting.provisioning_failed"
