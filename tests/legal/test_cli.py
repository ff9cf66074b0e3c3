"""`meet-archive search`, `matter …` and `export verify` as an officer runs them (the console
script in a subprocess), on both engines; garbage input exits 2 and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from meet_core.db.models import AuditEvent, Matter, MatterMeeting
from meet_core.matters.service import create_matter
from meet_sandbox.s3 import EmbeddedS3
from tests.core.test_cli import run
from tests.legal.conftest import LegalWorld


@pytest.fixture
def env(legal: LegalWorld, fresh_database_url: str, s3_server: EmbeddedS3, tmp_path: Path) -> dict[str, str]:
    return {
        "MEET_DATABASE_URL": fresh_database_url,
        "MEET_HOME": str(tmp_path / "home"),
        "MEET_S3_ENDPOINT_URL": s3_server.endpoint_url,
        "MEET_S3_BUCKET": legal.bucket,
    }


def test_an_officer_searches_opens_holds_exports_verifies_and_releases(
    legal: LegalWorld, env: dict[str, str], tmp_path: Path
) -> None:
    meeting = legal.archived_meeting("cli-1", "2026-07-01", ["we shred the documents tonight"],
                                     attendees=("insider@partner.test",))
    found = run(["search", '"shred the documents"', "--participant", "insider@partner.test", "--json"], env)
    assert found.returncode == 0, found.stderr
    assert [h["meeting"]["id"] for h in json.loads(found.stdout)] == [meeting]
    table = run(["search", "shred", "--from", "2026-07-01", "--to", "2026-07-01"], env)
    assert "we shred the documents tonight" in table.stdout and meeting in table.stdout
    assert run(["matter", "create", "--name", "Shredding", "--description", "internal", "--by", "Ann"],
               env).returncode == 0
    added = run(["matter", "add", "Shredding", "--text", "shred"], env)
    assert added.returncode == 0 and "1 meeting(s) added" in added.stdout, added.stderr
    held = run(["matter", "hold", "Shredding", "--by", "Ann"], env)
    assert held.returncode == 0 and "2 newly held" in held.stdout, held.stderr
    shown = json.loads(run(["matter", "show", "Shredding", "--json"], env).stdout)
    assert shown["objects_held"] == 2 and shown["meetings"][0]["id"] == meeting
    assert "Shredding" in run(["matter", "list"], env).stdout
    out = tmp_path / "bundle"
    exported = run(["matter", "export", "Shredding", "--out", str(out)], env)
    assert exported.returncode == 0, exported.stderr
    verified = run(["export", "verify", str(out)], env)
    assert verified.returncode == 0, verified.stderr
    (out / "meetings" / meeting / "record.json").write_text("{}")
    broken = run(["export", "verify", str(out)], env)
    assert broken.returncode == 1 and f"meetings/{meeting}/record.json" in broken.stderr
    released = run(["matter", "release", "Shredding", "--by", "Ann Officer", "--note", "closed"], env)
    assert released.returncode == 0 and "2 hold(s) lifted" in released.stdout, released.stderr


GARBAGE = [
    ["search"],
    ["search", "--participant", "not-an-email"],
    ["search", "x", "--from", "2026-02-30"],
    ["search", "x", "--status", "splendid"],
    ["search", "x", "--limit", "0"],
    ["search", '""'],
    ["matter", "create"],
    ["matter", "create", "--name", "   "],
    ["matter", "create", "--name", "Existing"],
    ["matter", "add", "Existing"],
    ["matter", "add", "Existing", "--meeting", "no-such-id"],
    ["matter", "add", "Existing", "--meeting", "x", "--title", "y"],
    ["matter", "add", "Missing", "--title", "y"],
    ["matter", "add", "Existing", "--participant", "bad"],
    ["matter", "release", "Existing", "--by", "Ann"],
    ["matter", "release", "Existing", "--by", "", "--note", "n"],
    ["matter", "release", "Existing", "--by", "Ann", "--note", "not held"],
    ["matter", "hold", "Missing"],
    ["matter", "show", "Missing"],
    ["matter", "export", "Existing"],
    ["export", "verify"],
]


@pytest.mark.parametrize("args", GARBAGE, ids=[" ".join(a) or "-" for a in GARBAGE])
def test_garbage_exits_2_and_writes_nothing(legal: LegalWorld, env: dict[str, str], args: list[str]) -> None:
    with legal.sessions.begin() as session:  # directly: one subprocess per case is enough
        create_matter(session, name="Existing", description=None, actor="test")

    def counts() -> tuple[int, ...]:
        with legal.sessions() as session:
            return tuple(session.scalar(select(func.count()).select_from(m)) or 0
                         for m in (Matter, MatterMeeting, AuditEvent))

    before = counts()
    done = run(args, env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.strip()
    assert counts() == before
