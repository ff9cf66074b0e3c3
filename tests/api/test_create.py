"""POST /api/v1/meetings: provisioning in Google, idempotency, duplicates."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import func, select

from meet_core.audit import events_for
from meet_core.db.models import IdempotencyRecord, Meeting
from meet_core.provisioning import event_id_for
from meet_sandbox.emulator import SandboxClient
from tests.api.conftest import Api, Keys, assert_problem, google_counts, meeting_body, row_counts


def test_create_provisions_event_and_self_recording_space(
    api: Api, xoma: httpx.Client, sandbox: SandboxClient
) -> None:
    body = meeting_body(
        participants=[
            {"email": "Alice@Example.ORG", "display_name": "Alice"},
            {"email": "alice@example.org"},  # same person again, other case: de-duplicated
            {"email": "bob@example.net"},
            {"email": "organizer@example.com", "role": "organizer"},
        ]
    )
    response = xoma.post("/api/v1/meetings", json=body)
    assert response.status_code == 201, response.text
    meeting = response.json()
    assert meeting["status"] == "scheduled"
    assert response.headers["location"] == f"/api/v1/meetings/{meeting['id']}"
    assert response.headers["etag"] == '"1"'
    assert meeting["calendar_event_id"] == event_id_for(meeting["id"])
    assert meeting["meet_uri"] == f"https://meet.google.com/{meeting['meeting_code']}"
    assert meeting["space_name"].startswith("spaces/") and meeting["auto_recording"] is True
    assert [p["email"] for p in meeting["participants"]] == [
        "alice@example.org",
        "bob@example.net",
        "organizer@example.com",
    ]

    # Google's side, read through the emulator's own state.
    state = sandbox.state()
    record = state["events"][f"organizer@example.com/{meeting['calendar_event_id']}"]
    event = record["resource"]
    assert {a["email"] for a in event["attendees"]} >= {"alice@example.org", "bob@example.net"}
    assert event["extendedProperties"]["private"]["xoma_external_id"] == body["external_id"]
    space = state["spaces"][record["space"]]
    assert space["meeting_code"] == meeting["meeting_code"]
    artifacts = space["config"]["artifactConfig"]
    assert artifacts["recordingConfig"]["autoRecordingGeneration"] == "ON"
    assert artifacts["transcriptionConfig"]["autoTranscriptionGeneration"] == "ON"
    invited = {
        i["recipient"]
        for i in sandbox.invitations()
        if i["event_id"] == meeting["calendar_event_id"] and i["kind"] == "invite"
    }
    assert invited >= {"alice@example.org", "bob@example.net"}

    with api.sessions() as session:
        actions = [e.action for e in events_for(session, "meeting", meeting["id"])]
        stored = session.get(Meeting, meeting["id"])
        assert stored.status == "scheduled" and stored.provisioning_attempts == 1
    assert actions == ["meeting.created", "meeting.provisioned"]


def test_created_audit_event_names_client_key_and_request(
    api: Api, keys: Keys, xoma: httpx.Client
) -> None:
    response = xoma.post(
        "/api/v1/meetings", json=meeting_body(), headers={"X-Request-ID": "xoma-trace-0001"}
    )
    assert response.headers["x-request-id"] == "xoma-trace-0001"
    with api.sessions() as session:
        created = events_for(session, "meeting", response.json()["id"])[0]
    assert created.actor == f"api_key:{keys.service_key_id}"
    assert (
        created.payload["client"] == keys.client
        and created.payload["key_id"] == keys.service_key_id
    )
    assert (
        created.payload["request_id"] == "xoma-trace-0001"
        and created.payload["outcome"] == "pending"
    )


def test_duplicate_external_id_is_409_and_writes_nothing(api: Api, xoma: httpx.Client) -> None:
    body = meeting_body()
    first = xoma.post("/api/v1/meetings", json=body).json()
    before = row_counts(api.sessions)
    problem = assert_problem(xoma.post("/api/v1/meetings", json={**body, "title": "Other"}), 409)
    assert problem["meeting_id"] == first["id"]
    assert row_counts(api.sessions) == before


def test_idempotent_repeat_replays_the_first_answer(
    api: Api, xoma: httpx.Client, sandbox: SandboxClient
) -> None:
    body, key = meeting_body(), f"idem-{uuid.uuid4()}"
    first = xoma.post("/api/v1/meetings", json=body, headers={"Idempotency-Key": key})
    inserts = google_counts(sandbox).inserts
    # Same body, other key order and spacing: the same request.
    reordered = httpx.Request("POST", "/", json=dict(reversed(list(body.items())))).content
    again = xoma.post(
        "/api/v1/meetings",
        content=reordered,
        headers={"Idempotency-Key": key, "Content-Type": "application/json"},
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert google_counts(sandbox).inserts == inserts  # nothing new at Google

    before = row_counts(api.sessions)
    problem = assert_problem(
        xoma.post(
            "/api/v1/meetings", json={**body, "title": "Changed"}, headers={"Idempotency-Key": key}
        ),
        422,
    )
    assert problem["type"].endswith("idempotency-key-reused")
    assert row_counts(api.sessions) == before


def test_idempotency_keys_are_per_client(api: Api, keys: Keys) -> None:
    key = f"shared-{uuid.uuid4()}"
    with api.client(keys.service) as xoma, api.client(keys.admin) as ops:
        a = xoma.post("/api/v1/meetings", json=meeting_body(), headers={"Idempotency-Key": key})
        b = ops.post("/api/v1/meetings", json=meeting_body(), headers={"Idempotency-Key": key})
    assert a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]


def test_expired_idempotency_record_frees_the_key(api: Api, xoma: httpx.Client) -> None:
    key = f"old-{uuid.uuid4()}"
    first = xoma.post(
        "/api/v1/meetings", json=meeting_body(), headers={"Idempotency-Key": key}
    ).json()
    with api.sessions.begin() as session:
        record = session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == key))
        record.expires_at = record.created_at  # as if idempotency_ttl_hours had passed
    fresh = xoma.post("/api/v1/meetings", json=meeting_body(), headers={"Idempotency-Key": key})
    assert fresh.status_code == 201 and fresh.json()["id"] != first["id"]
    assert "idempotent-replayed" not in fresh.headers


def test_fifty_concurrent_posts_with_one_key_make_one_meeting(
    api: Api, keys: Keys, sandbox: SandboxClient
) -> None:
    body, key = meeting_body(), f"burst-{uuid.uuid4()}"
    before = google_counts(sandbox)

    def post(_: int) -> httpx.Response:
        with api.client(keys.service) as client:
            return client.post("/api/v1/meetings", json=body, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(post, range(50)))

    assert {r.status_code for r in responses} == {201}, [r.text for r in responses if r.status_code != 201][:2]
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1
    meeting_id = ids.pop()
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 49
    with api.sessions() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(Meeting)
                .where(Meeting.external_id == body["external_id"])
            )
            == 1
        )
    after = google_counts(sandbox, event_id_for(meeting_id))
    assert after.events == 1
    assert after.spaces - before.spaces == 1
    assert after.inserts - before.inserts == 1


def _created_event_payloads(api: Api, meeting_id: str) -> list[dict[str, Any]]:
    with api.sessions() as session:
        return [e.payload for e in events_for(session, "meeting", meeting_id)]


def test_admin_creates_for_its_own_client(api: Api, keys: Keys) -> None:
    with api.client(keys.admin) as ops:
        created = ops.post("/api/v1/meetings", json=meeting_body())
    assert created.status_code == 201
    assert _created_event_payloads(api, created.json()["id"])[0]["role"] == "admin"
    with api.client(keys.service) as xoma:  # another client's meeting
        assert_problem(xoma.get(f"/api/v1/meetings/{created.json()['id']}"), 404)
