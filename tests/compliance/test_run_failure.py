"""The run-failure sensor puts ``pipeline.run_failed`` in the outbox, once per run; a
ledger run stopped by its blocking check is announced by its violations instead."""

from __future__ import annotations

import json

import dagster as dg
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.db.models import WebhookOutboxEntry
from meet_pipeline.defs.compliance.sensors import run_failure_webhook_sensor
from meet_pipeline.resources import DatabaseResource

DAILY = dg.DailyPartitionsDefinition(start_date="2025-01-01")


@dg.asset(partitions_def=DAILY)
def breaks() -> None:
    raise RuntimeError("Drive said no")


@dg.asset(partitions_def=DAILY)
def judged() -> None:
    pass


@dg.asset_check(asset=judged, blocking=True)
def strict() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR)


def evaluate(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult, fresh_database_url: str) -> None:
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    context = dg.build_run_status_sensor_context(
        sensor_name=run_failure_webhook_sensor.name,
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=run,
        resources={"database": DatabaseResource(url=fresh_database_url)},
    ).for_run_failure()
    run_failure_webhook_sensor(context)


def events(sessions: sessionmaker[Session]) -> list[WebhookOutboxEntry]:
    with sessions() as session:
        return list(session.scalars(select(WebhookOutboxEntry)))


def test_a_failed_run_is_announced_once(fresh_database_url: str, fresh_sessions: sessionmaker[Session]) -> None:
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [breaks], partition_key="2025-06-02", instance=instance, raise_on_error=False
    )
    assert not result.success
    evaluate(instance, result, fresh_database_url)
    evaluate(instance, result, fresh_database_url)  # a repeated evaluation adds nothing
    [event] = events(fresh_sessions)
    body = json.loads(event.body)
    assert (
        event.event_type == "pipeline.run_failed"
        and event.dedupe_key == f"pipeline.run_failed:{result.run_id}"
    )
    assert body["data"]["run_id"] == result.run_id and body["data"]["partition"] == "2025-06-02"
    assert body["data"]["failed_steps"] == ["breaks"]


def test_a_run_stopped_by_a_blocking_check_is_not_a_pipeline_failure(
    fresh_database_url: str, fresh_sessions: sessionmaker[Session]
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [judged, strict], partition_key="2025-06-02", instance=instance, raise_on_error=False
    )
    assert not result.success
    evaluate(instance, result, fresh_database_url)
    assert events(fresh_sessions) == []
