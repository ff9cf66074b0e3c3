"""Authentication, roles and the per-key rate limit."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from meet_api.app import create_app
from meet_api.config import ApiConfig
from meet_api.server import BackgroundServer
from meet_core.apikeys import LAST_USED_RESOLUTION, revoke_key
from meet_core.db import make_engine, make_session_factory
from meet_core.db.migrate import upgrade
from meet_core.db.models import ApiKey, AuditEvent
from meet_core.db.types import utcnow
from tests.api.conftest import (
    Api,
    Keys,
    api_settings,
    assert_problem,
    insert_pending,
    make_keys,
    meeting_body,
    row_counts,
)

PROTECTED = "/api/v1/meetings"


def _auth_events(sessions: sessionmaker[Session], after: int) -> list[AuditEvent]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.seq > after, AuditEvent.action == "auth.failed")
            )
        )


def _last_seq(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)) or 0


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "missing"),
        ("Basic dXNlcjpwYXNz", "malformed"),
        ("Bearer", "malformed"),  # no token after the scheme
        ("Bearer not-a-key", "malformed"),
        ("Bearer mka_aaaaaaaaaaaaaaaa_" + "A" * 43, "unknown_or_revoked"),
        ("bearer mka_" + "!" * 16 + "_x", "malformed"),
    ],
)
def test_bad_credentials_are_401_problems_and_audited(
    api: Api, authorization: str | None, reason: str
) -> None:
    before = _last_seq(api.sessions)
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = httpx.get(api.base_url + PROTECTED, headers=headers)
    problem = assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "mka_" not in response.text
    events = _auth_events(api.sessions, before)
    assert len(events) == 1
    assert events[0].payload["reason"] == reason
    assert events[0].payload["request_id"] == problem["request_id"]
    assert events[0].payload["outcome"] == "unauthenticated"


def test_wrong_secret_for_a_real_key_id_is_401_and_audited_with_the_key_id(
    api: Api, keys: Keys
) -> None:
    before = _last_seq(api.sessions)
    forged = keys.service[:-5] + ("AAAAA" if not keys.service.endswith("AAAAA") else "BBBBB")
    assert_problem(
        httpx.get(api.base_url + PROTECTED, headers={"Authorization": f"Bearer {forged}"}), 401
    )
    [event] = _auth_events(api.sessions, before)
    assert event.entity_id == keys.service_key_id and event.payload["key_id"] == keys.service_key_id
    assert forged.split("_", 2)[2] not in str(
        event.payload
    )  # the secret never reaches the audit log


def test_revoked_key_is_refused_and_last_use_is_recorded(api: Api, keys: Keys) -> None:
    with api.client(keys.service) as client:
        assert client.get(PROTECTED).status_code == 200
        with api.sessions() as session:
            assert session.get(ApiKey, keys.service_key_id).last_used_at is not None
        with api.sessions.begin() as session:
            revoke_key(session, keys.service_key_id)
        assert_problem(client.get(PROTECTED), 401)


def test_last_use_is_written_only_when_older_than_its_resolution(api: Api, keys: Keys) -> None:
    """Reads do not write: last_used_at moves only once it is LAST_USED_RESOLUTION old."""

    def set_last_used(value: Any) -> None:
        with api.sessions.begin() as session:
            session.get(ApiKey, keys.service_key_id).last_used_at = value

    def last_used() -> Any:
        with api.sessions() as session:
            return session.get(ApiKey, keys.service_key_id).last_used_at

    recent = utcnow() - LAST_USED_RESOLUTION / 2
    stale = utcnow() - LAST_USED_RESOLUTION - timedelta(seconds=5)
    with api.client(keys.service) as client:
        set_last_used(recent)
        assert client.get(PROTECTED).status_code == 200
        assert last_used() == recent  # still within the resolution: not written
        set_last_used(stale)
        assert client.get(PROTECTED).status_code == 200
        assert last_used() > stale + LAST_USED_RESOLUTION  # written with the time of this use
        set_last_used(None)
        assert client.get(PROTECTED).status_code == 200
        assert last_used() is not None


def test_service_key_cannot_see_another_clients_meeting(api: Api, keys: Keys) -> None:
    other = make_keys(api.sessions)
    meeting_id = insert_pending(api.sessions, other.client_id)
    with api.client(keys.service) as client:
        for path in ("", "/participants", "/recordings"):
            assert_problem(client.get(f"{PROTECTED}/{meeting_id}{path}"), 404)
        assert_problem(client.delete(f"{PROTECTED}/{meeting_id}"), 404)
        assert_problem(
            client.patch(
                f"{PROTECTED}/{meeting_id}", json={"title": "x"}, headers={"If-Match": '"1"'}
            ),
            404,
        )
        assert meeting_id not in {
            m["id"] for m in client.get(PROTECTED, params={"limit": 200}).json()["items"]
        }
    with api.client(keys.admin) as client:
        assert client.get(f"{PROTECTED}/{meeting_id}").status_code == 200


# ----- every role against every route ------------------------------------------------------------

ROLES = ("admin", "service", "auditor", "anonymous")
# route -> expected status per role (admin, service, auditor, anonymous)
MATRIX: dict[str, tuple[int, int, int, int]] = {
    "POST /api/v1/meetings": (201, 201, 403, 401),
    "GET /api/v1/meetings": (200, 200, 200, 401),
    "GET /api/v1/meetings/{id}": (200, 200, 200, 401),
    "PATCH /api/v1/meetings/{id}": (200, 200, 403, 401),
    "DELETE /api/v1/meetings/{id}": (200, 200, 403, 401),
    "GET /api/v1/meetings/{id}/participants": (200, 200, 200, 401),
    "GET /api/v1/meetings/{id}/recordings": (200, 200, 200, 401),
    "GET /api/v1/meetings/{id}/recordings?presign=true": (200, 403, 200, 401),
    "GET /api/v1/meetings/{id}/audit": (200, 403, 200, 401),
    "GET /metrics": (200, 403, 403, 401),
    "GET /health/live": (200, 200, 200, 200),
    "GET /health/ready": (200, 200, 200, 200),
    "GET /schema/openapi.json": (200, 200, 200, 200),
}
CASES = [
    (route, role, statuses[i]) for route, statuses in MATRIX.items() for i, role in enumerate(ROLES)
]


def _request(client: httpx.Client, route: str, meeting_id: str) -> httpx.Response:
    method, path = route.split(" ", 1)
    path = path.replace("{id}", meeting_id)
    body: Any = None
    headers: dict[str, str] = {}
    if method == "POST":
        body = meeting_body()
    elif method == "PATCH":
        body, headers = {"title": "Renamed"}, {"If-Match": '"1"'}
    return client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(
    ("route", "role", "expected"), CASES, ids=[f"{r}-{o}" for r, o, _ in CASES]
)
def test_role_matrix(api: Api, keys: Keys, route: str, role: str, expected: int) -> None:
    # A stored meeting of the service key's client (pending: PATCH and DELETE need no Google call).
    meeting_id = insert_pending(api.sessions, keys.client_id)
    key = None if role == "anonymous" else keys.of(role)
    with api.client(key) as client:
        response = _request(client, route, meeting_id)
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert_problem(response, expected)


def test_forbidden_is_audited(api: Api, keys: Keys) -> None:
    before = _last_seq(api.sessions)
    with api.client(keys.auditor) as client:
        assert_problem(client.post(PROTECTED, json=meeting_body()), 403)
    with api.sessions() as session:
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > before, AuditEvent.action == "auth.forbidden")
        ).all()
    assert event.payload["role"] == "auditor" and event.payload["outcome"] == "forbidden"


# ----- rate limit -----------------------------------------------------------------------


def test_rate_limit_headers_and_429(api: Api, keys: Keys, api_gateway: Any) -> None:
    config = ApiConfig(rate_limit_per_minute=3, rate_limit_window_seconds=3600)
    with BackgroundServer(create_app(api.settings, gateway=api_gateway, config=config)) as server:
        with httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {keys.service}"}
        ) as client:
            remaining = [
                int(client.get(PROTECTED).headers["ratelimit-remaining"]) for _ in range(3)
            ]
            assert remaining == [2, 1, 0]
            refused = client.get(PROTECTED)
            problem = assert_problem(refused, 429)
            assert problem["type"].endswith("rate-limited")
            assert int(refused.headers["retry-after"]) > 0
            assert refused.headers["ratelimit-limit"] == "3"
            assert refused.headers["ratelimit-remaining"] == "0"
        # The limit is per key: another key of the same client still has its own budget.
        with httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {keys.admin}"}
        ) as admin:
            ok = admin.get(PROTECTED)
            assert ok.status_code == 200 and ok.headers["ratelimit-remaining"] == "2"


def test_a_wrong_secret_uses_up_none_of_the_keys_allowance(api: Api, keys: Keys, api_gateway: Any) -> None:
    """The key id is public (logs, audit events): someone who knows it but not the secret
    must not be able to exhaust the key's rate limit."""
    config = ApiConfig(rate_limit_per_minute=3, rate_limit_window_seconds=3600)
    forged = keys.service[:-5] + ("AAAAA" if not keys.service.endswith("AAAAA") else "BBBBB")
    with BackgroundServer(create_app(api.settings, gateway=api_gateway, config=config)) as server:
        for _ in range(5):
            refused = httpx.get(server.base_url + PROTECTED, headers={"Authorization": f"Bearer {forged}"})
            assert_problem(refused, 401)
            assert "ratelimit-remaining" not in refused.headers
        ok = httpx.get(server.base_url + PROTECTED, headers={"Authorization": f"Bearer {keys.service}"})
        assert ok.status_code == 200 and ok.headers["ratelimit-remaining"] == "2"


def test_rate_limit_is_shared_by_two_apps_on_one_database(
    api: Api, keys: Keys, api_gateway: Any
) -> None:
    """Two apps (own engines and pools, as two processes have) count one key together; a
    key's window opens with its first request and a new one starts once it is over."""
    config = ApiConfig(rate_limit_per_minute=5, rate_limit_window_seconds=4)
    auth = {"Authorization": f"Bearer {keys.service}"}
    with (
        BackgroundServer(create_app(api.settings, gateway=api_gateway, config=config)) as one,
        BackgroundServer(create_app(api.settings, gateway=api_gateway, config=config)) as two,
        httpx.Client(headers=auth, timeout=30) as client,
    ):
        servers = [one.base_url, two.base_url]
        answers = [client.get(servers[i % 2] + PROTECTED) for i in range(9)]
        assert [a.status_code for a in answers] == [200] * 5 + [429] * 4
        assert [a.headers["ratelimit-remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
        assert {a.headers["ratelimit-policy"] for a in answers} == {"5;w=4"}
        assert all(1 <= int(a.headers["retry-after"]) <= 4 for a in answers[5:])
        time.sleep(int(answers[-1].headers["retry-after"]) + 0.2)
        again = client.get(two.base_url + PROTECTED)
        assert again.status_code == 200 and again.headers["ratelimit-remaining"] == "4"


@pytest.fixture
def own_url(empty_database_url: str) -> str:
    upgrade(empty_database_url)
    return empty_database_url


def test_rate_limit_store_down_fails_closed(
    own_url: str, google_env: dict[str, str], api_gateway: Any, tmp_path: Path
) -> None:
    """The count cannot be kept (here: its table is gone): 503 with Retry-After, as for any
    database outage, and the key lookup's transaction is rolled back with it."""
    engine = make_engine(own_url)
    try:
        sessions = make_session_factory(engine)
        keys = make_keys(sessions)
        settings = api_settings(google_env, own_url, tmp_path, "http://127.0.0.1:9")
        app = create_app(settings, gateway=api_gateway, config=ApiConfig(rate_limit_per_minute=10))
        with BackgroundServer(app) as server, httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {keys.service}"}
        ) as client:
            assert client.get(PROTECTED).headers["ratelimit-remaining"] == "9"
            with engine.begin() as conn:
                conn.execute(update(ApiKey).values(last_used_at=None))
                conn.execute(text("DROP TABLE api_rate_windows"))
            before = row_counts(sessions)
            refused = client.get(PROTECTED)
            problem = assert_problem(refused, 503)
            assert problem["type"].endswith("rate-limit-unavailable")
            assert refused.headers["retry-after"] == "5" and "ratelimit-limit" not in refused.headers
            posted = client.post("/api/v1/meetings", json=meeting_body(),
                                 headers={"Idempotency-Key": "store-down-1"})
            assert_problem(posted, 503)
            assert row_counts(sessions) == before  # nothing written, not even last_used_at
            with sessions() as session:
                assert session.scalars(select(ApiKey.last_used_at)).all() == [None, None, None]
            metrics = httpx.get(server.base_url + "/metrics",
                                headers={"Authorization": f"Bearer {keys.admin}"})
            assert metrics.status_code == 503  # the admin is refused the same way
    finally:
        engine.dispose()
