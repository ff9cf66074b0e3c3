"""What events mode shows in the UI: the Workspace events received (materialized by the
intake sensor with counts per type and origin) and the subscriptions kept per organizer."""



from datetime import datetime, timedelta
from typing import Any

import dagster as dg
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meet_core.db.models import BackstopLook, EventSubscription, ReceivedEvent
from meet_core.events.subscriptions import keep_subscriptions
from meet_pipeline.defs.events.resources import EventsResource
from meet_pipeline.policy import DATABASE_KIND, GOOGLE_POOL
from meet_pipeline.resources import ClockResource, DatabaseResource, GoogleResource

WORKSPACE_EVENTS = dg.AssetKey("workspace_events")

workspace_events = dg.AssetSpec(
    WORKSPACE_EVENTS,
    group_name="events",
    kinds={"pubsub", DATABASE_KIND},
    description=(
        "Workspace events received through Pub/Sub, stored once by ce-id (table "
        "received_events). Materialized by events_sensor on every tick that stored events: "
        "counts per type, duplicates, and lost_events: what the backstop found that no "
        "event announced."
    ),
)


def event_counts(session: Session, *, now: datetime) -> dict[str, Any]:
    """Counts per event type and origin, overall and in the last hour (asset metadata)."""
    metadata: dict[str, Any] = {}
    by_type = session.execute(
        select(ReceivedEvent.origin, ReceivedEvent.event_type, func.count()).group_by(
            ReceivedEvent.origin, ReceivedEvent.event_type
        )
    ).all()
    for origin, kind, count in sorted(by_type):
        short = kind.removeprefix("google.workspace.").replace(".v2.", ".").replace(".v1.", ".")
        metadata[f"{'lost' if origin == 'backstop' else 'events'}/{short}"] = count
    received = sum(c for o, _, c in by_type if o == "pubsub")
    lost = sum(c for o, _, c in by_type if o == "backstop")
    recent = session.scalar(
        select(func.count()).where(
            ReceivedEvent.origin == "pubsub", ReceivedEvent.received_at >= now - timedelta(hours=1)
        )
    )
    states = {
        state: count
        for state, count in session.execute(
            select(ReceivedEvent.state, func.count())
            .where(ReceivedEvent.origin == "pubsub")
            .group_by(ReceivedEvent.state)
        )
    }
    metadata.update(
        {
            "received": received,
            "received_last_hour": recent or 0,
            "duplicate_deliveries": session.scalar(
                select(func.coalesce(func.sum(ReceivedEvent.deliveries - 1), 0)).where(
                    ReceivedEvent.origin == "pubsub", ReceivedEvent.deliveries > 1
                )
            )
            or 0,
            "pending": states.get("pending", 0),
            "failed": states.get("failed", 0),
            "lost_events": lost,
            "lost_event_ratio": round(lost / (received + lost), 4) if received + lost else 0.0,
            "backstop_looks": session.scalar(select(func.count()).select_from(BackstopLook)) or 0,
        }
    )
    return metadata


@dg.asset(
    group_name="events",
    kinds={"google", DATABASE_KIND},
    pool=GOOGLE_POOL,
    description=(
        "One Workspace Events subscription per organizer (MEET_GOOGLE_SUBJECT and every "
        "organizer of a meeting not over yet), table event_subscriptions: created where "
        "missing or expired, renewed well before its 7-day expiry, suspended ones reactivated "
        "once Google accepts. Each change is an audit event. Nothing in polling mode."
    ),
)
def event_subscriptions(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    google: GoogleResource,
    clock: ClockResource,
    events: EventsResource,
) -> dg.MaterializeResult:
    if not events.enabled or events.topic is None:
        return dg.MaterializeResult(metadata={"ingestion": events.ingestion, "organizers": 0})
    gateway = google.gateway()
    calls_before = gateway.calls.total
    outcome = keep_subscriptions(
        gateway,
        database.sessions(),
        topic=events.topic,
        default_subject=google.subject,
        now=clock.now(),
    )
    for error in outcome.errors:
        context.log.warning("subscription: %s", error)
    with database.sessions()() as session:
        rows = session.scalars(
            select(EventSubscription).order_by(EventSubscription.organizer_email)
        ).all()
        table = "\n".join(
            f"| {r.organizer_email} | {r.state} | {r.expire_time:%Y-%m-%d %H:%M} | "
            f"{r.last_event_at or '—'} |"
            if r.expire_time
            else f"| {r.organizer_email} | {r.state} | — | {r.last_event_at or '—'} |"
            for r in rows
        )
    return dg.MaterializeResult(
        metadata={
            "ingestion": events.ingestion,
            "organizers": outcome.organizers,
            "created": outcome.created,
            "renewed": outcome.renewed,
            "reactivated": outcome.reactivated,
            "errors": len(outcome.errors),
            "active": sum(1 for s in outcome.states.values() if s == "ACTIVE"),
            "subscriptions": dg.MetadataValue.md(
                "| organizer | state | expires | last event |\n|---|---|---|---|\n" + table
            ),
            "google_calls": gateway.calls.total - calls_before,
        }
    )
