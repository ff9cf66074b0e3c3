"""A daily final sweep of yesterday's conferences (late participants, late files), well
inside the 30 days after which Google deletes conference records."""

from meet_pipeline.partitions import yesterday_schedule
from meet_pipeline.policy import HARVEST_JOB

harvest_yesterday = yesterday_schedule(
    name="harvest_yesterday",
    job_name=HARVEST_JOB,
    cron_schedule="30 1 * * *",
    run_key_prefix="harvest",
    description="Harvest yesterday's conference records and attendance once more.",
)
