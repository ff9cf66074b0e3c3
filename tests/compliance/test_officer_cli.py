"""A compliance officer's questions, each answered by one command run as they run it (the
console script in a subprocess): `ledger show`, `violation list` with the meeting named, and
`report` fetched from S3 with its SHA-256 checked."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from meet_core.compliance.report import gather, publish
from meet_core.db.models import MeetingStatus
from meet_sandbox.s3 import EmbeddedS3
from tests.compliance.test_ledger_day import DAY, NOW, build_day, run_day
from tests.compliance.world import World, at
from tests.core.test_cli import run


@pytest.fixture
def judged(world: World, fresh_database_url: str, s3_server: EmbeddedS3, bucket: str, tmp_path: Path) -> dict[str, str]:
    """The simulated day of test_ledger_day, judged by the real ledger; the CLI's environment."""
    build_day(world)
    run_day(fresh_database_url, s3_server, bucket, NOW)
    return {
        "MEET_DATABASE_URL": fresh_database_url,
        "MEET_HOME": str(tmp_path),
        "MEET_S3_ENDPOINT_URL": s3_server.endpoint_url,
        "MEET_S3_BUCKET": bucket,
        "MEET_S3_PREFIX": "meet",
    }


def test_ledger_show_lists_verdicts_and_who_attended(judged: dict[str, str]) -> None:
    shown = run(["ledger", "show", "--day", DAY, "--status", "violation", "--json"], judged)
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert {r["verdict"] for r in rows} == {"violation"}
    assert sorted((r["external_id"], r["reasons"]) for r in rows) == [
        ("checksum_bad", ["checksum_mismatch"]),
        ("external_only", ["held_without_recording"]),
        ("late_archive", ["recording_not_archived_in_time"]),
        ("overdue", ["recording_not_archived_in_time"]),
        ("provisioning_failed", ["provisioning_failed"]),
    ]
    by_id = {r["external_id"]: r for r in rows}
    overdue = by_id["overdue"]
    assert overdue["reasons"] and overdue["title"]
    organizer = [a for a in overdue["attendees"] if a["email"] == "organizer@example.com"]
    assert organizer == [{**organizer[0], "invited": True, "attended": True, "seconds": 600}]
    absent = [a for a in overdue["attendees"] if a["invited"] and not a["attended"]]
    assert absent and all(a["first_joined_at"] is None for a in absent)  # the guests who did not come

    everything = json.loads(run(["ledger", "show", "--day", DAY, "--json"], judged).stdout)
    external = next(r for r in everything if r["external_id"] == "external_only")
    uninvited = [a for a in external["attendees"] if not a["invited"]]
    assert {a["email"] for a in uninvited} == {"a@other.example", None}  # one external, one anonymous
    assert {r["verdict"] for r in everything} >= {"compliant", "violation"}

    text = run(["ledger", "show", "--day", DAY, "--status", "violation"], judged)
    assert text.returncode == 0 and "overdue" in text.stdout and "VIOLATION" in text.stdout
    assert "organizer@example.com" in text.stdout and "did not attend" in text.stdout
    empty = run(["ledger", "show", "--day", "2030-01-01"], judged)
    assert empty.returncode == 0 and "no ledger rows for 2030-01-01" in empty.stdout


def test_violation_list_names_the_meeting_and_filters(judged: dict[str, str]) -> None:
    listed = run(["violation", "list", "--json"], judged)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert rows and all(r["day"] == DAY and r["external_id"] and r["title"] and r["detail"] for r in rows)
    reasons = {r["reason"] for r in rows}
    assert "held_without_recording" in reasons

    only = json.loads(run(["violation", "list", "--reason", "held_without_recording", "--json"], judged).stdout)
    assert only and {r["reason"] for r in only} == {"held_without_recording"}
    assert json.loads(run(["violation", "list", "--day", "2030-01-01", "--json"], judged).stdout) == []
    table = run(["violation", "list", "--day", DAY], judged)
    assert table.returncode == 0 and "XOMA id" in table.stdout and rows[0]["external_id"] in table.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["ledger", "show"], "--day"),
        (["ledger", "show", "--day", "yesterday"], "expected a day as YYYY-MM-DD"),
        (["ledger", "show", "--day", "2025-02-30"], "not a date"),
        (["ledger", "show", "--day", DAY, "--status", "fine"], "unknown compliance status"),
        (["violation", "list", "--reason", "rude"], "unknown violation reason"),
        (["violation", "list", "--day", "06/02/2025"], "expected a day as YYYY-MM-DD"),
        (["report", "--day", "2025-6-2"], "expected a day as YYYY-MM-DD"),
        (["report", "--day", DAY, "--format", "pdf"], "invalid choice"),
        (["report", "--day", DAY, "--open", "--out", "x.html"], "not allowed with"),
    ],
)
def test_garbage_is_refused_with_usage_errors(args: list[str], expected: str, tmp_path: Path) -> None:
    result = run(args, {"MEET_HOME": str(tmp_path)})
    assert result.returncode == 2 and expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_report_is_fetched_and_its_sha256_checked(
    judged: dict[str, str], world: World, fresh_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    missing = run(["report", "--day", DAY], judged)
    assert missing.returncode == 1 and f"no html report stored for {DAY}" in missing.stderr

    with fresh_sessions() as session:
        data = gather(session, DAY, datetime(2025, 6, 3, 12, tzinfo=UTC))
    published = publish(world.writer, data, prefix="meet")
    out = tmp_path / "report.html"
    fetched = run(["report", "--day", DAY, "--out", str(out)], judged)
    assert fetched.returncode == 0, fetched.stderr
    html = published.objects["html"]
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    # The page names who attended the held meetings in violation, uninvited guests included.
    attended = page[page.index("Who attended"):page.index("<h2>Open violations")]
    assert "a@other.example" in attended and "organizer@example.com" in attended and ">NO<" in attended
    assert html.sha256_hex in fetched.stdout and "verified" in fetched.stdout
    parquet = run(["report", "--day", DAY, "--format", "parquet"], judged)
    assert parquet.returncode == 0 and (Path(judged["MEET_HOME"]) / "reports").is_dir()

    time.sleep(1.1)  # S3 orders versions by a time in whole seconds
    world.s3.put_object(Bucket=html.bucket, Key=html.key, Body=b"<html>edited</html>",
                        Metadata={"sha256": html.sha256_hex})
    tampered = run(["report", "--day", DAY, "--out", str(out)], judged)
    assert tampered.returncode == 1 and "SHA-256" in tampered.stderr and html.key in tampered.stderr


def test_invited_count_is_the_guest_list_as_xoma_sent_it(
    world: World, fresh_database_url: str, s3_server: EmbeddedS3, bucket: str, tmp_path: Path
) -> None:
    """docs/compliance.md: the organizer counts among the invited only when XOMA lists them as
    a participant (as the API stores it); invited_count matches the invitee rows one to one."""
    world.meeting("listed", at(DAY, "09:00"), at(DAY, "10:00"), MeetingStatus.FINISHED, guests=2)
    world.meeting("unlisted", at(DAY, "11:00"), at(DAY, "12:00"), MeetingStatus.FINISHED, guests=2,
                  organizer_listed=False)
    for name in ("listed", "unlisted"):
        start = at(DAY, "09:01" if name == "listed" else "11:01")
        world.conference(name, start, start + (at(DAY, "09:50") - at(DAY, "09:01")),
                         joined=[("organizer@example.com", name == "listed")])
    run_day(fresh_database_url, s3_server, bucket, NOW)
    env = {"MEET_DATABASE_URL": fresh_database_url, "MEET_HOME": str(tmp_path)}
    shown = run(["ledger", "show", "--day", DAY, "--json"], env)
    assert shown.returncode == 0, shown.stderr
    rows = {r["external_id"]: r for r in json.loads(shown.stdout)}
    counts = {name: (r["invited_count"], r["joined_count"], r["invited_joined_count"]) for name, r in rows.items()}
    assert counts == {"listed": (3, 1, 1), "unlisted": (2, 1, 0)}
    for row in rows.values():
        assert row["invited_count"] == sum(1 for a in row["attendees"] if a["invited"])
