"""Every artifact Google makes, in either format, through the pipeline against the
emulator on both engines: transcripts as Google Docs (files.export) and as plain-text
Drive files (alt=media with Drive's checksums), and Gemini smart notes; all under Object
Lock with SHA-256, counted by the ledger and listed by the recordings route."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from meet_api.domain.auth.principal import Principal
from meet_api.domain.meetings.queries import get_recordings
from meet_core.compliance.facts import facts_for_meetings
from meet_core.compliance.rules import assess
from meet_core.compliance.service_levels import ServiceLevels
from meet_core.db.models import ArchiveManifestEntry, Role
from meet_sandbox.emulator import SandboxClient
from meet_sandbox.pipeline_harness import ARCHIVE_ASSETS, ORGANIZER, PipelineHarness
from tests.pipeline.conftest import HarnessFactory

AUDITOR = Principal(key_id="k", key_name="auditor", role=Role.AUDITOR, client_id="", client_name="")
SMART_NOTES_MASK = "config.artifactConfig.smartNotesConfig.autoSmartNotesGeneration"


@dataclass
class _State:
    sessions: Any


def manifest(h: PipelineHarness, meeting_id: str) -> dict[str, ArchiveManifestEntry]:
    with h.sessions() as session:
        rows = session.scalars(
            select(ArchiveManifestEntry).where(ArchiveManifestEntry.meeting_id == meeting_id)
        ).all()
    return {r.kind: r for r in rows}


def hold(h: PipelineHarness, external_id: str, *, smart_notes: bool = False) -> str:
    """The organizer holds a meeting alone for 5 minutes; its files are generated."""
    t0 = h.now()
    meeting_id = h.add_meeting(
        external_id, start=t0 - timedelta(minutes=1), end=t0 + timedelta(minutes=30), guests=[]
    )
    h.tick("provisioning_sensor")
    space = h.space(meeting_id)
    if smart_notes:  # what an admin (or the organizer) turns on for the space
        body = {"config": {"artifactConfig": {"smartNotesConfig": {"autoSmartNotesGeneration": "ON"}}}}
        h.gateway._execute(
            "meet",
            ORGANIZER,
            lambda s: s.spaces().patch(name=space, updateMask=SMART_NOTES_MASK, body=body),
        )
    h.people.join(space, ORGANIZER, display_name="Olga Organizer")
    h.advance(5)
    h.people.leave(space, ORGANIZER)
    h.advance(int(h.pipeline.window.rejoin_gap.total_seconds() // 60) + 3)
    h.tick("conference_sensor")
    return meeting_id


def stored(h: PipelineHarness, row: ArchiveManifestEntry) -> bytes:
    assert row.object_key and row.version_id
    got = h.s3.get_object(Bucket=h.bucket, Key=row.object_key, VersionId=row.version_id)
    assert got["ObjectLockMode"] in ("COMPLIANCE", "GOVERNANCE")
    data: bytes = got["Body"].read()
    return data


@pytest.mark.parametrize("transcript_format", ["google_doc", "text"])
def test_transcripts_are_archived_in_either_format(
    harness: PipelineHarness, people: SandboxClient, transcript_format: str
) -> None:
    h = harness
    people.settings(transcript_format=transcript_format)
    meeting_id = hold(h, f"XOMA-{transcript_format}")
    people.call("DELETE", "requests")
    h.archive_ready()
    rows = manifest(h, meeting_id)
    text = rows["transcript_text"]
    assert text.state == "archived" and text.last_error is None
    data = stored(h, text)
    assert hashlib.sha256(data).hexdigest() == text.sha256
    assert "Transcript" in data.decode("utf-8") and "Olga Organizer" in data.decode("utf-8")
    methods = {(r["method_id"], r["path"].rsplit("/", 1)[-1]) for r in people.requests()}
    exported = any(m == "drive.files.export" for m, _ in methods)
    if transcript_format == "google_doc":
        assert exported and text.content_type == "text/plain; charset=utf-8"
        assert text.drive_sha256 is None  # Docs have no checksum: the read bytes are the claim
    else:
        # export answers 403 for a text file: it is downloaded and checked against Drive.
        assert not exported
        assert text.drive_sha256 == text.sha256 and text.drive_size == len(data)
        assert text.drive_md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()
        assert text.content_type == "text/plain"
    assert rows["transcript_entries"].state == "archived"


def test_smart_notes_are_archived_counted_and_listed(harness: PipelineHarness) -> None:
    h = harness
    meeting_id = hold(h, "XOMA-notes", smart_notes=True)
    h.archive_ready()
    notes = manifest(h, meeting_id)["smart_notes"]
    assert notes.state == "archived" and notes.sha256 and notes.retain_until
    assert notes.object_key and "/smart_notes/" in notes.object_key
    data = stored(h, notes)
    assert hashlib.sha256(data).hexdigest() == notes.sha256
    assert "Notes by Gemini" in data.decode("utf-8")
    listed = msgspec.to_builtins(get_recordings(_State(h.sessions), AUDITOR, meeting_id, presign=False))  # type: ignore[arg-type]
    assert {i["kind"] for i in listed["items"]} == {
        "recording",
        "transcript_text",
        "transcript_entries",
        "smart_notes",
    }
    with h.sessions() as session:
        [facts] = facts_for_meetings(session, [meeting_id])
    verdict = assess(facts, h.now(), ServiceLevels())
    assert (verdict.smart_notes_found, verdict.smart_notes_archived) == (1, 1)
    assert (verdict.transcripts_found, verdict.transcripts_archived) == (1, 1)


def test_no_smart_notes_when_the_space_has_them_off(harness: PipelineHarness) -> None:
    h = harness
    meeting_id = hold(h, "XOMA-no-notes")
    assert "smart_notes" not in manifest(h, meeting_id)


def test_a_text_transcript_download_survives_faults_and_an_outage_is_retried(
    harness_factory: HarnessFactory, people: SandboxClient
) -> None:
    h = harness_factory(google={"deadline_seconds": 1})
    people.settings(transcript_format="text")
    meeting_id = hold(h, "XOMA-text-faults")
    # Transient: two failures of the download itself are retried inside the gateway.
    people.faults(kinds=["429", "500"], count=2, apis=["drive"], methods=["drive.files.get"], retry_after=0)
    # Outage: every Drive call fails until cleared; the row records why.
    requests = h.run_requests("archive_sensor")
    h.materialize(ARCHIVE_ASSETS, requests[0].partition_key or "", raise_on_error=False)
    text = manifest(h, meeting_id)["transcript_text"]
    assert text.state == "archived", text.last_error
    other = hold(h, "XOMA-text-outage")
    people.faults(kinds=["503"], apis=["drive"])
    requests = h.run_requests("archive_sensor")
    h.materialize(ARCHIVE_ASSETS, requests[0].partition_key or "", raise_on_error=False)
    failed = manifest(h, other)["transcript_text"]
    assert failed.state == "failed" and "GoogleUnavailable" in (failed.last_error or "")
    people.clear_faults()
    h.archive_ready()
    again = manifest(h, other)["transcript_text"]
    assert again.state == "archived" and again.drive_sha256 == again.sha256


def test_a_text_transcript_stored_by_a_transfer_that_died_is_searchable_after_the_rerun(
    harness_factory: HarnessFactory, people: SandboxClient
) -> None:
    from sqlalchemy import delete, update

    from meet_core.db.models import SearchDocument

    h = harness_factory(google={"deadline_seconds": 1})  # the entries' 500s fail fast
    people.settings(transcript_format="text")
    # Its entries cannot be read (Google expired them): the text is what search has.
    people.faults(kinds=["500"], apis=["meet"], methods=["meet.conferenceRecords.transcripts.entries.list"])
    meeting_id = hold(h, "XOMA-text-rerun")
    h.archive_ready(raise_on_error=False)
    text = manifest(h, meeting_id)["transcript_text"]
    assert text.state == "archived", text.last_error
    # As a transfer that died after its upload, before its commit, leaves it: the object in
    # S3, the row not archived, nothing indexed.
    with h.sessions.begin() as session:
        session.execute(delete(SearchDocument).where(SearchDocument.manifest_id == text.id))
        session.execute(update(ArchiveManifestEntry).where(ArchiveManifestEntry.id == text.id).values(
            state="pending", archived_at=None, version_id=None, sha256=None, object_key=None))
    h.archive_ready(raise_on_error=False)
    again = manifest(h, meeting_id)["transcript_text"]
    assert again.state == "archived" and again.version_id == text.version_id  # the same object, not a copy
    with h.sessions() as session:
        document = session.scalar(select(SearchDocument).where(SearchDocument.manifest_id == text.id))
    assert document is not None and document.kind == "transcript_text"
    assert document.body.encode() in stored(h, again).decode("utf-8-sig").replace("\r\n", "\n").encode()
