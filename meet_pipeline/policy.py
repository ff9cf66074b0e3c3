"""Cross-cutting policy, in one place: owners, the Google pool, retries, kinds, job names.

``meet_pipeline.definitions`` applies owners, the retry policy and the database kind once,
to every asset spec and job; assets name only the pool (a step property that asset specs
cannot carry) and what they touch.
"""

from __future__ import annotations

import os

import dagster as dg

OWNERS = ["team:data-platform"]
# The kind assets that read or write the app database declare; definitions.py names the
# engine instead (postgres or sqlite), since the same code runs on both.
DATABASE_KIND = "sql"
# Every step that calls Google runs in this pool, so the instance bounds how many do at
# once (deploy/dagster.yaml sets its limit).
GOOGLE_POOL = "google"
# Archive steps (Drive files streamed into S3) run in this pool: bandwidth-bound, with few
# Google calls, so they do not take the Google pool's slots (deploy/dagster.yaml).
S3_POOL = "s3"

# Steps that failed on Google or S3 are tried again a few times inside the run; what still
# fails stays visible (run failure, manifest last_error) and the next tick picks it up.
RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=20, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

ARCHIVE_JOB = "archive_day"
HARVEST_JOB = "harvest_day"

# How often the daemon may tick each sensor. A minute in production; the demo and the
# multi-process test shorten it (MEET_SENSOR_INTERVAL_SECONDS) to play in compressed time.
SENSOR_INTERVAL_SECONDS = int(os.environ.get("MEET_SENSOR_INTERVAL_SECONDS", "") or 60)
