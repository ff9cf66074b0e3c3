"""The simulated day with 20 % Google faults, 10 % S3 faults and truncated downloads ends
in the same final state as without them."""

from __future__ import annotations

from datetime import UTC, datetime

from meet_sandbox.emulator import SandboxClient
from meet_sandbox.s3.faultproxy import FaultProxy
from tests.pipeline.conftest import HarnessFactory
from tests.pipeline.scenario import check_day, play_day, run_until_settled, schedule_day

GOOGLE_FAULT_KINDS = ["429", "500", "503", "403_rate", "reset"]
GOOGLE_FAULTS = {
    "kinds": GOOGLE_FAULT_KINDS,
    "mode": "random",
    "rate": 0.2,
    "seed": 20,
    "apis": ["calendar", "meet", "drive"],
    "retry_after": 0,
}
# Truncated bodies on files.get (metadata or media chunk) until three were cut.
TRUNCATED_DOWNLOADS = {
    "kinds": ["truncate"],
    "mode": "random",
    "rate": 0.5,
    "seed": 5,
    "methods": ["files.get"],
    "count": 3,
}


def test_the_day_under_google_and_s3_faults_ends_in_the_same_state(
    harness_factory: HarnessFactory, people: SandboxClient, pipeline_s3_url: str
) -> None:
    started = datetime.now(UTC)
    with FaultProxy(pipeline_s3_url, rate=0.1, seed=10) as proxy:
        h = harness_factory(s3_endpoint=proxy.endpoint_url, env={"MEET_ARCHIVE_MAX_TRANSFERS": "1"})
        people.faults(**TRUNCATED_DOWNLOADS)
        people.faults(**GOOGLE_FAULTS)
        day = schedule_day(h)
        play_day(h, day)
        run_until_settled(h, rounds=10)
        s3_faults = proxy.injected
    people.clear_faults()
    check_day(h, day, archived_after=started)
    log = people.requests()
    google_faults = [r for r in log if r["fault"] in GOOGLE_FAULT_KINDS]
    truncated_media = [r for r in log if r["fault"] == "truncate" and r["status"] == 206]
    assert len(google_faults) >= 0.1 * len(
        [r for r in log if r["api"] in ("calendar", "meet", "drive")]
    )
    assert truncated_media, "no media download was cut: the truncation path was not exercised"
    assert s3_faults > 0
