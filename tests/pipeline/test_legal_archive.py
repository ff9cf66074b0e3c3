"""The archive path feeds search and legal matters: a transcript archived by the pipeline is
searchable, and a held matter whose saved search matches the meeting collects it and puts
every newly archived object under legal hold (read back from S3)."""

from __future__ import annotations

from sqlalchemy import select

from meet_core.archive.lock import read_legal_hold
from meet_core.db.models import ArchiveManifestEntry, SearchDocument
from meet_core.matters.holds import hold_matter
from meet_core.matters.service import add_meetings, create_matter
from meet_core.search import parse_filters, search
from meet_sandbox.emulator import SandboxClient
from meet_sandbox.pipeline_harness import ARCHIVE_ASSETS, PipelineHarness
from tests.pipeline.conftest import HarnessFactory


def test_archiving_indexes_the_transcript_and_holds_objects_for_a_collecting_matter(
    harness_factory: HarnessFactory,
) -> None:
    h = harness_factory()
    with h.sessions.begin() as session:
        matter = create_matter(session, name="Collecting", description=None, actor="officer")
        add_meetings(session, matter, actor="officer", filters=parse_filters({"title": "XOMA-legal"}))
    assert hold_matter(h.sessions, h.s3, "Collecting", actor="officer").objects == 0
    meeting_id = h.hold_meeting("XOMA-legal")
    [request] = h.run_requests("archive_sensor")
    h.materialize(ARCHIVE_ASSETS, request.partition_key or "")
    with h.sessions() as session:
        entries = session.scalars(select(ArchiveManifestEntry).where(
            ArchiveManifestEntry.meeting_id == meeting_id)).all()
        document = session.scalars(select(SearchDocument).where(SearchDocument.meeting_id == meeting_id)).one()
    assert {e.kind for e in entries} == {"recording", "transcript_text", "transcript_entries"}
    for entry in entries:
        assert entry.state == "archived" and entry.legal_hold
        assert read_legal_hold(h.s3, entry.bucket, entry.object_key, entry.version_id)
    assert document.lines and document.body
    said = document.lines[0]["text"].split()[0]
    with h.sessions() as session:
        hits = search(session, parse_filters({"text": said, "title": "XOMA-legal"}))
    assert [hit.meeting_id for hit in hits] == [meeting_id]
    assert hits[0].held_by_matters == ["Collecting"]
    assert hits[0].documents[0]["lines"][0]["speaker"]


def test_archived_smart_notes_are_searchable_and_a_transcript_shows_once(harness: PipelineHarness) -> None:
    from meet_core.db.models import MatterCollectQueue
    from tests.pipeline.test_artifact_formats import hold, manifest

    h = harness
    meeting_id = hold(h, "XOMA-notes-search", smart_notes=True)
    h.archive_ready()
    rows = manifest(h, meeting_id)
    assert {k: r.state for k, r in rows.items()} == {k: "archived" for k in rows}
    with h.sessions() as session:
        documents = {d.kind: d for d in session.scalars(
            select(SearchDocument).where(SearchDocument.meeting_id == meeting_id))}
        assert not session.scalars(select(MatterCollectQueue)).all()  # every object collected
    # The transcript's text was indexed until its entries were, then replaced: one each.
    assert set(documents) == {"transcript", "smart_note"}
    assert documents["smart_note"].manifest_id == rows["smart_notes"].id
    assert "Notes by Gemini" in documents["smart_note"].body
    with h.sessions() as session:
        [hit] = search(session, parse_filters({"text": '"Notes by Gemini"'}))
    assert hit.meeting_id == meeting_id
    [document] = hit.documents
    assert document["kind"] == "smart_note" and document["object"]["version_id"] == rows["smart_notes"].version_id
    assert document["lines"][0]["speaker"] is None and document["lines"][0]["start_time"] is None


def test_a_text_transcript_without_entries_is_searchable_until_they_come(
    harness_factory: HarnessFactory, people: SandboxClient
) -> None:
    """A plain-text transcript (downloaded, checked against Drive) whose entries Google will
    not give: its text is searchable, without speakers; the entries replace it once archived."""
    from tests.pipeline.test_artifact_formats import hold, manifest

    h = harness_factory(google={"deadline_seconds": 1})
    people.settings(transcript_format="text")
    meeting_id = hold(h, "XOMA-text-only")
    people.faults(kinds=["500"], apis=["meet"], methods=["meet.conferenceRecords.transcripts.entries.list"])
    [request] = h.run_requests("archive_sensor")
    h.materialize(ARCHIVE_ASSETS, request.partition_key or "", raise_on_error=False)
    rows = manifest(h, meeting_id)
    assert rows["transcript_text"].state == "archived" and rows["transcript_entries"].state == "failed"
    with h.sessions() as session:
        [hit] = search(session, parse_filters({"text": "Transcript", "title": "XOMA-text-only"}))
    [document] = hit.documents
    assert document["kind"] == "transcript_text" and document["lines"][0]["speaker"] is None
    assert document["object"]["version_id"] == rows["transcript_text"].version_id
    people.clear_faults()
    h.archive_ready()
    with h.sessions() as session:
        kinds = session.scalars(select(SearchDocument.kind).where(SearchDocument.meeting_id == meeting_id)).all()
    assert kinds == ["transcript"]
