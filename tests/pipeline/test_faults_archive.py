"""Faults on each Google and S3 path of archiving: what fails is visible (run failure,
manifest reason), cleaned up (no upload left behind) and retried by the next tick."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from meet_core.db.models import ArchiveManifestEntry
from meet_sandbox.emulator import SandboxClient
from meet_sandbox.pipeline_harness import ARCHIVE_ASSETS, PipelineHarness
from meet_sandbox.s3.faultproxy import FaultProxy
from tests.pipeline.conftest import HarnessFactory
from tests.pipeline.scenario import MULTIPART_SIZE


def manifest(h: PipelineHarness, meeting_id: str) -> list[ArchiveManifestEntry]:
    with h.sessions() as session:
        return list(
            session.scalars(
                select(ArchiveManifestEntry)
                .where(ArchiveManifestEntry.meeting_id == meeting_id)
                .order_by(ArchiveManifestEntry.id)
            )
        )


def test_an_interrupted_upload_is_aborted_recorded_and_retried_on_the_next_tick(
    harness_factory: HarnessFactory, pipeline_s3_url: str
) -> None:
    with FaultProxy(
        pipeline_s3_url, rate=1.0, kinds=["500", "reset"], operations={"UploadPart"}
    ) as proxy:
        # Fewer botocore attempts only make the test quicker; the writer's own retries stay.
        h = harness_factory(s3_endpoint=proxy.endpoint_url, s3={"max_attempts": 2})
        meeting_id = h.hold_meeting("XOMA-upload", size=MULTIPART_SIZE)
        first = h.run_requests("archive_sensor")
        result = h.materialize(ARCHIVE_ASSETS, first[0].partition_key or "", raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        user_failure = failure.step_failure_data.user_failure_data
        assert user_failure is not None and "failed" in (user_failure.description or "")
        recording = next(r for r in manifest(h, meeting_id) if r.kind == "recording")
        assert recording.state == "failed" and recording.attempts == 1
        assert "multipart upload" in (recording.last_error or "") and "(aborted)" in (
            recording.last_error or ""
        )
        assert not h.s3.list_multipart_uploads(Bucket=h.bucket).get("Uploads")  # aborted
        assert proxy.injected > 0

        proxy.set_rate(0.0)
        second = h.run_requests("archive_sensor")
        assert second and second[0].run_key != first[0].run_key  # the failure asks for a new run
        h.materialize(ARCHIVE_ASSETS, second[0].partition_key or "")
    recording = next(r for r in manifest(h, meeting_id) if r.kind == "recording")
    assert (
        recording.state == "archived" and recording.attempts == 2 and recording.last_error is None
    )
    head = h.s3.head_object(Bucket=h.bucket, Key=recording.object_key or "")
    assert (
        head["ContentLength"] == MULTIPART_SIZE
        and head["Metadata"]["sha256"] == recording.drive_sha256
    )
    assert not h.s3.list_multipart_uploads(Bucket=h.bucket).get("Uploads")


def test_a_google_outage_during_download_is_recorded_and_retried(
    harness_factory: HarnessFactory, people: SandboxClient
) -> None:
    h = harness_factory(google={"deadline_seconds": 1})
    meeting_id = h.hold_meeting("XOMA-outage")
    people.faults(kinds=["503"], apis=["drive"])  # every Drive call, until cleared
    requests = h.run_requests("archive_sensor")
    h.materialize(ARCHIVE_ASSETS, requests[0].partition_key or "", raise_on_error=False)
    rows = manifest(h, meeting_id)
    assert rows and all(
        r.state == "failed" and "GoogleUnavailable" in (r.last_error or "")
        for r in rows
        if r.kind != "transcript_entries"
    )
    assert h.s3.list_object_versions(Bucket=h.bucket).get("Versions") is None or all(
        r.object_key is None for r in rows if r.state == "failed"
    )
    people.clear_faults()
    h.archive_ready()
    assert all(r.state == "archived" for r in manifest(h, meeting_id))


@pytest.mark.parametrize("allowed", [False, True])
def test_a_bucket_without_object_lock_is_refused_unless_allowed(
    harness_factory: HarnessFactory, unlocked_bucket: str, allowed: bool
) -> None:
    env = {"MEET_ALLOW_UNLOCKED_BUCKET": "true"} if allowed else {}
    h = harness_factory(bucket=unlocked_bucket, env=env)
    meeting_id = h.hold_meeting("XOMA-unlocked")
    request = h.run_requests("archive_sensor")[0]
    result = h.materialize(ARCHIVE_ASSETS, request.partition_key or "", raise_on_error=False)
    rows = manifest(h, meeting_id)
    if allowed:
        assert result.success
        assert all(
            r.state == "archived" and r.lock_mode is None and r.retain_until is None for r in rows
        )
    else:
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        assert "no Object Lock" in str(failure.step_failure_data.error)
        assert all(r.state == "pending" and r.attempts == 0 for r in rows)
        assert not h.s3.list_objects_v2(Bucket=unlocked_bucket).get("Contents")
