"""Recording coverage where a compliance officer reads it: the daily report (HTML, CSV,
Parquet) and `meet-archive ledger show`, on both engines."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from meet_core.compliance.ledger import materialize_ledger
from meet_core.compliance.report import gather, render_csv, render_html, render_parquet
from meet_core.compliance.service_levels import ServiceLevels
from meet_core.db.models import ArtifactKind, MeetingStatus
from tests.compliance.world import RETENTION_DAYS, World, add_session, at
from tests.core.test_cli import run

DAY = "2025-06-12"
NOW = at("2025-06-13", "08:00")
LEVELS = ServiceLevels(retention_days=RETENTION_DAYS, lock_mode="GOVERNANCE")


def build(world: World) -> None:
    """``late_host``: a guest alone 10:00-10:15, the organizer and the recording from 10:15;
    ``recorded``: recorded throughout (its recording starts 30 s late: within tolerance)."""
    world.meeting("late_host", at(DAY, "10:00"), at(DAY, "10:30"), MeetingStatus.FINISHED)
    record = world.conference(
        "late_host",
        at(DAY, "10:00"),
        at(DAY, "10:30"),
        joined=[("guest@partner.example", False), ("organizer@example.com", True)],
    )
    add_session(world, record, 0, at(DAY, "10:00"), at(DAY, "10:30"))
    add_session(world, record, 1, at(DAY, "10:15"), at(DAY, "10:30"))
    world.artifact(
        "late_host",
        record,
        ArtifactKind.RECORDING,
        archived_at=at(DAY, "10:40"),
        start=at(DAY, "10:15"),
        end=at(DAY, "10:30"),
    )
    world.meeting("recorded", at(DAY, "11:00"), at(DAY, "11:30"), MeetingStatus.FINISHED)
    record = world.conference(
        "recorded", at(DAY, "11:00"), at(DAY, "11:30"), joined=[("organizer@example.com", True)]
    )
    add_session(world, record, 0, at(DAY, "11:00"), at(DAY, "11:30"))
    world.artifact(
        "recorded",
        record,
        ArtifactKind.RECORDING,
        archived_at=at(DAY, "11:40"),
        start=at(DAY, "11:00").replace(second=30),
        end=at(DAY, "11:30"),
    )
    with world.sessions() as session:
        materialize_ledger(session, DAY, now=NOW, levels=LEVELS, actor="test")


def test_report_shows_coverage_per_meeting_and_for_the_day(
    world: World, fresh_sessions: sessionmaker[Session]
) -> None:
    build(world)
    with fresh_sessions() as session:
        data = gather(session, DAY, NOW)
        daily = session.execute(
            text("SELECT unrecorded_seconds, coverage FROM compliance_coverage_daily")
        ).one()
    page = render_html(data).decode()
    assert "Recording coverage: held meetings with unrecorded time" in page
    assert "unrecorded_time</td><td class=num>1</td>" in page
    assert "late_host" in page and "2025-06-12T10:00:00Z/2025-06-12T10:15:00Z" in page
    assert "75.0%" in page  # the day: 900 of 3600 s unrecorded
    assert (daily[0], round(float(daily[1]), 4)) == (900, 0.75)
    for frame in (
        pd.read_csv(io.BytesIO(render_csv(data))),
        pq.read_table(io.BytesIO(render_parquet(data))).to_pandas(),
    ):
        by_id = frame.set_index("external_id")
        assert by_id.loc["late_host", "unrecorded_seconds"] == 900
        assert by_id.loc["late_host", "coverage"] == 0.5
        assert by_id.loc["recorded", "unrecorded_seconds"] == 0
        assert by_id.loc["recorded", "coverage"] == 1.0
        assert by_id.loc["late_host", "unrecorded_intervals"] == (
            "2025-06-12T10:00:00Z/2025-06-12T10:15:00Z"
        )


def test_ledger_show_gives_coverage(
    world: World, fresh_database_url: str, tmp_path: Path
) -> None:
    build(world)
    env = {"MEET_DATABASE_URL": fresh_database_url, "MEET_HOME": str(tmp_path)}
    shown = run(["ledger", "show", "--day", DAY, "--json"], env)
    assert shown.returncode == 0, shown.stderr
    rows = {r["external_id"]: r for r in json.loads(shown.stdout)}
    late = rows["late_host"]
    assert (late["verdict"], late["reasons"]) == ("violation", ["unrecorded_time"])
    assert (late["recorded_seconds"], late["unrecorded_seconds"], late["coverage"]) == (
        900,
        900,
        0.5,
    )
    assert late["unrecorded_intervals"] == [
        {"start": "2025-06-12T10:00:00Z", "end": "2025-06-12T10:15:00Z"}
    ]
    assert rows["recorded"]["coverage"] == 1.0 and rows["recorded"]["verdict"] == "compliant"
    table = run(["ledger", "show", "--day", DAY], env)
    assert table.returncode == 0, table.stderr
    assert "coverage 50.0%: recorded 900 s, unrecorded 900 s" in table.stdout
    assert "2025-06-12T10:00:00Z–2025-06-12T10:15:00Z" in table.stdout
