"""GET /api/v1/search and /api/v1/matters on a real server, on both engines: roles, answers,
and garbage input (400/404/409/422 problems, nothing written)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from meet_api.app import create_app
from meet_api.config import ApiConfig
from meet_api.server import BackgroundServer
from meet_core.archive.lock import read_legal_hold
from meet_core.db.models import AuditEvent, Matter, MatterMeeting
from meet_sandbox.s3 import EmbeddedS3
from tests.api.conftest import Keys, api_settings, assert_problem, make_keys
from tests.legal.conftest import LegalWorld


@pytest.fixture
def server(
    legal: LegalWorld, fresh_database_url: str, google_env: dict[str, str], s3_server: EmbeddedS3, tmp_path: Path
) -> Iterator[tuple[str, Keys]]:
    settings = api_settings(google_env, fresh_database_url, tmp_path, s3_server.endpoint_url)
    app = create_app(settings, config=ApiConfig(rate_limit_per_minute=1_000_000))
    keys = make_keys(legal.sessions)
    with BackgroundServer(app) as running:
        yield running.base_url, keys


def _client(base_url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def _counts(legal: LegalWorld) -> tuple[int, int, int]:
    with legal.sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(m)) or 0  # type: ignore[return-value]
                     for m in (Matter, MatterMeeting, AuditEvent))


def test_search_route_answers_auditors_and_admins_only(legal: LegalWorld, server: tuple[str, Keys]) -> None:
    base_url, keys = server
    meeting = legal.archived_meeting("api-1", "2026-06-01", ["the board approved the acquisition"],
                                     attendees=("guest@partner.test",))
    for role in ("auditor", "admin"):
        with _client(base_url, keys.of(role)) as client:
            answer = client.get("/api/v1/search", params={"text": '"approved the acquisition"'})
            assert answer.status_code == 200, answer.text
            [item] = answer.json()["items"]
            assert item["meeting"]["id"] == meeting
            assert item["documents"][0]["lines"][0]["text"] == "the board approved the acquisition"
            assert item["documents"][0]["object"]["uri"].startswith("s3://")
            assert item["recordings_url"] == f"/api/v1/meetings/{meeting}/recordings"
            by_attendee = client.get("/api/v1/search", params={"participant": "guest@partner.test"})
            assert [i["meeting"]["id"] for i in by_attendee.json()["items"]] == [meeting]
    with _client(base_url, keys.service) as client:
        assert_problem(client.get("/api/v1/search", params={"text": "board"}), 403)
    assert_problem(httpx.get(f"{base_url}/api/v1/search", params={"text": "board"}), 401)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"text": '""'},
        {"participant": "nope"},
        {"start_from": "yesterday"},
        {"start_from": "2026-01-02", "start_to": "2026-01-01"},
        {"compliance_status": "fine"},
        {"limit": "0"},
        {"limit": "abc"},
        {"text": "x" * 501},
        {"colour": "red"},
        {"text": "a\x00b"},
    ],
)
def test_search_route_refuses_garbage(server: tuple[str, Keys], params: dict[str, str]) -> None:
    base_url, keys = server
    with _client(base_url, keys.auditor) as client:
        assert_problem(client.get("/api/v1/search", params=params), 400)


def test_matter_routes_open_add_hold_release(legal: LegalWorld, server: tuple[str, Keys]) -> None:
    base_url, keys = server
    meeting = legal.archived_meeting("api-2", "2026-06-02", ["price fixing was discussed"])
    with _client(base_url, keys.admin) as admin, _client(base_url, keys.auditor) as auditor:
        created = admin.post("/api/v1/matters", json={"name": "Regulator 7", "description": "inquiry"})
        assert created.status_code == 201, created.text
        assert_problem(auditor.post("/api/v1/matters", json={"name": "Nope"}), 403)
        added = admin.post("/api/v1/matters/Regulator 7/meetings", json={"search": {"text": "price fixing"}})
        assert added.status_code == 200 and added.json()["added"] == [meeting], added.text
        held = admin.post("/api/v1/matters/Regulator 7/hold")
        assert held.status_code == 200 and held.json()["newly_held"] == 2, held.text
        detail = auditor.get("/api/v1/matters/Regulator 7").json()["matter"]
        assert detail["state"] == "held" and detail["objects_held"] == 2
        for obj in detail["meetings"][0]["objects"]:
            bucket, key = obj["uri"].removeprefix("s3://").split("/", 1)
            assert read_legal_hold(legal.s3, bucket, key, obj["version_id"])
        assert [m["name"] for m in auditor.get("/api/v1/matters").json()["items"]] == ["Regulator 7"]
        released = admin.post("/api/v1/matters/1/release", json={"by": "Ann Officer", "note": "closed"})
        assert released.status_code == 200 and released.json()["released"] == 2, released.text
    with legal.sessions() as session:
        opened = session.scalars(select(AuditEvent).where(AuditEvent.action == "matter.opened")).one()
        assert opened.actor.startswith("api_key:")


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "/api/v1/matters", {"name": ""}, 422),
        ("post", "/api/v1/matters", {"name": "x", "colour": "red"}, 422),
        ("post", "/api/v1/matters", {"name": "a\x01b"}, 422),
        ("post", "/api/v1/matters", {"name": 5}, 422),
        ("post", "/api/v1/matters", "not json", 400),
        ("post", "/api/v1/matters/Existing/meetings", {}, 422),
        ("post", "/api/v1/matters/Existing/meetings", {"meeting_ids": ["no-such"]}, 422),
        ("post", "/api/v1/matters/Existing/meetings", {"meeting_ids": []}, 422),
        ("post", "/api/v1/matters/Existing/meetings", {"search": {}}, 422),
        ("post", "/api/v1/matters/Existing/meetings", {"search": {"participant": "bad"}}, 400),
        ("post", "/api/v1/matters/Existing/meetings", {"search": {"shoe": "x"}}, 422),
        ("post", "/api/v1/matters/Nothing/meetings", {"meeting_ids": ["x"]}, 404),
        ("post", "/api/v1/matters/Existing/release", {"by": "A", "note": "n"}, 409),
        ("post", "/api/v1/matters/Existing/release", {"by": "", "note": "n"}, 422),
        ("post", "/api/v1/matters/Existing/release", {"by": "A"}, 422),
        ("post", "/api/v1/matters/Nothing/hold", None, 404),
        ("get", "/api/v1/matters/Nothing", None, 404),
    ],
)
def test_matter_routes_refuse_garbage_and_write_nothing(
    legal: LegalWorld, server: tuple[str, Keys], method: str, path: str, body: object, status: int
) -> None:
    base_url, keys = server
    with _client(base_url, keys.admin) as admin:
        assert admin.post("/api/v1/matters", json={"name": "Existing"}).status_code == 201
        before = _counts(legal)
        if isinstance(body, str):
            answer = admin.request(method, path, content=body, headers={"Content-Type": "application/json"})
        elif body is None:
            answer = admin.request(method, path)
        else:
            answer = admin.request(method, path, json=body)
        assert_problem(answer, status)
        assert _counts(legal) == before
