"""When compliance assets run: the ledger hourly (today, yesterday and every recent day with
pending meetings), the report daily for yesterday, the digest hourly."""

from datetime import timedelta

import dagster as dg
from sqlalchemy import select

from meet_core.db.models import ComplianceStatus, LedgerEntry
from meet_pipeline.partitions import yesterday_schedule
from meet_pipeline.resources import DatabaseResource

LEDGER_JOB, REPORT_JOB, DIGEST_JOB = (
    "compliance_ledger_day",
    "compliance_report_day",
    "audit_digest_hourly",
)
LOOKBACK_DAYS = (
    35  # conference records live 30 days; pending days older than that are settled by the rules
)


@dg.schedule(
    job_name=LEDGER_JOB,
    cron_schedule="20 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Re-judge today, yesterday and every recent day that still has pending meetings.",
)
def compliance_ledger_schedule(
    context: dg.ScheduleEvaluationContext, database: DatabaseResource
) -> list[dg.RunRequest]:
    now = context.scheduled_execution_time
    today, yesterday = now.strftime("%Y-%m-%d"), (now - timedelta(days=1)).strftime("%Y-%m-%d")
    oldest = (now - timedelta(days=LOOKBACK_DAYS)).strftime("%Y-%m-%d")
    with database.sessions()() as session:
        pending = set(
            session.scalars(
                select(LedgerEntry.partition_date)
                .distinct()
                .where(
                    LedgerEntry.compliance_status == ComplianceStatus.PENDING,
                    LedgerEntry.partition_date >= oldest,
                    LedgerEntry.partition_date < yesterday,
                )
            )
        )
    hour = now.strftime("%Y-%m-%dT%H")
    return [
        dg.RunRequest(partition_key=day, run_key=f"ledger-{day}-{hour}")
        for day in sorted(pending | {today, yesterday})
    ]


compliance_report_schedule = yesterday_schedule(
    name="compliance_report_schedule",
    job_name=REPORT_JOB,
    cron_schedule="0 2 * * *",
    run_key_prefix="report",
    description="Publish yesterday's compliance report.",
)


audit_digest_schedule = dg.ScheduleDefinition(
    name="audit_digest_schedule",
    job_name=DIGEST_JOB,
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Digest the audit chain's new segment every hour.",
)
