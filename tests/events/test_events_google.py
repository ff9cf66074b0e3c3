"""Workspace Events, People and Pub/Sub through the real client against the emulator:
setup is idempotent, subscriptions are made and kept, and 429/5xx on pull and on
subscriptions.create are retried (or surface as GoogleUnavailable with nothing half-done)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.db.models import AuditEvent, EventSubscription, ReceivedEvent
from meet_core.events.intake import pull_and_store
from meet_core.events.setup import dead_letter_topic, setup
from meet_core.events.subscriptions import keep_subscriptions
from meet_core.google import GoogleGateway, GoogleUnavailable
from meet_sandbox.emulator import SandboxClient
from tests.events.conftest import ORGANIZER, SUBSCRIPTION, TOPIC


def faulty(sandbox: SandboxClient, **spec: Any) -> None:
    sandbox.faults(**{"retry_after": 0, **spec})


def now(sandbox: SandboxClient) -> datetime:
    return datetime.fromisoformat(sandbox.call("GET", "clock")["now"].replace("Z", "+00:00"))


def test_setup_creates_what_is_missing_once(gateway: GoogleGateway) -> None:
    first = setup(gateway, topic=TOPIC, subscription=SUBSCRIPTION)
    assert sorted(first.created) == sorted([TOPIC, dead_letter_topic(TOPIC), SUBSCRIPTION])
    again = setup(gateway, topic=TOPIC, subscription=SUBSCRIPTION)
    assert not again.created and not again.warnings
    made = gateway.get_pubsub_subscription(SUBSCRIPTION)
    assert made["topic"] == TOPIC and made["enableExactlyOnceDelivery"] is True
    assert made["deadLetterPolicy"]["deadLetterTopic"] == dead_letter_topic(TOPIC)


def test_one_subscription_per_organizer_created_then_kept(
    gateway: GoogleGateway, sandbox: SandboxClient, fresh_sessions: sessionmaker[Session]
) -> None:
    setup(gateway, topic=TOPIC, subscription=SUBSCRIPTION)
    user = gateway.user_id(subject=ORGANIZER)
    assert user
    first = keep_subscriptions(
        gateway, fresh_sessions, topic=TOPIC, default_subject=ORGANIZER, now=now(sandbox)
    )
    assert first.created == 1 and first.states == {ORGANIZER: "ACTIVE"}, first.errors
    again = keep_subscriptions(
        gateway, fresh_sessions, topic=TOPIC, default_subject=ORGANIZER, now=now(sandbox)
    )
    assert (again.created, again.renewed, again.errors) == (0, 0, [])
    with fresh_sessions() as session:
        row = session.scalars(select(EventSubscription)).one()
        assert row.google_name and row.user_id == user and row.expire_time
        subscription = gateway.get_subscription(row.google_name, subject=ORGANIZER)
        assert subscription.target_resource.endswith("/users/" + user)
        actions = list(session.scalars(select(AuditEvent.action)))
    assert actions == ["event_subscription.created"]
    assert [s.name for s in gateway.list_subscriptions(subject=ORGANIZER)] == [row.google_name]


@pytest.mark.parametrize("kind", ["429", "500", "503"])
def test_subscriptions_create_and_pull_are_retried_under_faults(
    gateway: GoogleGateway, sandbox: SandboxClient, fresh_sessions: sessionmaker[Session], kind: str
) -> None:
    setup(gateway, topic=TOPIC, subscription=SUBSCRIPTION)
    faulty(sandbox, kinds=[kind], count=2, methods=["workspaceevents.subscriptions.create"])
    made = keep_subscriptions(
        gateway, fresh_sessions, topic=TOPIC, default_subject=ORGANIZER, now=now(sandbox)
    )
    assert made.created == 1 and not made.errors
    assert gateway.calls["workspaceevents.subscriptions.create"] == 3
    faulty(sandbox, kinds=[kind], count=2, methods=["pubsub.projects.subscriptions.pull"])
    outcome = pull_and_store(gateway, fresh_sessions, SUBSCRIPTION, now=lambda: datetime.now(UTC))
    assert outcome.batches == 1
    assert gateway.calls["pubsub.projects.subscriptions.pull"] == 3


def test_a_pull_that_keeps_failing_surfaces_and_stores_nothing(
    gateway: GoogleGateway, sandbox: SandboxClient, fresh_sessions: sessionmaker[Session]
) -> None:
    setup(gateway, topic=TOPIC, subscription=SUBSCRIPTION)
    faulty(sandbox, kinds=["500"], methods=["pubsub.projects.subscriptions.pull"])
    with pytest.raises(GoogleUnavailable):
        pull_and_store(gateway, fresh_sessions, SUBSCRIPTION, now=lambda: datetime.now(UTC))
    with fresh_sessions() as session:
        assert session.scalars(select(ReceivedEvent)).all() == []


def test_a_create_that_keeps_failing_is_recorded_not_raised(
    gateway: GoogleGateway, sandbox: SandboxClient, fresh_sessions: sessionmaker[Session]
) -> None:
    setup(gateway, topic=TOPIC, subscription=SUBSCRIPTION)
    faulty(sandbox, kinds=["503"], methods=["workspaceevents.subscriptions.create"])
    outcome = keep_subscriptions(
        gateway, fresh_sessions, topic=TOPIC, default_subject=ORGANIZER,
        now=now(sandbox) + timedelta(0),
    )
    assert outcome.created == 0 and len(outcome.errors) == 1
    with fresh_sessions() as session:
        row = session.scalars(select(EventSubscription)).one()
        assert row.state == "MISSING" and row.last_error and row.google_name is None
