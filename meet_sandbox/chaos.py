"""The chaos run: meetings through the API and the pipeline while Google fails (every fault
kind the emulator has), S3 fails (the fault proxy between the pipeline and moto) and the
PostgreSQL server is restarted once in the middle of an archive transfer.

Used by ``tests/hardening/test_chaos.py`` (20 meetings) and ``bench/chaos_run.py`` (100).
Everything is real: a private PostgreSQL instance (restartable without touching the
machine's shared cluster), the Google emulator over HTTP with the real Google client, moto
over HTTP behind the fault proxy, the API under uvicorn, the pipeline's own sensors and
assets on a Dagster instance.

:func:`verify` then checks the outcome against the ground truth (the emulator's state and
S3 as it is) and returns every violation found, so one run names all of them.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
from sqlalchemy import func, select

from meet_api.app import create_app
from meet_api.config import ApiConfig
from meet_api.server import BackgroundServer
from meet_core.apikeys import create_key
from meet_core.archive import ensure_bucket
from meet_core.archive.manifest import STALE_CLAIM
from meet_core.archive.transfer import key_for
from meet_core.audit import verify_chain
from meet_core.db.migrate import upgrade
from meet_core.db.models import ArchiveManifestEntry, AuditEvent, Meeting
from meet_core.google.gateway import GoogleGateway
from meet_core.google.retry import RetryPolicy
from meet_core.provisioning import event_id_for
from meet_sandbox.emulator import EmulatorServer, SandboxClient
from meet_sandbox.pipeline_harness import (
    LOCK_MODE,
    ORGANIZER,
    RETENTION_DAYS,
    PipelineHarness,
    make_harness,
)
from meet_sandbox.private_postgres import PrivatePostgres
from meet_sandbox.s3 import EmbeddedS3
from meet_sandbox.s3.initiated import InitiatedProxy

ALL_GOOGLE_KINDS = ["429", "500", "503", "403_rate", "reset", "slow", "truncate"]
ALL_GOOGLE_APIS = ["calendar", "meet", "drive", "token"]
ANN = ("ann@example.com", "Ann Lee")
CARL = ("carl@partner.org", "Carl Partner")
MULTIPART_SIZE = 12 * 2**20
EXPECTED_STATUS = {
    "held": "finished",
    "outage": "finished",  # created while Google is down: 202, provisioned by the sensor
    "multipart": "finished",
    "updated": "finished",
    "no_show": "not_held",
    "cancelled": "cancelled",
}
PLAN = ["held", "outage", "held", "multipart", "updated", "held", "no_show", "cancelled", "held",
        "multipart"]


@dataclass(frozen=True)
class ChaosConfig:
    meetings: int = 20
    google_rate: float = 0.2
    s3_rate: float = 0.1
    seed: int = 8
    clients: int = 4  # API client threads for creates, updates and cancels
    max_rounds: int = 40


@dataclass
class Answer:
    """One HTTP answer of the API as the client saw it."""

    method: str
    status: int
    problem: bool  # application/problem+json
    detail: str = ""

    @property
    def acceptable(self) -> bool:
        return 200 <= self.status < 300 or self.problem


@dataclass
class ChaosReport:
    config: ChaosConfig
    meetings: dict[str, str] = field(default_factory=dict)  # meeting id -> plan label
    external_ids: dict[str, str] = field(default_factory=dict)  # meeting id -> external id
    answers: list[Answer] = field(default_factory=list)
    restart_during: str = ""  # what was going on when PostgreSQL restarted
    restart_seconds: float = 0.0
    rounds: int = 0
    stale_claims_recovered: int = 0
    google_faults: Counter[str] = field(default_factory=Counter)
    google_faults_by_api: Counter[str] = field(default_factory=Counter)
    google_calls: int = 0
    s3_faults: dict[str, int] = field(default_factory=dict)
    s3_requests: int = 0
    objects: int = 0
    bytes: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "meetings": len(self.meetings),
            "plan": dict(Counter(self.meetings.values())),
            "api_answers": dict(Counter(f"{a.method} {a.status}" for a in self.answers)),
            "google_calls": self.google_calls,
            "google_faults": dict(self.google_faults),
            "google_faults_by_api": dict(self.google_faults_by_api),
            "google_fault_share": round(sum(self.google_faults.values()) / max(1, self.google_calls), 3),
            "s3_requests": self.s3_requests,
            "s3_faults": self.s3_faults,
            "s3_fault_share": round(sum(self.s3_faults.values()) / max(1, self.s3_requests), 3),
            "postgres_restart": {"during": self.restart_during, "seconds": round(self.restart_seconds, 2)},
            "settle_rounds": self.rounds,
            "stale_claims_recovered": self.stale_claims_recovered,
            "objects_archived": self.objects,
            "bytes_archived": self.bytes,
            "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
            "violations": len(self.violations),
        }


class ChaosWorld:
    """Every component of the run, started on loopback; ``close()`` stops them all."""

    def __init__(self, folder: Path, config: ChaosConfig) -> None:
        self.config = config
        self.folder = folder
        self.exits = ExitStack()
        try:
            self._start()
        except BaseException:
            self.exits.close()
            raise

    def _start(self) -> None:
        self.pg = self.exits.enter_context(PrivatePostgres("meet_chaos"))
        upgrade(self.pg.url())
        self.emulator = self.exits.enter_context(
            EmulatorServer("127.0.0.1", 0, organizer_domain="example.com")
        )
        self.key_file = self.emulator.create_service_account(self.folder / "sa.json")
        self.people = SandboxClient(self.emulator.base_url)
        self.people.settings(recording_ready_delay_seconds=30.0, transcript_ready_delay_seconds=45.0)
        self.s3 = self.exits.enter_context(EmbeddedS3())
        self.bucket = f"chaos-{uuid.uuid4().hex[:16]}"
        ensure_bucket(self.s3.client(), self.bucket, object_lock=True)
        self.proxy = self.exits.enter_context(
            InitiatedProxy(self.s3.endpoint_url, rate=self.config.s3_rate, seed=self.config.seed,
                       delay_seconds=0.1)
        )
        self.instance = self.exits.enter_context(dg.instance_for_test())
        self.harness: PipelineHarness = make_harness(
            database_url=self.pg.url(),
            emulator_url=self.emulator.base_url,
            key_file=self.key_file,
            people=self.people,
            s3_endpoint=self.proxy.endpoint_url,
            s3_client=self.s3.client(),
            bucket=self.bucket,
            instance=self.instance,
            home=self.folder,
            env={"MEET_ARCHIVE_MAX_TRANSFERS": "3"},
            google={"deadline_seconds": 20},
        )
        self.exits.callback(self.harness.close)
        settings = self.harness.settings
        gateway = GoogleGateway(settings, deadline=2.0, retry_policy=RetryPolicy(base=0.02, cap=0.2))
        config = ApiConfig(rate_limit_per_minute=1_000_000, provisioning_deadline_seconds=10)
        self.api = self.exits.enter_context(
            BackgroundServer(create_app(settings, gateway=gateway, config=config))
        )
        with self.harness.sessions.begin() as session:
            self.service_key = create_key(
                session, name="chaos-xoma", role="service", client="xoma-chaos"
            ).plaintext

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.api.base_url,
            headers={"Authorization": f"Bearer {self.service_key}"},
            timeout=120,
        )

    def google_faults_on(self) -> None:
        # Tokens are few (cached for an hour): make sure the token endpoint fails too.
        self.people.faults(kinds=["503", "reset"], apis=["token"], count=2)
        self.people.faults(
            kinds=ALL_GOOGLE_KINDS,
            mode="random",
            rate=self.config.google_rate,
            seed=self.config.seed,
            apis=ALL_GOOGLE_APIS,
            retry_after=0,
            slow_seconds=0.2,
        )

    def close(self) -> None:
        self.exits.close()


# --- the run ----------------------------------------------------------------------------------


def _answer(report: ChaosReport, lock: threading.Lock, method: str, response: httpx.Response) -> None:
    problem = response.headers.get("content-type", "").startswith("application/problem+json")
    detail = response.text[:300] if response.status_code >= 300 else ""
    with lock:
        report.answers.append(Answer(method, response.status_code, problem, detail))


def _body(external_id: str, start: datetime, label: str) -> dict[str, Any]:
    guests = [ANN, CARL] if label in ("multipart", "updated") else [ANN]
    return {
        "external_id": external_id,
        "title": f"Chaos {label}",
        "description": "chaos run",
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(minutes=40)).isoformat(),
        "timezone": "Europe/Zurich",
        "organizer_email": ORGANIZER,
        "participants": [{"email": e, "display_name": n} for e, n in guests],
    }


def _xoma(world: ChaosWorld, report: ChaosReport, start: datetime, index: int) -> None:
    """One meeting's life on the XOMA side: create (with an Idempotency-Key, repeated until
    answered 201/202), then update or cancel it as its plan says; Google 503s are retried."""
    label = PLAN[index % len(PLAN)]
    lock = _LOCK
    external_id = f"CHAOS-{uuid.uuid4().hex[:10]}-{index}"
    with world.client() as api:
        for _ in range(20):
            response = api.post("/api/v1/meetings", json=_body(external_id, start, label),
                                headers={"Idempotency-Key": external_id})
            _answer(report, lock, "POST", response)
            if response.status_code in (201, 202):
                break
        else:
            raise AssertionError(f"create of {external_id} never accepted: {response.text}")
        meeting = response.json()
        with lock:
            report.meetings[meeting["id"]] = label
            report.external_ids[meeting["id"]] = external_id
        if label == "updated":
            for _ in range(30):
                current = api.get(f"/api/v1/meetings/{meeting['id']}")
                _answer(report, lock, "GET", current)
                response = api.patch(
                    f"/api/v1/meetings/{meeting['id']}",
                    json={"title": "Chaos updated (moved)",
                          "end_time": (start + timedelta(minutes=45)).isoformat()},
                    headers={"If-Match": f'"{current.json()["version"]}"'},
                )
                _answer(report, lock, "PATCH", response)
                if response.status_code == 200:
                    break
            else:
                raise AssertionError(f"update of {meeting['id']} never went through: {response.text}")
        if label == "cancelled":
            for _ in range(30):
                response = api.delete(f"/api/v1/meetings/{meeting['id']}")
                _answer(report, lock, "DELETE", response)
                if 200 <= response.status_code < 300:
                    break
            else:
                raise AssertionError(f"cancel of {meeting['id']} never went through: {response.text}")


_LOCK = threading.Lock()


class _Reader(threading.Thread):
    """XOMA reading meetings while the pipeline works (and while PostgreSQL restarts)."""

    def __init__(self, world: ChaosWorld, report: ChaosReport) -> None:
        super().__init__(name="chaos-reader", daemon=True)
        self.world, self.report, self.stop = world, report, threading.Event()

    def run(self) -> None:
        ids = list(self.report.meetings)
        with self.world.client() as api:
            for number in range(100_000):
                if self.stop.is_set():
                    return
                meeting_id = ids[number % len(ids)]
                path = f"/api/v1/meetings/{meeting_id}" + ("/recordings" if number % 2 else "")
                try:
                    response = api.get(path)
                except httpx.HTTPError as exc:  # an unanswered request is a violation
                    with _LOCK:
                        self.report.violations.append(f"GET {path} unanswered: {exc!r}")
                    continue
                _answer(self.report, _LOCK, "GET", response)
                self.stop.wait(0.05)


class _Restarter(threading.Thread):
    """Restarts PostgreSQL once, as soon as S3 shows a multipart upload in progress (the
    middle of a large transfer); ``fire()`` restarts it if that never happened."""

    def __init__(self, world: ChaosWorld, report: ChaosReport) -> None:
        super().__init__(name="chaos-restarter", daemon=True)
        self.world, self.report = world, report
        self.stop, self.done = threading.Event(), threading.Event()
        self.client = world.s3.client()

    def run(self) -> None:
        while not self.stop.is_set():
            uploads = self.client.list_multipart_uploads(Bucket=self.world.bucket).get("Uploads")
            if uploads:
                self.fire(f"multipart upload of {uploads[0]['Key'].rsplit('/', 1)[-1]} in progress")
                return
            self.stop.wait(0.01)

    def fire(self, during: str) -> None:
        if self.done.is_set():
            return
        self.report.restart_during = during
        self.report.restart_seconds = self.world.pg.restart()
        self.done.set()


def _play(world: ChaosWorld, report: ChaosReport) -> None:
    """People hold the meetings: the organizer records, guests come and go."""
    h, p = world.harness, world.people
    with h.sessions() as session:
        spaces = {
            m.id: m.space_name or ""
            for m in session.scalars(select(Meeting).where(Meeting.id.in_(list(report.meetings))))
        }
    held = [mid for mid, label in report.meetings.items() if EXPECTED_STATUS[label] == "finished"]
    for mid in held:
        label = report.meetings[mid]
        extra: dict[str, Any] = {"recording_size_bytes": MULTIPART_SIZE} if label == "multipart" else {}
        p.join(spaces[mid], ORGANIZER, display_name="Olga Organizer", **extra)
        p.join(spaces[mid], ANN[0], display_name=ANN[1])
        if label in ("multipart", "updated"):
            p.join(spaces[mid], CARL[0], display_name=CARL[1])
    h.advance(3)
    h.tick("conference_sensor")
    h.advance(5)
    for mid in held:
        p.end_conference(spaces[mid])
    h.advance(2)
    h.tick("conference_sensor")
    h.advance(int(h.pipeline.window.rejoin_gap.total_seconds() // 60) + 5)


def _stuck_claims(h: PipelineHarness) -> int:
    with h.sessions() as session:
        return session.scalar(
            select(func.count()).where(ArchiveManifestEntry.state == "archiving")
        ) or 0


def _settled(h: PipelineHarness, report: ChaosReport) -> bool:
    with h.sessions() as session:
        statuses = Counter(
            session.scalars(select(Meeting.status).where(Meeting.id.in_(list(report.meetings))))
        )
        open_rows = session.scalar(
            select(func.count()).where(ArchiveManifestEntry.state != "archived")
        )
    return not open_rows and not (set(statuses) - {"finished", "not_held", "cancelled"})


def run_chaos(world: ChaosWorld, report: ChaosReport | None = None) -> ChaosReport:
    config = world.config
    report = report or ChaosReport(config)
    h = world.harness
    clock = time.monotonic()
    world.people.call("DELETE", "requests")
    world.google_faults_on()

    # 1. XOMA asks for the meetings (several clients at once), updates and cancels some.
    start = h.now() + timedelta(minutes=30)
    plan = [PLAN[i % len(PLAN)] for i in range(config.meetings)]
    with ThreadPoolExecutor(max_workers=config.clients) as pool:
        list(pool.map(lambda i: _xoma(world, report, start, i),
                      [i for i, label in enumerate(plan) if label != "outage"]))
        # A Google outage on top of the random faults: these creates are answered 202.
        world.people.faults(kinds=["503"], apis=["calendar", "meet"])
        list(pool.map(lambda i: _xoma(world, report, start, i),
                      [i for i, label in enumerate(plan) if label == "outage"]))
        world.people.clear_faults()
        world.google_faults_on()
    report.seconds["api"] = time.monotonic() - clock

    # 2. The provisioning sensor finishes what Google refused (backoff on the emulated clock).
    clock = time.monotonic()
    for _ in range(config.max_rounds):
        with h.sessions() as session:
            pending = session.scalar(select(func.count()).where(Meeting.status == "pending"))
        if not pending:
            break
        h.advance(2)
        h.tick("provisioning_sensor")
    h.advance(30)  # the meetings start
    report.seconds["provision"] = time.monotonic() - clock

    # 3. The meetings are held; 4. the pipeline archives, and PostgreSQL restarts mid-way.
    clock = time.monotonic()
    _play(world, report)
    reader, restarter = _Reader(world, report), _Restarter(world, report)
    reader.start()
    restarter.start()
    try:
        for number in range(1, config.max_rounds + 1):
            report.rounds = number
            h.tick("provisioning_sensor")
            h.tick("conference_sensor")
            requests = h.archive_ready(raise_on_error=False)
            if restarter.done.is_set() and _settled(h, report):
                break
            if not requests and _stuck_claims(h):
                # A transfer died with its database connection: its claim is stale after
                # STALE_CLAIM, when the next tick takes it again.
                h.advance(STALE_CLAIM.total_seconds() / 60 + 1)
                report.stale_claims_recovered += 1
            else:
                h.advance(2)
            if number >= 2 and not restarter.done.is_set():
                restarter.stop.set()
                restarter.fire("between archive rounds (no multipart upload was seen)")
        else:
            report.violations.append(f"the pipeline did not settle in {config.max_rounds} rounds")
    finally:
        restarter.stop.set()
        reader.stop.set()
        reader.join(30)
        restarter.join(30)
    report.seconds["archive"] = time.monotonic() - clock

    log = world.people.requests()
    report.google_calls = sum(1 for r in log if r["api"] in ALL_GOOGLE_APIS)
    report.google_faults = Counter(r["fault"] for r in log if r.get("fault"))
    report.google_faults_by_api = Counter(r["api"] for r in log if r.get("fault"))
    report.s3_faults, report.s3_requests = world.proxy.counts, sum(world.proxy.requests.values())
    world.people.clear_faults()
    world.proxy.set_rate(0.0)
    return report


# --- the checks -------------------------------------------------------------------------------


def verify(world: ChaosWorld, report: ChaosReport) -> list[str]:
    """Every invariant of the chaos run; returns the violations (empty: all held)."""
    clock = time.monotonic()
    bad = report.violations
    h, state = world.harness, world.people.state()
    ids = set(report.meetings)

    # Every request was answered: 2xx, or a problem document.
    for answer in report.answers:
        if not answer.acceptable:
            bad.append(f"{answer.method} answered {answer.status} without a problem document")
    with world.client() as api:  # the API is whole again after the restart
        for mid in sorted(ids)[:10]:
            got = api.get(f"/api/v1/meetings/{mid}")
            if got.status_code != 200:
                bad.append(f"GET meeting {mid} after the chaos: {got.status_code}")
        # An idempotent repeat still answers with the same meeting, makes nothing new.
        mid = sorted(ids)[0]
        meeting = api.get(f"/api/v1/meetings/{mid}").json()
        repeat = api.post(
            "/api/v1/meetings",
            json=_body(report.external_ids[mid], _parse(meeting["start_time"]), "repeat"),
            headers={"Idempotency-Key": report.external_ids[mid]},
        )
        if repeat.status_code not in (409, 422) and repeat.json().get("id") != mid:
            bad.append(f"idempotent repeat made something new: {repeat.status_code} {repeat.text[:200]}")

    with h.sessions() as session:
        meetings = {m.id: m for m in session.scalars(select(Meeting))}
        rows = list(session.scalars(select(ArchiveManifestEntry)))
        actions = Counter(
            (e.entity_id, e.action)
            for e in session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "meeting"))
        )
        chain = verify_chain(session)
    if not chain.ok:
        bad.append(chain.describe())

    # Meetings: all there, none twice, each in its expected final state.
    if set(meetings) != ids:
        bad.append(f"meetings: {len(meetings)} stored, {len(ids)} accepted")
    externals = Counter(m.external_id for m in meetings.values())
    bad.extend(f"external id {e} stored {n} times" for e, n in externals.items() if n > 1)
    for mid, label in report.meetings.items():
        meeting = meetings.get(mid)
        if meeting is None:
            continue
        if meeting.status != EXPECTED_STATUS[label]:
            bad.append(f"meeting {mid} ({label}) is {meeting.status}, not {EXPECTED_STATUS[label]}")
        if actions[(mid, "meeting.created")] != 1:
            bad.append(f"meeting {mid}: {actions[(mid, 'meeting.created')]} meeting.created events")
        if actions[(mid, "meeting.provisioned")] != (1 if meeting.space_name else 0):
            bad.append(f"meeting {mid}: {actions[(mid, 'meeting.provisioned')]} meeting.provisioned")

    # Google: one event per meeting (none without a meeting), one space per event.
    event_ids = Counter(key.rsplit("/", 1)[-1] for key in state["events"])
    expected_events = {event_id_for(mid): mid for mid in ids}
    for event_id, count in event_ids.items():
        if event_id not in expected_events:
            bad.append(f"emulator event {event_id} belongs to no meeting")
        elif count != 1:
            bad.append(f"emulator holds {count} events {event_id}")
    for event_id, mid in expected_events.items():
        meeting = meetings.get(mid)
        if meeting is not None and meeting.space_name and event_id not in event_ids:
            bad.append(f"meeting {mid} is provisioned but its event {event_id} is missing")
    spaces = [m.space_name for m in meetings.values() if m.space_name]
    if len(set(spaces)) != len(spaces):
        bad.append("two meetings share a space")
    if len(state["spaces"]) != len(spaces):
        bad.append(f"emulator holds {len(state['spaces'])} spaces for {len(spaces)} provisioned meetings")

    # Archive: every artifact Google made is in the manifest once, archived once, verified.
    truth = _google_artifacts(state, meetings)
    bad.extend(f"{name}: Google never generated its file" for name in _not_generated(state))
    names = Counter(r.artifact_name for r in rows)
    bad.extend(f"manifest row {n} appears {c} times" for n, c in names.items() if c > 1)
    if set(names) != set(truth):
        missing, extra = set(truth) - set(names), set(names) - set(truth)
        bad.append(f"manifest vs Google: missing {sorted(missing)[:5]}, unexpected {sorted(extra)[:5]}")
    archived_events = Counter(
        mid for (mid, action), n in actions.items() if action == "artifact.archived" for _ in range(n)
    )
    for mid in ids:
        expected_rows = sum(1 for r in rows if r.meeting_id == mid)
        if archived_events[mid] != expected_rows:
            bad.append(f"meeting {mid}: {archived_events[mid]} artifact.archived events, {expected_rows} rows")
    bad.extend(_check_s3(world, rows, meetings, truth))
    bad.extend(_product_verify(world, sum(1 for r in rows if r.state == "archived")))
    report.objects = sum(1 for r in rows if r.state == "archived")
    report.bytes = sum(r.size or 0 for r in rows)
    report.seconds["verify"] = time.monotonic() - clock
    return bad


def _product_verify(world: ChaosWorld, archived: int) -> list[str]:
    """``meet-archive audit verify --all``: the product's own check of the chain, the digests
    and every archived object, as a compliance officer runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEET_", "GOOGLE_"))}
    env.update({
        "MEET_HOME": str(world.folder / "verify"),
        "MEET_DATABASE_URL": world.pg.url(),
        "MEET_S3_ENDPOINT_URL": world.s3.endpoint_url,
        "MEET_S3_BUCKET": world.bucket,
        "MEET_S3_PREFIX": "meet",
        "MEET_RETENTION_DAYS": str(RETENTION_DAYS),
        "MEET_OBJECT_LOCK_MODE": LOCK_MODE,
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    done = subprocess.run(  # noqa: S603 - the project's own console script
        [str(Path(sys.executable).with_name("meet-archive")), "audit", "verify", "--all"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    rehashed = f"archived objects: {archived} of {archived} re-hashed"
    if done.returncode != 0 or "VERIFIED" not in done.stdout or rehashed not in done.stdout:
        return [f"meet-archive audit verify --all ({done.returncode}), expected '{rehashed}': "
                f"{done.stdout[-1500:]}{done.stderr[-1500:]}"]
    return []


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _google_artifacts(state: dict[str, Any], meetings: dict[str, Meeting]) -> dict[str, tuple[str, str]]:
    """artifact name -> (kind, meeting id) for every file Google generated in our spaces."""
    by_space = {
        (m.space_name or "").removeprefix("spaces/"): m.id for m in meetings.values() if m.space_name
    }
    records = {
        name: by_space[r["space"]]
        for name, r in state["conference_records"].items()
        if r["space"] in by_space
    }
    truth: dict[str, tuple[str, str]] = {}
    for name, item in state["recordings"].items():
        if item["conference"] in records:
            truth[name] = ("recording", records[item["conference"]])
    for name, item in state["transcripts"].items():
        if item["conference"] in records:
            truth[name] = ("transcript_text", records[item["conference"]])
            truth[name + "/entries"] = ("transcript_entries", records[item["conference"]])
    return truth


def _not_generated(state: dict[str, Any]) -> list[str]:
    """Artifacts whose Drive file never appeared (the run did not wait long enough)."""
    return [
        name
        for collection in ("recordings", "transcripts")
        for name, item in state[collection].items()
        if not item.get("file_id")
    ]


def _check_s3(
    world: ChaosWorld,
    rows: list[ArchiveManifestEntry],
    meetings: dict[str, Meeting],
    truth: dict[str, tuple[str, str]],
) -> list[str]:
    bad: list[str] = []
    s3, bucket = world.s3.client(), world.bucket
    listing = s3.list_object_versions(Bucket=bucket)
    if listing.get("DeleteMarkers"):
        bad.append(f"{len(listing['DeleteMarkers'])} delete markers in the archive")
    versions = Counter(v["Key"] for v in listing.get("Versions", []))
    bad.extend(f"{k} has {n} versions" for k, n in versions.items() if n > 1)
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    if uploads:
        bad.append(f"{len(uploads)} incomplete multipart uploads left: {[u['Key'] for u in uploads][:3]}")
    expected_keys = set()
    for name, (kind, mid) in truth.items():
        date = meetings[mid].start_time.strftime("%Y-%m-%d")
        expected_keys.add(key_for("meet", kind, date, mid, name))
    if set(versions) != expected_keys:
        bad.append(
            f"S3 keys vs Google: missing {sorted(expected_keys - set(versions))[:3]}, "
            f"unexpected {sorted(set(versions) - expected_keys)[:3]}"
        )
    for row in rows:
        if row.state != "archived" or not row.object_key:
            bad.append(f"{row.artifact_name} is {row.state} ({row.last_error})")
            continue
        answer = s3.get_object(Bucket=bucket, Key=row.object_key, VersionId=row.version_id)
        digest, size = hashlib.sha256(), 0
        for chunk in answer["Body"].iter_chunks(2**20):
            digest.update(chunk)
            size += len(chunk)
        sha = digest.hexdigest()
        if not (sha == row.sha256 == answer["Metadata"].get("sha256")) or size != row.size:
            bad.append(f"{row.object_key}: S3 sha256 {sha} / {size} B, manifest {row.sha256} / {row.size} B")
        if row.kind == "recording" and (row.drive_sha256 != sha or row.drive_size != size):
            bad.append(f"{row.object_key}: Drive said {row.drive_sha256}, S3 holds {sha}")
        if answer.get("ObjectLockMode") != row.lock_mode or row.retain_until is None:
            bad.append(f"{row.object_key}: lock {answer.get('ObjectLockMode')} vs manifest {row.lock_mode}")
    return bad


def run_and_verify(folder: Path, config: ChaosConfig) -> tuple[ChaosWorld, ChaosReport, list[str]]:
    """A whole chaos run in ``folder``: the world built, played, verified and closed. Returns
    the closed world (its counters stay readable), the report and every violation found."""
    world = ChaosWorld(folder, config)
    try:
        report = run_chaos(world)
        violations = verify(world, report)
    finally:
        world.close()
    return world, report, violations
