"""Events area: Workspace event intake, subscriptions per organizer and their check."""

import dagster as dg

from meet_pipeline.defs.events.assets import event_subscriptions, workspace_events
from meet_pipeline.defs.events.checks import event_subscriptions_cover_meetings
from meet_pipeline.defs.events.sensors import events_sensor

SUBSCRIPTIONS_JOB = "keep_event_subscriptions"

subscriptions_job = dg.define_asset_job(
    SUBSCRIPTIONS_JOB,
    selection=dg.AssetSelection.assets(event_subscriptions),
    description="Create, renew and reactivate the Workspace Events subscriptions.",
)
# Hourly: renewal is due 3 days before a 7-day expiry, so the schedule has ample slack;
# an expired or suspended subscription is acted on within the hour.
subscriptions_schedule = dg.ScheduleDefinition(
    name="event_subscriptions_hourly",
    job=subscriptions_job,
    cron_schedule="7 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Keeps one ACTIVE Workspace Events subscription per organizer (events mode).",
)

defs = dg.Definitions(
    assets=[workspace_events, event_subscriptions],
    asset_checks=[event_subscriptions_cover_meetings],
    sensors=[events_sensor],
    jobs=[subscriptions_job],
    schedules=[subscriptions_schedule],
)
