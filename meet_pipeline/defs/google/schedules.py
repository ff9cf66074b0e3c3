"""A daily final sweep of yesterday's conferences (late participants, late files), well
inside the 30 days after which Google deletes conference records."""

from datetime import timedelta

import dagster as dg

from meet_pipeline.policy import HARVEST_JOB


@dg.schedule(
    job_name=HARVEST_JOB,
    cron_schedule="30 1 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Harvest yesterday's conference records and attendance once more.",
)
def harvest_yesterday(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    yesterday = (context.scheduled_execution_time - timedelta(days=1)).strftime("%Y-%m-%d")
    return dg.RunRequest(partition_key=yesterday, run_key=f"harvest-{yesterday}")
