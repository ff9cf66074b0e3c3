"""``events_sensor``: the intake of Workspace events (events mode only).

Each tick pulls the Pub/Sub subscription in batches (``max_batches`` pulls of
``batch_size`` at most, within a time budget), stores each event once by ``ce-id``,
acknowledges after the commit, then does the Google work the stored events need
(meet_core.events.handle). Google calls per tick follow the events that arrived, not the
meetings in progress. Ticks that stored events materialize ``workspace_events`` with the
counts per type, so the UI shows events arriving, and the reads it applied materialize
``conference_records`` and ``attendance`` for their day, as ``conference_sensor`` does in
polling mode (meet_pipeline.defs.meetings.lineage).
"""

import json
from datetime import timedelta
from typing import Any

import dagster as dg
from sqlalchemy.orm import Session

from meet_core.events.handle import handle_pending
from meet_core.events.intake import pull_and_store
from meet_core.events.subscriptions import keep_subscriptions, uncovered_organizers
from meet_core.google import GoogleError
from meet_pipeline.defs.events.assets import WORKSPACE_EVENTS, event_counts
from meet_pipeline.defs.events.resources import EventsResource
from meet_pipeline.defs.meetings.lineage import materializations
from meet_pipeline.policy import SENSOR_INTERVAL_SECONDS
from meet_pipeline.resources import ClockResource, DatabaseResource, GoogleResource, PolicyResource

PULL_BUDGET_SECONDS = 15.0
CREATE_RETRY_AFTER = timedelta(minutes=10)  # a failed create is not retried every tick
HANDLE_BUDGET_SECONDS = 25.0  # with the pull, under Dagster's 60 s tick timeout


@dg.sensor(
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Events mode: pulls Workspace events from Pub/Sub, stores each once, acknowledges "
        "after the commit, reads what each event names (recordings to archive, attendance "
        "at a conference's end). Skips in polling mode."
    ),
)
def events_sensor(
    context: dg.SensorEvaluationContext,
    database: DatabaseResource,
    google: GoogleResource,
    clock: ClockResource,
    policy: PolicyResource,
    events: EventsResource,
) -> dg.SensorResult:
    if not events.enabled or events.subscription is None:
        return dg.SensorResult(skip_reason=f"MEET_INGESTION={events.ingestion}: nothing to pull")
    sessions, gateway = database.sessions(), google.gateway()
    calls_before = gateway.calls.total
    created = _cover_new_organizers(context, database, google, clock, events)
    try:
        intake = pull_and_store(
            gateway,
            sessions,
            events.subscription,
            now=clock.now,
            batch_size=events.batch_size,
            max_batches=events.max_batches,
            budget_seconds=PULL_BUDGET_SECONDS,
        )
        pull_error = None
    except GoogleError as exc:  # retried in the gateway; stored rows are still handled below
        context.log.warning("Pub/Sub pull: %s", exc)
        intake, pull_error = None, str(exc)
    handled = handle_pending(
        gateway, sessions, now=clock.now, policy=policy.window(), budget_seconds=HANDLE_BUDGET_SECONDS
    )
    stored = intake.stored if intake else 0
    cursor = {
        "pulled": intake.pulled if intake else 0,
        "stored": stored,
        "duplicates": intake.duplicates if intake else 0,
        "handled": handled.handled,
        "ignored": handled.ignored,
        "failed": handled.failed,
        "retried": handled.retried,
        "google_calls": gateway.calls.total - calls_before,
        "pull_error": pull_error,
        "subscriptions_created": created,
    }
    summary = (
        f"{cursor['pulled']} pulled, {stored} new, {cursor['duplicates']} duplicates; "
        f"{handled.handled} handled, {handled.ignored} ignored, {handled.failed} failed"
    )
    asset_events = materializations(handled.applied, "events_sensor")
    if stored or handled.handled or handled.failed:
        with sessions() as session:
            metadata = _counts(session, clock)
        asset_events.append(
            dg.AssetMaterialization(asset_key=WORKSPACE_EVENTS, metadata=metadata)
        )
        context.log.info(summary)
    return dg.SensorResult(
        skip_reason=summary, cursor=json.dumps(cursor, sort_keys=True), asset_events=asset_events
    )


def _cover_new_organizers(
    context: dg.SensorEvaluationContext,
    database: DatabaseResource,
    google: GoogleResource,
    clock: ClockResource,
    events: EventsResource,
) -> int:
    """Subscriptions for organizers that have none yet (no Google call when all have one)."""
    sessions, now = database.sessions(), clock.now()
    with sessions() as session:
        due = uncovered_organizers(
            session, default_subject=google.subject, now=now, retry_after=CREATE_RETRY_AFTER
        )
    if not due or events.topic is None:
        return 0
    outcome = keep_subscriptions(
        google.gateway(), sessions, topic=events.topic, default_subject=google.subject,
        now=now, only=due,
    )
    for error in outcome.errors:
        context.log.warning("subscription: %s", error)
    return outcome.created


def _counts(session: Session, clock: ClockResource) -> dict[str, Any]:
    return event_counts(session, now=clock.now())
