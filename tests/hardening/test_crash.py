"""Crash: the archiving process is killed with SIGKILL in the middle of a 96 MiB transfer
(S3 shows the multipart upload with some of its parts). The next run completes the
recording; no incomplete multipart upload is left behind; the manifest has one row for it
and the audit log one ``artifact.archived`` event.

S3 is moto behind :class:`InitiatedProxy`, which reports each upload's real initiation time
as S3 does (moto reports 2010 for all of them, which would let any "abort old uploads"
housekeeping look right by accident)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from meet_core.archive.manifest import STALE_CLAIM
from meet_core.db.models import ArchiveManifestEntry, AuditEvent
from meet_sandbox.emulator import EmulatorServer
from meet_sandbox.pipeline_harness import PipelineHarness, pipeline_environment
from meet_sandbox.s3 import EmbeddedS3
from meet_sandbox.s3.initiated import InitiatedProxy
from tests.pipeline.conftest import HarnessFactory

ROOT = Path(__file__).resolve().parents[2]
SIZE = 96 * 2**20
PART_MIB = 5
PARTS = -(-SIZE // (PART_MIB * 2**20))  # 20
KILL_AFTER_PARTS = 3


def recording_rows(h: PipelineHarness, meeting_id: str) -> list[ArchiveManifestEntry]:
    with h.sessions() as session:
        return list(
            session.scalars(
                select(ArchiveManifestEntry).where(
                    ArchiveManifestEntry.meeting_id == meeting_id,
                    ArchiveManifestEntry.kind == "recording",
                )
            )
        )


def wait_for_parts(h: PipelineHarness, child: subprocess.Popen[Any], log: Path) -> tuple[str, int]:
    """Poll S3 until the child's multipart upload holds KILL_AFTER_PARTS parts (a guard of
    a few minutes ends a hung run; nothing here measures time)."""
    give_up = time.monotonic() + 300
    while time.monotonic() < give_up:
        if child.poll() is not None:
            raise AssertionError(f"the archiving process ended first:\n{log.read_text()[-3000:]}")
        for upload in h.s3.list_multipart_uploads(Bucket=h.bucket).get("Uploads", []):
            parts = h.s3.list_parts(Bucket=h.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
            if len(parts.get("Parts", [])) >= KILL_AFTER_PARTS:
                return upload["Key"], len(parts["Parts"])
        time.sleep(0.05)
    raise AssertionError("no multipart upload made progress")


def test_sigkill_in_the_middle_of_a_large_transfer_then_the_next_run_completes_it(
    harness_factory: HarnessFactory,
    fresh_database_url: str,
    keyed_emulator: EmulatorServer,
    key_file: Path,
    s3_server: EmbeddedS3,
    bucket: str,
    tmp_path: Path,
) -> None:
    # UploadPart slowed (for the first run) so that the kill lands with some parts
    # uploaded and most not.
    s3 = InitiatedProxy(s3_server.endpoint_url, rate=1.0, kinds=["slow"],
                        operations={"UploadPart"}, delay_seconds=0.3).start()
    try:
        run_crash_and_recovery(
            harness_factory(s3_endpoint=s3.endpoint_url), s3, fresh_database_url,
            keyed_emulator, key_file, bucket, tmp_path,
        )
    finally:
        s3.stop()


def run_crash_and_recovery(
    h: PipelineHarness,
    s3: InitiatedProxy,
    database_url: str,
    emulator: EmulatorServer,
    key_file: Path,
    bucket: str,
    tmp_path: Path,
) -> None:
    meeting_id = h.hold_meeting("XOMA-crash", size=SIZE)
    partition = h.run_requests("archive_sensor")[0].partition_key or ""
    [row] = recording_rows(h, meeting_id)

    # The archiving process, in its own OS process.
    log = tmp_path / "child.log"
    with log.open("w") as out:
        env = {
            **os.environ,
            **pipeline_environment(
                database_url=database_url,
                emulator_url=emulator.base_url,
                key_file=key_file,
                s3_endpoint=s3.endpoint_url,
                bucket=bucket,
                home=tmp_path,
            ),
            "MEET_TEST_PART_SIZE_MIB": str(PART_MIB),
            "MEET_TEST_PART_CONCURRENCY": "1",
        }
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.hardening.crash_child", partition],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
        try:
            key, uploaded = wait_for_parts(h, child, log)
            os.kill(child.pid, signal.SIGKILL)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait(60)
    assert child.returncode == -signal.SIGKILL
    # Killed mid-transfer: an upload with some parts, no object, the row still claimed.
    assert KILL_AFTER_PARTS <= uploaded < PARTS
    assert [u["Key"] for u in h.s3.list_multipart_uploads(Bucket=h.bucket)["Uploads"]] == [key]
    assert not h.s3.list_object_versions(Bucket=h.bucket, Prefix=key).get("Versions")
    [claimed] = recording_rows(h, meeting_id)
    assert claimed.state == "archiving" and claimed.attempts == 1

    # The next run, once the dead process's claim is stale (the daemon's next tick then).
    s3.set_rate(0.0)
    h.advance(STALE_CLAIM.total_seconds() / 60 + 1)
    assert h.archive_ready()
    [done] = recording_rows(h, meeting_id)
    assert done.id == row.id and done.state == "archived" and done.attempts == 2
    assert done.object_key == key and done.size == SIZE
    versions = h.s3.list_object_versions(Bucket=h.bucket, Prefix=key).get("Versions", [])
    assert [v["VersionId"] for v in versions] == [done.version_id]
    body = h.s3.get_object(Bucket=h.bucket, Key=key, VersionId=done.version_id)["Body"]
    digest = hashlib.sha256()
    for chunk in body.iter_chunks(4 * 2**20):
        digest.update(chunk)
    assert digest.hexdigest() == done.sha256 == done.drive_sha256
    with h.sessions() as session:
        archived_events = [
            e.payload
            for e in session.scalars(
                select(AuditEvent).where(
                    AuditEvent.entity_id == meeting_id, AuditEvent.action == "artifact.archived"
                )
            )
            if e.payload.get("artifact") == done.artifact_name
        ]
    assert len(archived_events) == 1 and archived_events[0]["version_id"] == done.version_id
    # Nothing of the killed transfer is left behind.
    leftovers = [
        (u["Key"].rsplit("/", 1)[-1], u["UploadId"][:12], u["Initiated"])
        for u in _client(s3).list_multipart_uploads(Bucket=h.bucket).get("Uploads", [])
    ]
    assert not leftovers, (
        "the killed run's incomplete multipart upload is still there after the next run "
        f"(key, upload id, initiated as real S3 reports it): {leftovers}"
    )


def _client(proxy: InitiatedProxy) -> Any:
    """An S3 client through the proxy, which shows the real initiation times."""
    from meet_core.archive.client import s3_client

    return s3_client(proxy.endpoint_url)
