"""The auditor queries of docs/compliance.md run as written, on both engines, over the
simulated day, and answer what they promise."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from meet_core.compliance.digests import write_digests
from meet_core.db.types import utcnow
from meet_sandbox.s3 import EmbeddedS3
from tests.compliance.test_ledger_day import NOW, build_day, run_day
from tests.compliance.world import World

DOC = Path(__file__).resolve().parents[2] / "docs" / "compliance.md"


def doc_queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOC.read_text(), flags=re.S)


def test_documented_queries_answer_what_they_promise(
    world: World,
    fresh_database_url: str,
    fresh_sessions: sessionmaker[Session],
    s3_server: EmbeddedS3,
    bucket: str,
) -> None:
    build_day(world)
    run_day(fresh_database_url, s3_server, bucket, NOW)
    write_digests(world.sessions, world.writer, prefix="meet", now=utcnow())
    queries = doc_queries()
    assert len(queries) == 9
    # The March example, asked about the simulated June day instead.
    queries[0] = queries[0].replace("2025-03-01", "2025-06-01").replace("2025-03-31", "2025-06-30")
    queries[6] = queries[6].replace(
        "00000000-0000-0000-0000-000000000000", world.meetings["normal"]
    )
    with fresh_sessions() as session:
        results = [session.execute(text(q)).mappings().all() for q in queries]
    recordings, violations, monthly, unrecorded, attended, open_now, trail, digests, dead = results

    normal = [r for r in recordings if r["external_id"] == "normal"]
    assert sorted(r["kind"] for r in normal) == [
        "recording",
        "transcript_entries",
        "transcript_text",
    ]
    assert all(r["s3_uri"].startswith(f"s3://{bucket}/") and len(r["sha256"]) == 64 for r in normal)
    assert [r["kind"] for r in recordings if r["external_id"] == "no_show"] == [None]
    assert len({r["external_id"] for r in recordings}) == 11

    assert sorted(v["reason"] for v in violations) == sorted(
        [
            "held_without_recording",
            "recording_not_archived_in_time",
            "recording_not_archived_in_time",
            "checksum_mismatch",
            "provisioning_failed",
        ]
    )
    assert all(v["state"] == "open" and v["resolved_by"] is None for v in violations)
    assert [(m["month"], m["meetings"], m["held"], m["violation"]) for m in monthly] == [
        ("2025-06", 11, 8, 5)
    ]
    assert sorted(r["external_id"] for r in unrecorded) == ["external_only", "overdue", "recent"]
    # Held meetings in violation, and everyone who attended them: the organizer where one
    # came (invited), the external and the anonymous guest of external_only (uninvited).
    assert {(a["external_id"], a["email"], bool(a["invited"])) for a in attended} == {
        ("checksum_bad", "organizer@example.com", True),
        ("late_archive", "organizer@example.com", True),
        ("overdue", "organizer@example.com", True),
        ("external_only", "a@other.example", False),
        ("external_only", None, False),
    }
    assert all(a["seconds"] == 600 for a in attended)
    assert len(open_now) == 5
    assert [t["action"] for t in trail][:1] == ["meeting.created"] and len(
        trail
    ) == 4  # created, 3 objects archived
    assert [
        (d["number"], d["object"].startswith(f"s3://{bucket}/meet/audit-digests/")) for d in digests
    ] == [(1, True)]
    assert dead == []
