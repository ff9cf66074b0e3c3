"""The daily report: the ledger as CSV and Parquet and a self-contained HTML page in S3
under Object Lock, linked from the asset's metadata, rendered in headless Chromium."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive import ArchiveWriter, s3_client
from meet_core.compliance.ledger import materialize_ledger
from meet_core.compliance.report import LEDGER_COLUMNS, gather, publish, render_html
from meet_core.compliance.service_levels import ServiceLevels
from meet_core.db.models import ArtifactKind, LedgerEntry, MeetingStatus
from meet_pipeline.defs.compliance.assets import compliance_report
from meet_sandbox.s3 import EmbeddedS3
from meet_sandbox.s3.faultproxy import FaultProxy
from tests.compliance.conftest import pipeline_resources
from tests.compliance.world import POLICY, RETENTION_DAYS, World, at

DAY = "2025-06-10"
NOW = at("2025-06-11", "08:00")
LEVELS = ServiceLevels(retention_days=RETENTION_DAYS, lock_mode="GOVERNANCE")
SCREENSHOT_COPY = Path(os.environ.get("MEET_REPORT_SCREENSHOT", "/tmp/meet-compliance-report.png"))


def build_history(world: World) -> None:
    """Nine days; day i has four held meetings of which (i % 4) lack a recording, and a
    cancelled one; day 4 has no meeting at all (a gap in the chart)."""
    first = date.fromisoformat(DAY) - timedelta(days=8)
    for i in range(9):
        day = (first + timedelta(days=i)).isoformat()
        if i == 4:
            continue
        for n in range(4):
            name = f"d{i}-m{n}"
            world.meeting(name, at(day, f"1{n}:00"), at(day, f"1{n}:45"), MeetingStatus.FINISHED)
            record = world.conference(
                name,
                at(day, f"1{n}:00"),
                at(day, f"1{n}:40"),
                joined=[("organizer@example.com", True)],
            )
            if n >= i % 4:
                world.artifact(
                    name, record, ArtifactKind.RECORDING, archived_at=at(day, f"1{n}:55"), size=512
                )
        world.meeting(
            f"d{i}-cancelled", at(day, "18:00"), at(day, "19:00"), MeetingStatus.CANCELLED
        )
        with world.sessions() as session:
            materialize_ledger(session, day, now=NOW, levels=LEVELS, actor="test")


def test_report_is_published_linked_and_readable(
    world: World,
    fresh_database_url: str,
    fresh_sessions: sessionmaker[Session],
    s3_server: EmbeddedS3,
    bucket: str,
    tmp_path: Path,
) -> None:
    build_history(world)
    resources = pipeline_resources(fresh_database_url, s3_server.endpoint_url, bucket, NOW)
    result = dg.materialize([compliance_report], partition_key=DAY, resources=resources)
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["dagster/row_count"].value == 5
    assert (
        metadata["open_violations"].value == 0 + 1 + 2 + 3 + 1 + 2 + 3 + 0
    )  # days 1..8 without day 4

    # The link in the metadata is a working (presigned) URL to the page itself.
    url = metadata["report"].value
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - loopback moto
        html = answer.read()
    html_key = metadata["html_uri"].value.split(f"s3://{bucket}/", 1)[1]
    assert html_key.startswith(f"meet/reports/{DAY}/compliance-{DAY}-") and html_key.endswith(
        ".html"
    )
    page = html.decode()
    for forbidden in ("<script", "<link", 'src="http', "url(", "<img"):
        assert forbidden not in page, f"not self-contained: {forbidden}"
    assert "<svg" in page and "Compliance rate, last 30 days" in page
    assert "d8-m0" not in page and "d7-m2" in page  # day 8 fully recorded; day 7 lacks three
    assert page.count("held_without_recording</td><td>") == 12

    def fetch(ext: str) -> bytes:
        key = metadata[f"{ext}_uri"].value.split(f"s3://{bucket}/", 1)[1]
        head = world.s3.head_object(Bucket=bucket, Key=key)
        assert head["ObjectLockMode"] == "GOVERNANCE", ext
        return world.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    with fresh_sessions() as session:
        expected = {
            r.external_id: r
            for r in session.scalars(select(LedgerEntry).where(LedgerEntry.partition_date == DAY))
        }
    csv = pd.read_csv(io.BytesIO(fetch("csv")))
    parquet = pq.read_table(io.BytesIO(fetch("parquet"))).to_pandas()
    for frame in (csv, parquet):
        assert list(frame.columns) == LEDGER_COLUMNS
        assert sorted(frame["external_id"]) == sorted(expected)
        by_id = frame.set_index("external_id")
        assert by_id.loc["d8-m0", "compliance_status"] == "compliant"
        assert by_id.loc["d8-cancelled", "outcome"] == "cancelled"
        assert by_id.loc["d8-m1", "recordings_archived"] == 1
    assert (
        str(parquet["scheduled_start"].dtype).startswith("datetime64")
        and parquet["scheduled_start"].dt.tz is not None
    )
    assert parquet.set_index("external_id").loc["d8-m0", "scheduled_start"] == pd.Timestamp(
        at(DAY, "10:00")
    )

    # Idempotent: the same content lands on the same keys, no second version.
    dg.materialize([compliance_report], partition_key=DAY, resources=resources)
    listed = world.s3.list_object_versions(Bucket=bucket, Prefix=f"meet/reports/{DAY}/")
    assert len(listed.get("Versions", [])) == 3

    browser = (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )
    if browser is None:
        pytest.skip("chromium not found: the screenshot part of this test needs it")
    page_file = tmp_path / "report.html"
    page_file.write_bytes(html)
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,1600",
            page_file.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=90,
    )
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1280, 1600)
    shutil.copyfile(shot, SCREENSHOT_COPY)  # looked at by a person: see the report note


def test_publishing_survives_s3_faults(
    world: World, fresh_sessions: sessionmaker[Session], s3_server: EmbeddedS3
) -> None:
    build_history(world)
    with fresh_sessions() as session:
        data = gather(session, DAY, NOW)
    writer = world.writer
    with FaultProxy(
        s3_server.endpoint_url,
        rate=1.0,
        kinds=("500", "503", "reset"),
        seed=9,
        operations={"PutObject", "HeadObject", "PutObjectRetention"},
        max_faults=4,
    ) as proxy:
        writer.client = s3_client(proxy.endpoint_url)
        published = publish(writer, data, prefix="meet")
        assert proxy.injected == 4
    assert set(published.objects) == {"csv", "parquet", "html"}
    assert all(o.lock_mode == "GOVERNANCE" for o in published.objects.values())


def test_publishing_with_s3_down_fails_loudly(
    world: World, fresh_sessions: sessionmaker[Session], s3_server: EmbeddedS3
) -> None:
    from meet_core.archive import ArchiveError

    with fresh_sessions() as session:
        data = gather(session, DAY, NOW)
    writer = ArchiveWriter(world.s3, world.bucket, POLICY)
    with FaultProxy(
        s3_server.endpoint_url, rate=1.0, kinds=("503",), operations={"PutObject"}
    ) as proxy:
        writer.client = s3_client(proxy.endpoint_url, max_attempts=2)
        with pytest.raises(ArchiveError, match="put_object"):
            publish(writer, data, prefix="meet")


def test_an_empty_day_renders(fresh_sessions: sessionmaker[Session]) -> None:
    with fresh_sessions() as session:
        data = gather(session, DAY, NOW)
    page = render_html(data).decode()
    assert "No open violations." in page and "no rated meetings in this period" in page


@pytest.mark.parametrize(
    "day", ["", "2025-13-01", "tomorrow", "2025-6-1", None, "2025-06-10T00:00"]
)
def test_gather_refuses_garbage_days(fresh_sessions: sessionmaker[Session], day: object) -> None:
    with fresh_sessions() as session, pytest.raises(ValueError):
        gather(session, day, NOW)  # type: ignore[arg-type]


def test_titles_are_escaped(world: World, fresh_sessions: sessionmaker[Session]) -> None:
    meeting_id = world.meeting("<b>x</b>", at(DAY, "09:00"), at(DAY, "10:00"), MeetingStatus.FAILED)
    from sqlalchemy import update

    from meet_core.db.models import Meeting

    with fresh_sessions() as session:
        session.execute(
            update(Meeting)
            .where(Meeting.id == meeting_id)
            .values(title="<script>alert(1)</script>")
        )
        materialize_ledger(session, DAY, now=NOW, levels=LEVELS, actor="test")
    with fresh_sessions() as session:
        page = render_html(gather(session, DAY, NOW)).decode()
    assert (
        "<script>" not in page
        and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        and "&lt;b&gt;x&lt;/b&gt;" in page
    )
