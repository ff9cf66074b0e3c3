"""Webhooks to XOMA through a real loopback receiver: the outbox is transactional, events
are signed, retried with backoff until each is accepted exactly once, dead-lettered and
visible when the receiver never accepts, and the secret never shows up anywhere."""

from __future__ import annotations

import json
import logging
import math
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from meet_core.audit import append_event
from meet_core.compliance.delivery import DeliveryPolicy, deliver_due, redeliver_dead
from meet_core.compliance.outbox import enqueue_event
from meet_core.compliance.signing import signature, verify_signature
from meet_core.db.models import MeetingStatus, OutboxState, WebhookOutboxEntry
from meet_core.db.types import utcnow
from meet_core.settings import Settings
from meet_pipeline.defs.compliance.resources import ComplianceResource, build_compliance_resources
from meet_pipeline.defs.compliance.sensors import webhook_delivery_sensor
from meet_pipeline.resources import DatabaseResource
from tests.compliance.receiver import Receiver
from tests.compliance.world import World, at

SECRET = "whsec-test-0123456789abcdef"


def policy(target: str, **changes: object) -> DeliveryPolicy:
    return DeliveryPolicy(
        **{
            "url": target,
            "secret": SECRET,
            "max_attempts": 5,
            "backoff": timedelta(seconds=60),
            "timeout_seconds": 5.0,
            **changes,
        }
    )  # type: ignore[arg-type]


def finish_meetings(world: World, count: int) -> list[str]:
    """The change and its event in one transaction, as the pipeline does."""
    ids = []
    for n in range(count):
        meeting_id = world.meeting(
            f"w{n}", at("2025-06-02", "09:00"), at("2025-06-02", "10:00"), MeetingStatus.SCHEDULED
        )
        with world.sessions.begin() as session:
            append_event(
                session,
                actor="test",
                action="meeting.finished",
                entity_type="meeting",
                entity_id=meeting_id,
            )
            ids.append(
                enqueue_event(
                    session, "meeting.finished", {"meeting_id": meeting_id, "external_id": f"w{n}"}
                )
            )
    return ids


def outbox(sessions: sessionmaker[Session]) -> dict[str, WebhookOutboxEntry]:
    with sessions() as session:
        return {row.id: row for row in session.scalars(select(WebhookOutboxEntry))}


def assert_signed(received, secret: str = SECRET) -> None:  # type: ignore[no-untyped-def]
    for request in received:
        assert verify_signature(secret, request.headers, request.body, now=int(time.time())), (
            request.headers
        )
        assert request.headers["Webhook-Signature"].startswith("v1=")
        assert json.loads(request.body)["id"] == request.headers["Webhook-Id"]


def test_a_receiver_failing_twice_gets_each_event_exactly_once(world: World) -> None:
    ids = finish_meetings(world, 3)
    T0 = utcnow()
    with Receiver(answer=lambda n: 500 if n <= 2 else 200) as receiver:
        first = deliver_due(world.sessions, policy(receiver.url), now=T0)
        assert (first.delivered, first.retrying, first.dead) == (1, 2, 0)
        # Backing off: nothing is due a second later.
        assert (
            deliver_due(
                world.sessions, policy(receiver.url), now=T0 + timedelta(seconds=1)
            ).attempted
            == 0
        )
        second = deliver_due(world.sessions, policy(receiver.url), now=T0 + timedelta(seconds=60))
        assert (second.delivered, second.retrying, second.dead) == (2, 0, 0)
        assert (
            deliver_due(world.sessions, policy(receiver.url), now=T0 + timedelta(days=1)).attempted
            == 0
        )
    accepted = [r.headers["Webhook-Id"] for r in receiver.accepted()]
    assert sorted(accepted) == sorted(ids), "each event accepted exactly once"
    assert len(receiver.received) == 5
    assert_signed(receiver.received)
    rows = outbox(world.sessions)
    assert {r.state for r in rows.values()} == {OutboxState.DELIVERED}
    retried = [r for r in rows.values() if r.attempts == 2]
    assert len(retried) == 2 and all(r.last_status == 200 and r.last_error is None for r in retried)
    # A retry sends the same event: same id, same body bytes.
    by_id: dict[str, set[str]] = {}
    for request in receiver.received:
        by_id.setdefault(request.headers["Webhook-Id"], set()).add(request.body)
    assert all(len(bodies) == 1 for bodies in by_id.values())
    body = json.loads(receiver.received[0].body)
    assert body["type"] == "meeting.finished" and set(body) == {"id", "type", "created_at", "data"}


def test_an_always_failing_receiver_dead_letters_the_event_visibly(world: World) -> None:
    [event_id] = finish_meetings(world, 1)
    T0 = utcnow()
    with Receiver(answer=lambda n: 503) as receiver:
        rule = policy(receiver.url, max_attempts=3, backoff=timedelta(seconds=10))
        moments = [
            T0,
            T0 + timedelta(seconds=10),
            T0 + timedelta(seconds=30),
        ]  # backoff 10 s, then 20 s
        reports = [deliver_due(world.sessions, rule, now=moment) for moment in moments]
        assert [(r.retrying, r.dead) for r in reports] == [(1, 0), (1, 0), (0, 1)]
        assert deliver_due(world.sessions, rule, now=T0 + timedelta(days=7)).attempted == 0
    assert len(receiver.received) == 3
    assert_signed(receiver.received)
    with world.sessions() as session:
        dead = session.execute(
            text(
                "SELECT event_id, event_type, attempts, last_status, last_error "
                "FROM compliance_webhook_dead_letters"
            )
        ).all()
    assert [tuple(d) for d in dead] == [
        (event_id, "meeting.finished", 3, 503, "HTTP 503 Service Unavailable")
    ]
    # An operator fixes the receiver and puts the event back: delivered, once.
    with world.sessions.begin() as session:
        assert redeliver_dead(session, [event_id], T0 + timedelta(days=8)) == 1
    with Receiver(answer=lambda n: 204) as fixed:
        assert (
            deliver_due(world.sessions, policy(fixed.url), now=T0 + timedelta(days=8)).delivered
            == 1
        )
    assert [r.headers["Webhook-Id"] for r in fixed.received] == [event_id]


def test_an_unreachable_receiver_is_retried_with_the_reason(world: World) -> None:
    finish_meetings(world, 1)
    T0 = utcnow()
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    report = deliver_due(world.sessions, policy(f"http://127.0.0.1:{port}/x"), now=T0)
    assert report.retrying == 1
    [row] = outbox(world.sessions).values()
    assert row.last_status is None and "Connection refused" in (row.last_error or "")
    assert row.next_attempt_at == T0 + timedelta(seconds=60)


def test_two_deliverers_at_once_send_each_event_once(world: World) -> None:
    ids = finish_meetings(world, 6)
    T0 = utcnow()
    with Receiver(answer=lambda n: 200, delay_seconds=0.05) as receiver:
        threads = [
            threading.Thread(
                target=deliver_due, args=(world.sessions, policy(receiver.url)), kwargs={"now": T0}
            )
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(r.headers["Webhook-Id"] for r in receiver.received) == sorted(ids)


def test_the_outbox_follows_its_transaction(world: World) -> None:
    meeting_id = world.meeting(
        "rolled", at("2025-06-02", "09:00"), at("2025-06-02", "10:00"), MeetingStatus.SCHEDULED
    )
    with pytest.raises(RuntimeError), world.sessions.begin() as session:
        enqueue_event(session, "meeting.scheduled", {"meeting_id": meeting_id})
        raise RuntimeError("the change failed")
    assert outbox(world.sessions) == {}
    with world.sessions.begin() as session:
        first = enqueue_event(
            session, "recording.archived", {"artifact": "a"}, dedupe_key="recording.archived:a"
        )
        again = enqueue_event(
            session, "recording.archived", {"artifact": "a"}, dedupe_key="recording.archived:a"
        )
    assert first == again and list(outbox(world.sessions)) == [first]


@pytest.mark.parametrize(
    ("event_type", "payload", "dedupe_key"),
    [
        ("meeting.exploded", {}, None),
        ("", {}, None),
        (None, {}, None),
        ("meeting.finished", ["not", "an", "object"], None),
        ("meeting.finished", "text", None),
        ("meeting.finished", {"x": math.nan}, None),
        ("meeting.finished", {"x": math.inf}, None),
        ("meeting.finished", {"x": b"bytes"}, None),
        ("meeting.finished", {"when": datetime.now(UTC)}, None),
        ("meeting.finished", {1: "int key"}, None),
        ("meeting.finished", {"deep": [{"x": {1, 2}}]}, None),
        ("meeting.finished", {"big": "x" * 70_000}, None),
        ("meeting.finished", {}, ""),
        ("meeting.finished", {}, "k" * 301),
        ("meeting.finished", {}, 42),
    ],
)
def test_enqueue_refuses_garbage(
    fresh_sessions: sessionmaker[Session], event_type: object, payload: object, dedupe_key: object
) -> None:
    with fresh_sessions.begin() as session, pytest.raises(ValueError):
        enqueue_event(session, event_type, payload, dedupe_key=dedupe_key)  # type: ignore[arg-type]
    assert outbox(fresh_sessions) == {}


def test_signature_is_standard_webhooks_v1_hex() -> None:
    import hashlib
    import hmac

    body = '{"id":"evt_1"}'
    expected = hmac.new(
        SECRET.encode(), f"evt_1.1700000000.{body}".encode(), hashlib.sha256
    ).hexdigest()
    assert signature(SECRET, "evt_1", 1700000000, body) == f"v1={expected}"
    headers = {
        "Webhook-Id": "evt_1",
        "Webhook-Timestamp": "1700000000",
        "Webhook-Signature": f"v1={expected}",
    }
    assert verify_signature(SECRET, headers, body, now=1700000100)
    assert not verify_signature("another-secret-0000", headers, body, now=1700000100)
    assert not verify_signature(SECRET, headers, body + " ", now=1700000100)
    assert not verify_signature(SECRET, headers, body, now=1700000000 + 301)  # replayed too late
    assert not verify_signature(
        SECRET, {**headers, "Webhook-Timestamp": "soon"}, body, now=1700000000
    )
    assert not verify_signature(
        SECRET, {k: v for k, v in headers.items() if k != "Webhook-Id"}, body, now=1700000000
    )
    rotated = {**headers, "Webhook-Signature": f"v1=00ff v1={expected}"}
    assert verify_signature(SECRET, rotated, body, now=1700000000)
    with pytest.raises(ValueError):
        signature("", "evt_1", 1, body)


@pytest.mark.parametrize(
    "changes", [{"url": "ftp://x"}, {"secret": ""}, {"max_attempts": 0}, {"backoff": timedelta(0)}]
)
def test_delivery_policy_refuses_garbage(changes: dict) -> None:
    with pytest.raises(ValueError):
        policy("http://127.0.0.1:9/", **changes)
    assert SECRET not in repr(policy("http://127.0.0.1:9/"))


def test_sensor_delivers_and_never_shows_the_secret(
    world: World, fresh_database_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    finish_meetings(world, 2)
    resources = {"database": DatabaseResource(url=fresh_database_url)}
    idle = webhook_delivery_sensor(
        dg.build_sensor_context(resources={**resources, "compliance": ComplianceResource()})
    )
    assert "MEET_WEBHOOK_URL not set; 2 event(s) wait" in (idle.skip_reason.skip_message or "")
    caplog.set_level(logging.DEBUG)
    with Receiver(answer=lambda n: 500 if n == 1 else 200) as receiver:
        compliance = ComplianceResource(
            webhook_url=receiver.url, webhook_secret=SECRET, webhook_max_attempts=2
        )
        result = webhook_delivery_sensor(
            dg.build_sensor_context(resources={**resources, "compliance": compliance})
        )
    assert "delivered 1, retrying 1, dead-lettered 0" in (result.skip_reason.skip_message or "")
    rows = " ".join(str(v) for row in outbox(world.sessions).values() for v in vars(row).values())
    assert SECRET not in caplog.text and SECRET not in rows and SECRET not in str(result)
    # From the environment, the Dagster resource holds the variable's name, not its value.
    monkeypatch.setenv("MEET_WEBHOOK_SECRET", SECRET)
    settings = Settings.from_env(
        {"MEET_WEBHOOK_URL": "https://xoma.example/hooks", "MEET_WEBHOOK_SECRET": SECRET}
    )
    built = build_compliance_resources(settings)["compliance"]
    assert isinstance(built.webhook_secret, dg.EnvVar) and SECRET not in repr(built)
