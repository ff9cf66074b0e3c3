"""Load with faults on the API: 8 clients × 15 requests (creates, idempotent repeats,
updates, cancels) at once while Google fails intermittently (every fault kind at 30 %, and
a full Calendar + Meet outage in the middle phase). Every request is answered (2xx or a
problem document, never a bare 500); afterwards ``retry_pending`` schedules every accepted
meeting that was not cancelled; nothing is duplicated (one meeting per external id, one
Calendar event and one Meet space per meeting in the emulator).

Runs on SQLite and PostgreSQL, each with a database of its own (``retry_pending`` takes
every due meeting of its database).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_api.app import create_app
from meet_api.config import ApiConfig
from meet_api.server import BackgroundServer
from meet_core.apikeys import create_key
from meet_core.db.models import Meeting
from meet_core.google.gateway import GoogleGateway
from meet_core.google.retry import RetryPolicy
from meet_core.provisioning import event_id_for, retry_pending
from meet_core.settings import Settings
from meet_sandbox.emulator import SandboxClient

CLIENTS = 8
TENANTS = 2
ALL_KINDS = ["429", "500", "503", "403_rate", "reset", "slow", "truncate"]
OK = {200, 201, 202, 204}


@dataclass
class Record:
    """What one client thread sent and saw."""

    answers: list[tuple[str, int, bool, str]] = field(default_factory=list)
    accepted: dict[str, str] = field(default_factory=dict)  # external id -> meeting id
    repeats: list[tuple[str, str]] = field(default_factory=list)  # (first id, repeat id)
    versions: dict[str, int] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)


@pytest.fixture
def load_api(
    fresh_database_url: str, google_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[str, GoogleGateway]]:
    settings = Settings.from_env(
        {**google_env, "MEET_DATABASE_URL": fresh_database_url, "MEET_HOME": str(tmp_path),
         "MEET_S3_ENDPOINT_URL": "http://127.0.0.1:9", "MEET_S3_BUCKET": "unused"}
    )
    gateway = GoogleGateway(settings, deadline=1.0, retry_policy=RetryPolicy(base=0.02, cap=0.1))
    config = ApiConfig(rate_limit_per_minute=1_000_000, provisioning_deadline_seconds=2)
    with BackgroundServer(create_app(settings, gateway=gateway, config=config)) as server:
        yield server.base_url, gateway


def body(external_id: str) -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    return {
        "external_id": external_id,
        "title": "Load",
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(hours=1)).isoformat(),
        "participants": [{"email": "alice@example.org"}],
    }


class Client:
    """One XOMA client thread: 15 requests in three phases (the middle one in an outage)."""

    def __init__(self, base_url: str, key: str, number: int) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=120
        )
        self.number, self.record = number, Record()
        self.meetings: list[str] = []
        self.bodies: dict[str, dict[str, Any]] = {}

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        problem = response.headers.get("content-type", "").startswith("application/problem+json")
        self.record.answers.append(
            (method, response.status_code, problem, response.text[:200] if not problem else "")
        )
        if response.status_code in OK and response.content and method != "DELETE":
            meeting = response.json()
            self.record.versions[meeting["id"]] = meeting["version"]
        return response

    def create(self, key: str | None = None) -> str | None:
        external_id = key or f"LOAD-{self.number}-{uuid.uuid4().hex[:10]}"
        sent = self.bodies.setdefault(external_id, body(external_id))  # a repeat: same body
        response = self.send("POST", "/api/v1/meetings", json=sent,
                             headers={"Idempotency-Key": external_id})
        if response.status_code not in (201, 202):
            return None
        meeting_id = str(response.json()["id"])
        if key is None:
            self.record.accepted[external_id] = meeting_id
            self.meetings.append(meeting_id)
        return meeting_id

    def repeat(self) -> None:
        external_id, first = next(iter(self.record.accepted.items()))
        again = self.create(external_id)
        self.record.repeats.append((first, again or str(self.record.answers[-1])))

    def update(self, index: int) -> None:
        meeting_id = self.meetings[index % len(self.meetings)]
        version = self.record.versions.get(meeting_id, 1)
        self.send("PATCH", f"/api/v1/meetings/{meeting_id}",
                  json={"title": f"Load, edit {len(self.record.answers)}"},
                  headers={"If-Match": f'"{version}"'})

    def cancel(self, index: int) -> None:
        meeting_id = self.meetings[index % len(self.meetings)]
        if 200 <= self.send("DELETE", f"/api/v1/meetings/{meeting_id}").status_code < 300:
            self.record.cancelled.add(meeting_id)

    def run(self, phases: list[threading.Barrier]) -> None:
        try:
            # A: random faults
            for _ in range(3):
                self.create()
            self.repeat()
            self.update(0)
            phases[0].wait()
            # B: Google is down (creates answered 202, Google-bound edits 503)
            self.create()
            self.create()
            self.update(1)
            self.cancel(2)
            self.update(3)
            phases[1].wait()
            # C: random faults again
            self.create()
            self.update(1)
            self.cancel(2)
            self.cancel(4)
            self.update(5)
        except BaseException:
            for barrier in phases:
                barrier.abort()
            raise
        finally:
            self.http.close()


def test_concurrent_creates_updates_and_cancels_while_google_fails(
    load_api: tuple[str, GoogleGateway],
    fresh_sessions: sessionmaker[Session],
    sandbox: SandboxClient,
) -> None:
    base_url, gateway = load_api
    with fresh_sessions.begin() as session:
        keys = [
            create_key(session, name=f"load-{n}", role="service", client=f"load-{uuid.uuid4().hex[:8]}").plaintext
            for n in range(TENANTS)
        ]
    before = sandbox.state()
    random_faults = dict(kinds=ALL_KINDS, mode="random", rate=0.3, seed=3,
                         apis=["calendar", "meet", "token"], retry_after=0, slow_seconds=0.3)
    sandbox.faults(**random_faults)

    def outage_on() -> None:
        sandbox.faults(kinds=["503"], apis=["calendar", "meet"])

    def outage_off() -> None:
        sandbox.clear_faults()
        sandbox.faults(**random_faults)

    phases = [threading.Barrier(CLIENTS, action=outage_on), threading.Barrier(CLIENTS, action=outage_off)]
    clients = [Client(base_url, keys[n % TENANTS], n) for n in range(CLIENTS)]
    errors: list[BaseException] = []

    def run(client: Client) -> None:
        try:
            client.run(phases)
        except BaseException as exc:  # an unanswered request (transport error) ends up here
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    sandbox.clear_faults()
    assert not errors, errors

    answers = [a for c in clients for a in c.record.answers]
    assert len(answers) == CLIENTS * 15
    bad = [a for a in answers if not (a[1] in OK or (a[2] and a[1] != 500))]
    assert not bad, f"answers that are neither 2xx nor a problem document (or a 500): {bad}"
    seen = Counter((a[0], a[1]) for a in answers)
    assert seen[("POST", 202)] >= CLIENTS * 2, seen  # the outage's creates were deferred
    assert seen[("PATCH", 503)] + seen[("DELETE", 503)] > 0, seen  # and Google-bound edits refused

    accepted = {mid for c in clients for mid in c.record.accepted.values()}
    cancelled = {mid for c in clients for mid in c.record.cancelled}
    for client in clients:
        assert all(first == again for first, again in client.record.repeats), client.record.repeats

    # retry_pending (what the provisioning sensor runs) schedules what Google refused;
    # "later" is past any backoff and any claim left by an API worker thread.
    later = datetime.now(UTC) + timedelta(minutes=30)
    for _ in range(10):
        if not retry_pending(fresh_sessions, gateway, now=later, limit=500):
            break
    with fresh_sessions() as session:
        meetings = {m.id: m for m in session.scalars(select(Meeting))}
    assert set(meetings) == accepted  # none lost, none made twice (idempotent repeats)
    assert len({m.external_id for m in meetings.values()}) == len(meetings)
    statuses = {mid: m.status for mid, m in meetings.items()}
    assert {statuses[mid] for mid in cancelled} <= {"cancelled"}
    assert {statuses[mid] for mid in accepted - cancelled} == {"scheduled"}, Counter(statuses.values())

    # Google: one event per meeting, one space per event, nothing that belongs to no meeting.
    after = sandbox.state()
    new_events = Counter(
        key.rsplit("/", 1)[-1] for key in set(after["events"]) - set(before["events"])
    )
    ours = {event_id_for(mid): mid for mid in accepted}
    assert set(new_events) <= set(ours), set(new_events) - set(ours)
    assert all(count == 1 for count in new_events.values())
    assert {event_id_for(mid) for mid in accepted - cancelled} <= set(new_events)
    records = {k.rsplit("/", 1)[-1]: r for k, r in after["events"].items() if k not in before["events"]}
    new_spaces = set(after["spaces"]) - set(before["spaces"])
    event_spaces = [r["space"] for r in records.values()]
    assert len(set(event_spaces)) == len(event_spaces) and set(event_spaces) == new_spaces
    for mid in accepted - cancelled:  # the event is there and carries the last accepted edit
        record = records[event_id_for(mid)]
        assert meetings[mid].space_name == f"spaces/{record['space']}"
        assert record["resource"]["summary"] == meetings[mid].title, mid
    for mid in cancelled:
        record = records.get(event_id_for(mid))
        assert record is None or record["resource"]["status"] == "cancelled", mid
