"""Chaos run (small): 20 meetings through the API and the pipeline with 20 % Google faults
of every kind the emulator has (on Calendar, Meet, Drive and the token endpoint), 10 % S3
faults between the pipeline and moto, a Google outage during some creates, and one
PostgreSQL restart in the middle of an archive transfer. Afterwards every recording and
transcript Google made is archived exactly once and re-hashed from S3, the audit chain
verifies, and nothing is duplicated (meetings, events and spaces in the emulator, S3
objects and versions, manifest rows, audit events) or lost.

The full-size run (100 meetings) is ``bench/chaos_run.py``; the scenario is
``meet_sandbox/chaos.py``. The PostgreSQL server is a private instance (initdb + pg_ctl
in a temporary folder), never the machine's shared cluster.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from meet_sandbox.chaos import (
    ALL_GOOGLE_APIS,
    ALL_GOOGLE_KINDS,
    ChaosConfig,
    run_and_verify,
)
from meet_sandbox.private_postgres import postgres_bin

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL binaries (initdb) not installed"),
]


def test_chaos_run_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    world, report, violations = run_and_verify(tmp_path, ChaosConfig(meetings=20))
    summary = report.summary()
    print(summary)  # shown with -s or on failure
    # The chaos really happened: every fault kind on every Google API, S3 faults, the
    # outage's 202s, and the restart.
    assert set(ALL_GOOGLE_KINDS) <= set(report.google_faults), summary
    assert set(ALL_GOOGLE_APIS) <= set(report.google_faults_by_api), summary
    assert sum(report.s3_faults.values()) > 0, summary
    assert any(a.method == "POST" and a.status == 202 for a in report.answers), summary
    assert world.pg.restarts == 1 and report.restart_during, summary
    assert report.objects >= 40, summary  # 16 held meetings: a recording and a transcript (2 objects) each
    assert not violations, "\n".join(violations)
