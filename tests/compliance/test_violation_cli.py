"""`meet-archive violation list | resolve`, run as an operator runs it: a subprocess with
environment variables against a day judged by the real ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.db.models import AuditEvent, ComplianceViolation, MeetingStatus
from meet_sandbox.s3 import EmbeddedS3
from tests.compliance.test_ledger_day import NOW, run_day
from tests.compliance.world import World, at
from tests.core.test_cli import run

DAY = "2025-06-02"


@pytest.fixture
def judged_day(world: World, fresh_database_url: str, s3_server: EmbeddedS3, bucket: str) -> str:
    """A day with one meeting that was held and not recorded: one open violation."""
    world.meeting("unrecorded", at(DAY, "09:00"), at(DAY, "10:00"), MeetingStatus.FINISHED)
    world.conference("unrecorded", at(DAY, "09:00"), at(DAY, "09:50"), joined=[("organizer@example.com", True)])
    run_day(fresh_database_url, s3_server, bucket, NOW)
    return world.meetings["unrecorded"]


def _open(sessions: sessionmaker[Session]) -> list[ComplianceViolation]:
    with sessions() as session:
        return list(session.scalars(select(ComplianceViolation).where(ComplianceViolation.state == "open")))


def test_list_then_resolve_is_audited_and_final(
    judged_day: str, fresh_database_url: str, fresh_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    env = {"MEET_DATABASE_URL": fresh_database_url, "MEET_HOME": str(tmp_path)}
    [violation] = _open(fresh_sessions)
    listed = run(["violation", "list"], env)
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.endswith(judged_day))
    assert line.split()[:3] == [str(violation.id), DAY, "unrecorded"] and violation.reason in line
    assert str(violation.id) in run(["violation", "list", "--meeting", judged_day], env).stdout
    assert judged_day not in run(["violation", "list", "--meeting", "other"], env).stdout

    done = run(["violation", "resolve", str(violation.id), "--by", " jane.auditor ", "--note", "re-recorded"], env)
    assert done.returncode == 0, done.stderr
    assert _open(fresh_sessions) == []
    assert judged_day not in run(["violation", "list"], env).stdout
    assert "resolved" in run(["violation", "list", "--all"], env).stdout
    with fresh_sessions() as session:
        row = session.get(ComplianceViolation, violation.id)
        events = session.scalars(select(AuditEvent).where(AuditEvent.actor == "person:jane.auditor")).all()
    assert row is not None and (row.resolved_by, row.resolution) == ("jane.auditor", "re-recorded")
    assert len(events) == 1

    again = run(["violation", "resolve", str(violation.id), "--by", "jane", "--note", "twice"], env)
    assert again.returncode == 1 and "no open violation" in again.stderr
    assert run(["audit", "verify", "--sample", "1"], env).returncode == 0


GARBAGE = [
    (["violation", "resolve", "abc", "--by", "jane", "--note", "n"], "expected a whole number"),
    (["violation", "resolve", "0", "--by", "jane", "--note", "n"], "expected a number >= 1"),
    (["violation", "resolve", "1", "--note", "n"], "--by"),
    (["violation", "resolve", "1", "--by", "jane"], "--note"),
    (["violation", "resolve", "1", "--by", "  ", "--note", "n"], "resolved_by"),
    (["violation", "resolve", "1", "--by", "jane", "--note", " "], "resolution"),
    (["violation", "resolve", "1", "--by", "ledger", "--note", "n"], "reserved for the ledger"),
    (["violation", "list", "--limit", "-1"], "expected a number >= 1"),
]


def test_garbage_is_refused_and_nothing_changes(
    judged_day: str, fresh_database_url: str, fresh_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    before = [v.id for v in _open(fresh_sessions)]
    assert before
    for args, expected in GARBAGE:
        result = run(args, {"MEET_DATABASE_URL": fresh_database_url, "MEET_HOME": str(tmp_path)})
        assert result.returncode == 2 and expected in result.stderr, (args, result.stderr)
    assert [v.id for v in _open(fresh_sessions)] == before
