"""Two `meet-archive api` processes on one PostgreSQL database act as one API (issue 15):
the rate limit is exact across them, and 50 concurrent creates with one Idempotency-Key,
split over both, make one meeting, one Calendar event and one Meet space.

The second process runs with ``--workers 2`` (uvicorn's supervisor and two worker
processes built by the app factory), so three server processes share the database."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.apikeys import create_key
from meet_core.audit import verify_chain
from meet_core.db import make_engine, make_session_factory
from meet_core.db.migrate import upgrade
from meet_core.db.models import IdempotencyRecord, Meeting
from meet_sandbox.children import ChildProcesses, free_port
from meet_sandbox.emulator import EmulatorServer, SandboxClient
from tests.databases import ENGINES, temporary_database

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RATE_LIMIT = 60

pytestmark = pytest.mark.skipif("postgresql" not in ENGINES, reason="PostgreSQL half disabled")


@dataclass(frozen=True)
class Stack:
    urls: tuple[str, str]
    sessions: sessionmaker[Session]
    sandbox: SandboxClient

    def new_key(self, name: str) -> str:
        with self.sessions.begin() as session:
            return create_key(session, name=name, role="service", client="xoma").plaintext


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("two-api")
    with (
        temporary_database("postgresql", tmp) as url,
        EmulatorServer(organizer_domain="example.com") as emulator,
    ):
        upgrade(url)
        account = emulator.create_service_account(tmp / "sa.json")
        ports = (free_port(), free_port())
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("MEET_", "DAGSTER_"))},
            "MEET_HOME": str(tmp / "home"),
            "MEET_DATABASE_URL": url,
            "MEET_GOOGLE_ENDPOINT": emulator.base_url,
            "GOOGLE_APPLICATION_CREDENTIALS": str(account),
            "MEET_GOOGLE_SUBJECT": "organizer@example.com",
            "MEET_API_RATE_LIMIT": str(RATE_LIMIT),
        }
        engine = make_engine(url)
        try:
            with ChildProcesses(env, tmp, ROOT) as children:
                children.spawn("api-1", str(BIN / "meet-archive"), "api", "--host", "127.0.0.1",
                               "--port", str(ports[0]))
                children.spawn("api-2", str(BIN / "meet-archive"), "api", "--host", "127.0.0.1",
                               "--port", str(ports[1]), "--workers", "2")
                urls = (f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}")
                for i, base in enumerate(urls):
                    children.wait_http(base + "/health/ready", f"api-{i + 1}", timeout=120)
                yield Stack(urls, make_session_factory(engine), SandboxClient(emulator.base_url))
                assert children.all_alive(), "an API process died during the test"
        finally:
            engine.dispose()


def test_rate_limit_is_exact_across_processes(stack: Stack) -> None:
    """150 requests of one key within one window, alternating between the processes (ten
    at a time): exactly 60 are served, each with its own RateLimit-Remaining, 90 refused."""
    auth = {"Authorization": f"Bearer {stack.new_key('rate-limit')}"}

    def get(i: int) -> httpx.Response:
        with httpx.Client(base_url=stack.urls[i % 2], headers=auth, timeout=30) as client:
            return client.get("/api/v1/meetings", params={"limit": "1"})

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(get, range(150)))
    served = [a for a in answers if 200 <= a.status_code < 300]
    refused = [a for a in answers if a.status_code == 429]
    assert (len(served), len(refused)) == (RATE_LIMIT, 150 - RATE_LIMIT), {
        a.status_code for a in answers
    }
    # Every served request saw a different count: no two processes read the same one.
    assert sorted(int(a.headers["ratelimit-remaining"]) for a in served) == list(range(RATE_LIMIT))
    for answer in refused:
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["type"].endswith("rate-limited")
        assert answer.headers["ratelimit-remaining"] == "0"
        assert 1 <= int(answer.headers["retry-after"]) <= 60
    assert {a.headers["ratelimit-policy"] for a in answers} == {f"{RATE_LIMIT};w=60"}
    # Served from both ends.
    assert {a.request.url.port for a in served} == {
        httpx.URL(u).port for u in stack.urls
    }


def _meeting_body() -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    return {
        "external_id": f"XOMA-{uuid.uuid4().hex[:12]}",
        "title": "Board meeting",
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(hours=1)).isoformat(),
        "participants": [{"email": "alice@example.org"}, {"email": "bob@example.net"}],
    }


def test_fifty_concurrent_creates_with_one_key_over_two_processes(stack: Stack) -> None:
    """One Idempotency-Key, 50 concurrent POSTs split over both processes: one meeting
    row, one event, one space, and every answer is that meeting (201; 49 replayed)."""
    auth = {"Authorization": f"Bearer {stack.new_key('idempotency')}"}
    body, key = _meeting_body(), f"burst-{uuid.uuid4()}"
    before = len(stack.sandbox.state()["spaces"])

    def post(i: int) -> httpx.Response:
        with httpx.Client(base_url=stack.urls[i % 2], headers=auth, timeout=120) as client:
            return client.post("/api/v1/meetings", json=body, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(post, range(50)))

    assert {a.status_code for a in answers} == {201}, [a.text for a in answers if a.status_code != 201][:2]
    assert len({a.json()["id"] for a in answers}) == 1
    meeting = answers[0].json()
    assert meeting["status"] == "scheduled" and meeting["space_name"] and meeting["calendar_event_id"]
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 49
    with stack.sessions() as session:
        count = select(func.count()).select_from(Meeting).where(Meeting.external_id == body["external_id"])
        assert session.scalar(count) == 1
        assert session.scalar(select(func.count()).select_from(IdempotencyRecord)
                              .where(IdempotencyRecord.key == key)) == 1
        # The audit chain stayed linear with three processes appending to it.
        report = verify_chain(session)
        assert report.ok, report.describe()
    state = stack.sandbox.state()
    events = [name for name in state["events"] if name.endswith("/" + meeting["calendar_event_id"])]
    assert len(events) == 1
    assert len(state["spaces"]) - before == 1
    inserts = [r for r in stack.sandbox.requests()
               if r["method_id"] == "calendar.events.insert" and r["status"] == 200]
    assert len(inserts) == 1
