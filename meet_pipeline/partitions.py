"""Daily partitions (UTC): their number grows with time, never with recordings.

A meeting belongs to the day of its scheduled start (:func:`meet_core.days.day_of`); its
conference records, attendance and archived artifacts are processed in that day's partition.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

FIRST_DAY = "2025-01-01"

# end_offset=1: today's partition exists already, so a meeting that ended an hour ago is
# archived today rather than tomorrow.
DAILY = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="UTC", end_offset=1)


def yesterday_schedule(
    *, name: str, job_name: str, cron_schedule: str, run_key_prefix: str, description: str
) -> dg.ScheduleDefinition:
    """A daily schedule that runs ``job_name`` for yesterday's partition, once per day.

    Not ``dg.build_schedule_from_partitioned_job``: that asks for the job's last partition,
    which with ``end_offset=1`` is today's (still filling), and keys runs by the bare
    partition key, which two jobs of the same day would share in the run history.
    """

    @dg.schedule(
        name=name,
        job_name=job_name,
        cron_schedule=cron_schedule,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=description,
    )
    def _yesterday(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        yesterday = (context.scheduled_execution_time - timedelta(days=1)).strftime("%Y-%m-%d")
        return dg.RunRequest(partition_key=yesterday, run_key=f"{run_key_prefix}-{yesterday}")

    return _yesterday
