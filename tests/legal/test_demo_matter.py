"""The demo's matter step on its own (the headless demo runs it after the scenario)."""

from __future__ import annotations

from pathlib import Path

from meet_core.archive.lock import read_legal_hold
from meet_core.settings import Settings
from meet_sandbox.demo.legal import open_hold_export_verify
from meet_sandbox.s3 import EmbeddedS3
from tests.legal.conftest import LegalWorld
from tests.legal.test_holds import _objects


def test_the_demo_matter_holds_exports_and_verifies(
    legal: LegalWorld, fresh_database_url: str, s3_server: EmbeddedS3, tmp_path: Path
) -> None:
    ids = [legal.archived_meeting(f"d-{i}", "2026-09-01", [f"demo line {i}"]) for i in range(2)]
    settings = Settings.from_env({"MEET_HOME": str(tmp_path), "MEET_DATABASE_URL": fresh_database_url,
                                  "MEET_S3_ENDPOINT_URL": s3_server.endpoint_url, "MEET_S3_BUCKET": legal.bucket})
    outcome = open_hold_export_verify(legal.sessions, legal.s3, settings, ids)
    assert outcome.objects_held == 4 and outcome.export_verified, outcome.problems
    assert (tmp_path / "export-signing-key.pem").stat().st_mode & 0o077 == 0  # the development key is private
    for entry in _objects(legal, ids):
        assert read_legal_hold(legal.s3, entry.bucket, entry.object_key, entry.version_id)
