"""A subscription's life against the emulator: created, renewed well before expiry,
suspended (lifecycle event → row SUSPENDED → asset check fails) then reactivated (check
passes), expired (lifecycle event → row MISSING) then created again. Every change audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.db.models import AuditEvent, EventSubscription
from meet_core.events.intake import pull_and_store
from meet_core.events.setup import setup
from meet_core.events.subscriptions import keep_subscriptions
from meet_core.google import GoogleGateway
from meet_core.settings import Settings
from meet_pipeline.defs.events.assets import event_subscriptions
from meet_pipeline.defs.events.checks import event_subscriptions_cover_meetings
from meet_pipeline.defs.events.resources import EventsResource
from meet_pipeline.resources import DatabaseResource
from meet_sandbox.emulator import SandboxClient
from meet_sandbox.pipeline import EmulatorClock
from tests.events.conftest import ORGANIZER, SUBSCRIPTION, TOPIC
from tests.events.helpers import add_meeting


def emulated_now(sandbox: SandboxClient) -> datetime:
    return datetime.fromisoformat(sandbox.call("GET", "clock")["now"].replace("Z", "+00:00"))


def row(sessions: sessionmaker[Session]) -> EventSubscription:
    with sessions() as session:
        return session.scalars(select(EventSubscription)).one()


def check_passes(sessions: sessionmaker[Session], settings: Settings, url: str) -> bool:
    """The asset check alone, as the UI runs it (no upkeep before it)."""
    result = dg.materialize(
        [event_subscriptions, event_subscriptions_cover_meetings],
        selection=dg.AssetSelection.checks(event_subscriptions_cover_meetings),
        resources={
            "database": DatabaseResource(url=url),
            "clock": EmulatorClock(emulator_url=settings.google_endpoint or ""),
            "events": EventsResource(
                ingestion="events", topic=settings.events_topic,
                subscription=settings.events_subscription,
            ),
            "google": dg.ResourceDefinition.none_resource(),
        },
        raise_on_error=False,
    )
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation.passed


def test_renew_suspend_reactivate_expire_recreate(
    gateway: GoogleGateway,
    sandbox: SandboxClient,
    events_settings: Settings,
    fresh_sessions: sessionmaker[Session],
    fresh_database_url: str,
    tmp_path: Path,
) -> None:
    setup(gateway, topic=TOPIC, subscription=SUBSCRIPTION)

    def keep() -> object:
        return keep_subscriptions(
            gateway, fresh_sessions, topic=TOPIC, default_subject=ORGANIZER,
            now=emulated_now(sandbox),
        )

    def intake() -> None:
        pull_and_store(gateway, fresh_sessions, SUBSCRIPTION, now=lambda: emulated_now(sandbox))

    keep()
    created = row(fresh_sessions)
    assert created.state == "ACTIVE" and created.expire_time is not None
    add_meeting(fresh_sessions, "m-upcoming", ORGANIZER, emulated_now(sandbox) + timedelta(hours=2), "scheduled")
    assert check_passes(fresh_sessions, events_settings, fresh_database_url)

    # Renewal: not while most of the 7 days are left; well before expiry, the ttl is patched.
    sandbox.advance(2 * 86400)
    outcome = keep()
    assert outcome.renewed == 0  # type: ignore[attr-defined]
    sandbox.advance(2.5 * 86400)
    outcome = keep()
    assert outcome.renewed == 1  # type: ignore[attr-defined]
    renewed = row(fresh_sessions)
    assert renewed.expire_time and created.expire_time and renewed.expire_time > created.expire_time
    assert renewed.google_name == created.google_name

    # Suspension: the lifecycle event marks the row; the check fails until reactivation.
    add_meeting(fresh_sessions, "m-later", ORGANIZER, emulated_now(sandbox) + timedelta(hours=3), "scheduled")
    sandbox.call("POST", "subscriptions/suspend", {"user": ORGANIZER, "reason": "USER_SCOPE_REVOKED"})
    intake()
    suspended = row(fresh_sessions)
    assert (suspended.state, suspended.suspension_reason) == ("SUSPENDED", "USER_SCOPE_REVOKED")
    assert not check_passes(fresh_sessions, events_settings, fresh_database_url)
    outcome = keep()
    assert outcome.reactivated == 1  # type: ignore[attr-defined]
    assert row(fresh_sessions).state == "ACTIVE"
    assert check_passes(fresh_sessions, events_settings, fresh_database_url)

    # Expiry: Google deletes it for good; the expired event makes the row MISSING, and the
    # next upkeep creates a new one.
    sandbox.advance(8 * 86400)
    intake()
    assert row(fresh_sessions).state == "MISSING"
    outcome = keep()
    assert outcome.created == 1  # type: ignore[attr-defined]
    again = row(fresh_sessions)
    assert again.state == "ACTIVE" and again.google_name != created.google_name

    with fresh_sessions() as session:
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    assert actions == [
        "event_subscription.created",
        "event_subscription.renewed",
        "event_subscription.suspended",
        "event_subscription.reactivated",
        "event_subscription.missing",
        "event_subscription.created",
    ]
