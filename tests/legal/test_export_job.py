"""The Dagster export job: the bundle it writes verifies; its log shows progress per object."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from meet_core.matters.bundle_verify import verify_bundle
from meet_core.matters.service import add_meetings, create_matter
from meet_core.settings import reset_settings
from meet_pipeline.defs.matters.jobs import matter_export_job
from meet_pipeline.resources import ArchiveResource, DatabaseResource
from meet_sandbox.s3 import EmbeddedS3
from tests.legal.conftest import LegalWorld


def test_the_export_job_writes_a_bundle_that_verifies(
    legal: LegalWorld, fresh_database_url: str, s3_server: EmbeddedS3, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEET_HOME", str(tmp_path / "home"))  # where the development signing key is made
    reset_settings()
    meeting = legal.archived_meeting("job-1", "2026-08-01", ["long export"])
    with legal.sessions.begin() as session:
        matter = create_matter(session, name="Big case", description=None, actor="a@example.com")
        add_meetings(session, matter, actor="a@example.com", meeting_ids=[meeting])
    out = tmp_path / "bundle"
    instance = dg.DagsterInstance.ephemeral()
    result = matter_export_job.execute_in_process(
        run_config={"ops": {"export_matter_bundle": {"config": {"matter": "Big case", "out": str(out)}}}},
        resources={
            "database": DatabaseResource(url=fresh_database_url),
            "s3": ArchiveResource(endpoint_url=s3_server.endpoint_url, bucket=legal.bucket, prefix="meet"),
        },
        instance=instance,
    )
    assert result.success
    assert verify_bundle(out) == []
    logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any(m.startswith("object 2/2: meetings/") for m in logs)  # progress, as the UI shows it
