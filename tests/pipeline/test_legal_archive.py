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
from meet_sandbox.pipeline_harness import ARCHIVE_ASSETS
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
