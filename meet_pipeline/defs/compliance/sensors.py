"""Webhook delivery and the run-failure notification.

``webhook_delivery_sensor`` posts to XOMA inside the tick, within ``TICK_BUDGET_SECONDS``
(Dagster times a tick out at 60 s), rather than launching a run: deliveries are small
signed POSTs that XOMA expects within seconds of the event, and a run per 30-second tick
would cost more than the work and flood the run history. What the budget leaves waits in
the outbox for the next tick.
"""

import json

import dagster as dg
from sqlalchemy import func, select

from meet_core.compliance.delivery import deliver_due
from meet_core.compliance.outbox import enqueue_event
from meet_core.db.models import OutboxState, WebhookOutboxEntry
from meet_core.db.types import utcnow
from meet_pipeline.defs.compliance.resources import ComplianceResource
from meet_pipeline.resources import DatabaseResource

TICK_BUDGET_SECONDS = 40.0
BATCH = 200
# A run stopped by a blocking check is not a pipeline failure. None of the compliance checks
# blocks any more (a violation is a finding: the ledger run succeeds and the violation is
# announced as compliance.violation); this stays for a blocking check added later.
CHECK_FAILURE = "DagsterAssetCheckFailedError"


def _outbox_counts(database: DatabaseResource) -> dict[str, int]:
    with database.sessions()() as session:
        rows = session.execute(
            select(WebhookOutboxEntry.state, func.count()).group_by(WebhookOutboxEntry.state)
        ).all()
    return {str(state): int(count) for state, count in rows}


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Delivers the webhook outbox to XOMA (signed, retried with exponential backoff; "
        "dead-lettered after the last try: see compliance_webhook_dead_letters)."
    ),
)
def webhook_delivery_sensor(
    context: dg.SensorEvaluationContext,
    database: DatabaseResource,
    compliance: ComplianceResource,
) -> dg.SensorResult:
    policy = compliance.delivery_policy()
    if policy is None:
        counts = _outbox_counts(database)
        return dg.SensorResult(
            skip_reason=f"MEET_WEBHOOK_URL not set; {counts.get(OutboxState.PENDING, 0)} "
            "event(s) wait in the outbox"
        )
    report = deliver_due(
        database.sessions(),
        policy,
        now=utcnow(),  # real time: retries to XOMA follow the wall clock, not the emulator's
        limit=BATCH,
        budget_seconds=TICK_BUDGET_SECONDS,
    )
    counts = _outbox_counts(database)
    dead = counts.get(OutboxState.DEAD, 0)
    summary = (
        f"delivered {report.delivered}, retrying {report.retrying}, dead-lettered {report.dead}; "
        f"outbox: {counts.get(OutboxState.PENDING, 0)} pending, {dead} dead"
    )
    if report.dead or dead:
        context.log.warning("%s (query compliance_webhook_dead_letters)", summary)
    return dg.SensorResult(
        skip_reason=summary, cursor=json.dumps({**counts, "last": report.attempted}, sort_keys=True)
    )


def _failed_only_on_checks(context: dg.RunFailureSensorContext) -> bool:
    failures = context.get_step_failure_events()
    errors = [
        e.step_failure_data.error
        for e in failures
        if e.step_failure_data and e.step_failure_data.error
    ]
    return bool(errors) and all(error.cls_name == CHECK_FAILURE for error in errors)


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Puts a pipeline.run_failed event in the webhook outbox for every failed run.",
)
def run_failure_webhook_sensor(
    context: dg.RunFailureSensorContext, database: DatabaseResource
) -> None:
    run = context.dagster_run
    if _failed_only_on_checks(context):
        context.log.info(
            "run %s stopped by a blocking check: not a pipeline failure", run.run_id
        )
        return
    payload = {
        "run_id": run.run_id,
        "job_name": run.job_name,
        "partition": run.tags.get("dagster/partition"),
        "message": (context.failure_event.message or "")[:2000],
        "failed_steps": sorted(
            {e.step_key for e in context.get_step_failure_events() if e.step_key}
        ),
    }
    with database.sessions().begin() as session:
        enqueue_event(
            session, "pipeline.run_failed", payload, dedupe_key=f"pipeline.run_failed:{run.run_id}"
        )
