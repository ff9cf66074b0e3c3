"""The API on a real uvicorn server (free loopback port), on SQLite and PostgreSQL, talking
to the Google emulator through the real client. Tests keep apart by using a new client
(XOMA-like tenant) each, with its own keys."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from meet_api.app import create_app
from meet_api.config import ApiConfig
from meet_api.server import BackgroundServer
from meet_core.apikeys import create_key
from meet_core.db.models import AuditEvent, IdempotencyRecord, Meeting, Participant
from meet_core.google.gateway import GoogleGateway
from meet_core.google.retry import RetryPolicy
from meet_core.settings import Settings
from meet_sandbox.emulator import SandboxClient
from meet_sandbox.s3.embedded import EmbeddedS3

# Every table a request could write to; "nothing written" means none of these grew.
COUNTED = (Meeting, Participant, AuditEvent, IdempotencyRecord)


@dataclass(frozen=True)
class Api:
    base_url: str
    settings: Settings
    sessions: sessionmaker[Session]
    gateway: GoogleGateway

    def client(self, key: str | None = None, **headers: str) -> httpx.Client:
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)


def api_settings(
    google_env: dict[str, str], database_url: str, home: Path, s3_url: str
) -> Settings:
    return Settings.from_env(
        {
            **google_env,
            "MEET_DATABASE_URL": database_url,
            "MEET_HOME": str(home),
            "MEET_S3_ENDPOINT_URL": s3_url,
            "MEET_S3_BUCKET": "api-test-archive",
        }
    )


@pytest.fixture(scope="session")
def api_gateway(
    google_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> GoogleGateway:
    """The API's gateway: a 1 s retry deadline per call keeps fault tests short."""
    settings = Settings.from_env({**google_env, "MEET_HOME": str(tmp_path_factory.mktemp("gw"))})
    return GoogleGateway(settings, deadline=1.0, retry_policy=RetryPolicy(base=0.02, cap=0.1))


@pytest.fixture(scope="session")
def api(
    database_url: str,
    google_env: dict[str, str],
    api_gateway: GoogleGateway,
    sessions: sessionmaker[Session],
    s3_server: EmbeddedS3,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Api]:
    settings = api_settings(
        google_env, database_url, tmp_path_factory.mktemp("api"), s3_server.endpoint_url
    )
    config = ApiConfig(rate_limit_per_minute=1_000_000, provisioning_deadline_seconds=20)
    with BackgroundServer(create_app(settings, gateway=api_gateway, config=config)) as server:
        yield Api(server.base_url, settings, sessions, api_gateway)


@dataclass(frozen=True)
class Keys:
    client: str
    client_id: str
    admin: str
    service: str
    auditor: str
    service_key_id: str

    def of(self, role: str) -> str:
        return {"admin": self.admin, "service": self.service, "auditor": self.auditor}[role]


def make_keys(sessions: sessionmaker[Session], client: str | None = None) -> Keys:
    client = client or f"xoma-{uuid.uuid4().hex[:10]}"
    with sessions.begin() as session:
        service = create_key(session, name=f"{client}-service", role="service", client=client)
        admin = create_key(session, name=f"{client}-admin", role="admin", client=f"{client}-ops")
        auditor = create_key(
            session, name=f"{client}-auditor", role="auditor", client=f"{client}-audit"
        )
    return Keys(
        client,
        service.client_id,
        admin.plaintext,
        service.plaintext,
        auditor.plaintext,
        service.key_id,
    )


@pytest.fixture
def keys(sessions: sessionmaker[Session]) -> Keys:
    """A fresh client with one key per role (admin and auditor keys belong to other clients)."""
    return make_keys(sessions)


@pytest.fixture
def xoma(api: Api, keys: Keys) -> Iterator[httpx.Client]:
    with api.client(keys.service) as client:
        yield client


def meeting_body(**overrides: Any) -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    body: dict[str, Any] = {
        "external_id": f"XOMA-{uuid.uuid4().hex[:12]}",
        "title": "Quarterly review",
        "description": "Agenda:\n1. numbers",
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(hours=1)).isoformat(),
        "timezone": "Europe/Zurich",
        "participants": [
            {"email": "alice@example.org", "display_name": "Alice"},
            {"email": "bob@example.net"},
        ],
    }
    body.update(overrides)
    return body


def row_counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in COUNTED
        }


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    problem = response.json()
    assert problem["status"] == status
    assert problem["title"] and problem["type"]
    assert problem["request_id"] == response.headers["x-request-id"]
    return problem


@dataclass(frozen=True)
class GoogleCounts:
    events: int
    spaces: int
    inserts: int


def google_counts(sandbox: SandboxClient, event_id: str | None = None) -> GoogleCounts:
    """Events (all, or those with ``event_id``), spaces, and successful events.insert calls."""
    state = sandbox.state()
    events = [key for key in state["events"] if event_id is None or key.endswith("/" + event_id)]
    inserts = [
        r
        for r in sandbox.requests()
        if r["method_id"] == "calendar.events.insert" and r["status"] == 200
    ]
    return GoogleCounts(len(events), len(state["spaces"]), len(inserts))


@pytest.fixture
def create_meeting(xoma: httpx.Client) -> Callable[..., dict[str, Any]]:
    def create(
        expected: int = 201, client: httpx.Client | None = None, **overrides: Any
    ) -> dict[str, Any]:
        response = (client or xoma).post("/api/v1/meetings", json=meeting_body(**overrides))
        assert response.status_code == expected, response.text
        return response.json()

    return create


def insert_pending(sessions: sessionmaker[Session], client_id: str, **overrides: Any) -> str:
    """A stored, not yet provisioned meeting (as POST leaves it before Google answers)."""
    start = datetime.now(UTC) + timedelta(days=3)
    fields: dict[str, Any] = dict(
        client_id=client_id,
        external_id=f"DB-{uuid.uuid4().hex[:12]}",
        title="Stored",
        start_time=start,
        end_time=start + timedelta(hours=1),
        timezone="UTC",
        organizer_email="organizer@example.com",
        status="pending",
        participants=[Participant(email="carol@example.org", role="guest")],
        next_attempt_at=datetime.now(UTC) + timedelta(hours=1),  # keeps retry_pending away from it
    )
    fields.update(overrides)
    with sessions.begin() as session:
        meeting = Meeting(**fields)
        session.add(meeting)
        session.flush()
        return meeting.id
