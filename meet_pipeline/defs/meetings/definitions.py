"""Meetings area: provisioning retries, conference reconciliation and attendance."""

import dagster as dg

from meet_pipeline.defs.meetings.assets import attendance
from meet_pipeline.defs.meetings.sensors import conference_sensor, provisioning_sensor
from meet_pipeline.policy import SENSOR_INTERVAL_SECONDS

# Evaluates the assets' automation conditions (attendance follows conference_records);
# Dagster's implicit one starts stopped, this one is on from the first `dagster dev`.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "meetings_automation",
    target=[attendance],
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    description="Materializes attendance after its conference records are harvested.",
)

defs = dg.Definitions(
    assets=[attendance], sensors=[provisioning_sensor, conference_sensor, automation_sensor]
)
