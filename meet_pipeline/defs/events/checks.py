"""The events-mode coverage check on ``event_subscriptions`` (meet_core.events.health)."""

import dagster as dg

from meet_core.events.health import coverage
from meet_pipeline.defs.events.assets import event_subscriptions
from meet_pipeline.defs.events.resources import EventsResource
from meet_pipeline.resources import ClockResource, DatabaseResource


@dg.asset_check(
    asset=event_subscriptions,
    description=(
        "Fails when an organizer with upcoming meetings has no ACTIVE subscription, or when "
        "no event has arrived for an hour through a subscription whose organizer has "
        "meetings in progress. Passes trivially in polling mode."
    ),
)
def event_subscriptions_cover_meetings(
    database: DatabaseResource, clock: ClockResource, events: EventsResource
) -> dg.AssetCheckResult:
    if not events.enabled:
        return dg.AssetCheckResult(passed=True, metadata={"ingestion": events.ingestion})
    with database.sessions()() as session:
        found = coverage(session, now=clock.now())
    return dg.AssetCheckResult(
        passed=found.healthy,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "organizers_without_active_subscription": dg.MetadataValue.json(found.uncovered),
            "subscriptions_silent_with_meetings_in_progress": dg.MetadataValue.json(found.silent),
        },
    )
