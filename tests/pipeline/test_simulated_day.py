"""The simulated day end to end: emulator + moto S3 over HTTP, both databases, sensors
ticked with build_sensor_context, partitions materialized on a Dagster instance."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from meet_sandbox.pipeline_harness import ARCHIVE_ASSETS, HARVEST_ASSETS, PipelineHarness
from tests.pipeline.scenario import (
    Day,
    check_day,
    play_day,
    run_until_settled,
    schedule_day,
    state_fingerprint,
)


def test_simulated_day_archives_exactly_the_expected_objects_and_reruns_change_nothing(
    harness: PipelineHarness,
) -> None:
    started = datetime.now(UTC)
    day = schedule_day(harness)
    play_day(harness, day)

    first = harness.run_requests("archive_sensor")
    again = harness.run_requests("archive_sensor")
    assert first and [r.run_key for r in first] == [r.run_key for r in again]  # no run spam
    assert [r.partition_key for r in first] == [started_day(harness, day)]

    run_until_settled(harness)
    check_day(harness, day, archived_after=started)
    assert harness.run_requests("archive_sensor") == []

    before = state_fingerprint(harness)
    for sensor in ("provisioning_sensor", "conference_sensor", "archive_sensor"):
        result = harness.tick(sensor)
        assert not result.run_requests
    partition = started_day(harness, day)
    harness.materialize(harness_assets(), partition)
    assert state_fingerprint(harness) == before
    check_day(harness, day, archived_after=started)


def started_day(harness: PipelineHarness, day: Day) -> str:
    return harness.meeting(day.meetings["normal"]).start_time.astimezone(UTC).strftime("%Y-%m-%d")


def harness_assets() -> list[dg.AssetsDefinition]:
    return HARVEST_ASSETS + ARCHIVE_ASSETS
