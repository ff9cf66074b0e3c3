"""``archive_sensor``: asks for an archive run of every day that has artifacts ready.

An artifact is ready when Google reports its file generated and it is neither archived nor
being archived (failed ones after their backoff). The run key is derived from the day's
ready artifacts and their attempt counts: a tick that sees the same set asks for the same
run, which Dagster does not launch twice.
"""

import json
from collections import defaultdict

import dagster as dg

from meet_core.archive.manifest import ReadyArtifact, archive_run_key, ready_artifacts
from meet_pipeline.policy import ARCHIVE_JOB, SENSOR_INTERVAL_SECONDS
from meet_pipeline.resources import ClockResource, DatabaseResource, PolicyResource

MAX_RUNS_PER_TICK = 20


@dg.sensor(
    job_name=ARCHIVE_JOB,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests archive runs for the days whose recordings or transcripts are ready.",
)
def archive_sensor(
    context: dg.SensorEvaluationContext,
    database: DatabaseResource,
    clock: ClockResource,
    policy: PolicyResource,
) -> dg.SensorResult:
    now = clock.now()
    with database.sessions()() as session:
        ready = ready_artifacts(session, now=now, retry_base=policy.retry_after())
    by_day: dict[str, list[ReadyArtifact]] = defaultdict(list)
    for artifact in ready:
        by_day[artifact.partition_date].append(artifact)
    requests = [
        dg.RunRequest(
            partition_key=day,
            run_key=archive_run_key(day, artifacts),
            tags={"meet/artifacts": str(len(artifacts))},
        )
        for day, artifacts in sorted(by_day.items())[:MAX_RUNS_PER_TICK]
    ]
    cursor = json.dumps(
        {"ready": len(ready), "days": sorted(by_day)[:MAX_RUNS_PER_TICK]}, sort_keys=True
    )
    if not requests:
        return dg.SensorResult(skip_reason="nothing ready to archive", cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)
