"""Smart notes and text-only transcripts are searchable; `search-index rebuild` rebuilds the
index from S3 (checksums verified, idempotent), on both engines."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from meet_core.db.models import (
    ArchiveManifestEntry,
    ArtifactKind,
    AuditEvent,
    MatterCollectQueue,
    MatterMeeting,
    MeetingStatus,
    SearchDocument,
)
from meet_core.matters.service import add_meetings, create_matter
from meet_core.search import index_document, parse_filters, search
from meet_core.search.reindex import rebuild
from meet_sandbox.s3 import EmbeddedS3
from meet_sandbox.s3.faultproxy import FaultProxy
from tests.compliance.world import at
from tests.core.test_cli import run
from tests.legal.conftest import LegalWorld, transcript_document

NOTES = "\ufeffabc-defg-hij - Notes by Gemini\r\n\r\nSummary\r\nThe board discussed the Lisbon acquisition.\r\n"
TEXT = "\ufeffabc - Transcript\r\n\r\n00:00:01\r\nOlga: the Oslo contract is signed\r\n"


def _meeting(legal: LegalWorld, external_id: str, day: str) -> tuple[str, str]:
    meeting = legal.meeting(external_id, at(day, "10:00"), at(day, "11:00"), MeetingStatus.FINISHED)
    return meeting, legal.conference(external_id, at(day, "10:00"), at(day, "11:00"), joined=[])


def _notes(legal: LegalWorld, external_id: str, record: str, text: str = NOTES, *, index: bool = True) -> int:
    data = text.encode()
    row = legal.artifact(external_id, record, ArtifactKind.SMART_NOTES, archived_at=at("2026-09-01", "12:00"),
                         data=data, artifact_name=f"{record}/smartNotes/{uuid.uuid4().hex[:8]}")
    if index:
        with legal.sessions.begin() as session:
            index_document(session, row, data)
    return row


def _transcript(legal: LegalWorld, external_id: str, record: str) -> tuple[int, int, bytes, bytes]:
    """A transcript's text and entries objects, archived (not indexed)."""
    name = f"{record}/transcripts/{uuid.uuid4().hex[:8]}"
    entries = transcript_document(record, [(f"{record}/participants/0", "2026-09-01T10:00:01.000000Z",
                                            "the Oslo contract is signed")])
    text_id = legal.artifact(external_id, record, ArtifactKind.TRANSCRIPT_TEXT, archived_at=at("2026-09-01", "12:00"),
                             data=TEXT.encode(), artifact_name=name)
    entries_id = legal.artifact(external_id, record, ArtifactKind.TRANSCRIPT_ENTRIES,
                                archived_at=at("2026-09-01", "12:00"), data=entries,
                                artifact_name=name + "/entries")
    return text_id, entries_id, TEXT.encode(), entries


def _documents(legal: LegalWorld) -> list[tuple[int, int, str, str]]:
    with legal.sessions() as session:
        return [tuple(r) for r in session.execute(  # type: ignore[misc]
            select(SearchDocument.id, SearchDocument.manifest_id, SearchDocument.kind,
                   SearchDocument.indexed_at).order_by(SearchDocument.id))]


def test_a_smart_note_is_found_with_its_lines_and_object(legal: LegalWorld) -> None:
    meeting, record = _meeting(legal, "n-1", "2026-09-01")
    row = _notes(legal, "n-1", record)
    with legal.sessions() as session:
        [hit] = search(session, parse_filters({"text": '"Lisbon acquisition"'}))
    assert hit.meeting_id == meeting
    [document] = hit.to_json()["documents"]
    assert document["kind"] == "smart_note"
    assert document["lines"] == [{"line": 4, "speaker": None, "start_time": None,
                                  "text": "The board discussed the Lisbon acquisition."}]
    with legal.sessions() as session:
        entry = session.get(ArchiveManifestEntry, row)
        assert entry is not None
        assert document["object"]["uri"] == f"s3://{entry.bucket}/{entry.object_key}"
        assert document["object"]["version_id"] == entry.version_id


def test_a_transcript_text_is_searchable_until_its_entries_are_indexed(legal: LegalWorld) -> None:
    meeting, record = _meeting(legal, "t-1", "2026-09-02")
    text_id, entries_id, text, entries = _transcript(legal, "t-1", record)
    with legal.sessions.begin() as session:
        assert index_document(session, text_id, text)
    with legal.sessions() as session:
        [hit] = search(session, parse_filters({"text": "Oslo"}))
    [document] = hit.documents
    assert document["kind"] == "transcript_text"
    assert document["lines"][0]["speaker"] is None and "Oslo" in document["lines"][0]["text"]
    with legal.sessions.begin() as session:  # the entries replace it: one transcript, one document
        assert index_document(session, entries_id, entries)
    assert [(m, k) for _, m, k, _ in _documents(legal)] == [(entries_id, "transcript")]
    with legal.sessions.begin() as session:  # the text again (a re-run): stays out
        assert not index_document(session, text_id, text)
    with legal.sessions() as session:
        [hit] = search(session, parse_filters({"text": "Oslo"}))
    assert [d["kind"] for d in hit.documents] == ["transcript"]
    assert hit.documents[0]["lines"][0]["speaker"].endswith("/participants/0")
    assert hit.meeting_id == meeting


def _index_while_another_holds(legal: LegalWorld, first: tuple[int, bytes], second: tuple[int, bytes]) -> bool:
    """Index ``first`` in an open transaction, index ``second`` from another thread (as a
    rebuild beside the archiver would), then commit the first; the second's answer."""
    answers: list[bool | BaseException] = []

    def index_second() -> None:
        try:
            with legal.sessions.begin() as session:
                answers.append(index_document(session, *second))
        except BaseException as exc:  # reported to the test below
            answers.append(exc)

    with legal.sessions.begin() as session:
        index_document(session, *first)
        other = threading.Thread(target=index_second)
        other.start()
        other.join(timeout=1.0)  # without a lock the other indexer finishes here, unaware
    other.join(timeout=60)
    [answer] = answers
    assert not isinstance(answer, BaseException), answer
    return answer


def test_a_transcripts_text_indexed_beside_its_entries_leaves_one_document(legal: LegalWorld) -> None:
    _, record = _meeting(legal, "c-1", "2026-09-02")
    text_id, entries_id, text, entries = _transcript(legal, "c-1", record)
    _index_while_another_holds(legal, (entries_id, entries), (text_id, text))
    assert [(m, k) for _, m, k, _ in _documents(legal)] == [(entries_id, "transcript")]


def test_one_object_indexed_twice_at_once_is_written_once(legal: LegalWorld) -> None:
    _, record = _meeting(legal, "c-2", "2026-09-02")
    row = _notes(legal, "c-2", record, index=False)
    assert _index_while_another_holds(legal, (row, NOTES.encode()), (row, NOTES.encode())) is False
    assert [(m, k) for _, m, k, _ in _documents(legal)] == [(row, "smart_note")]


def test_rebuild_backfills_from_s3_and_a_second_run_changes_nothing(legal: LegalWorld) -> None:
    meeting, record = _meeting(legal, "b-1", "2026-09-03")
    _notes(legal, "b-1", record, index=False)
    _, entries_id, _, _ = _transcript(legal, "b-1", record)
    legal.artifact("b-1", record, ArtifactKind.RECORDING, archived_at=at("2026-09-03", "12:00"))
    assert _documents(legal) == []
    report = rebuild(legal.sessions, legal.s3, actor="test")
    # The text is indexed first (lower id), then replaced by its entries: three changes.
    assert report.ok and (report.objects, report.changed) == (3, 3)
    first = _documents(legal)
    assert sorted(k for _, _, k, _ in first) == ["smart_note", "transcript"]
    with legal.sessions() as session:
        for said in ("Lisbon", "Oslo"):
            assert [h.meeting_id for h in search(session, parse_filters({"text": said}))] == [meeting]
        queued = set(session.scalars(select(MatterCollectQueue.manifest_id)))
        assert entries_id in queued  # a saved search may now match: matters collect it
        events = session.scalar(select(func.count()).where(AuditEvent.action == "search.reindexed"))
    again = rebuild(legal.sessions, legal.s3, actor="test")
    assert again.ok and (again.objects, again.changed, again.unchanged) == (3, 0, 3)
    assert _documents(legal) == first  # same ids, same indexed_at: nothing rewritten
    with legal.sessions() as session:
        assert session.scalar(select(func.count()).where(AuditEvent.action == "search.reindexed")) == events


def test_rebuild_refuses_bytes_that_differ_from_the_manifest(legal: LegalWorld) -> None:
    _, record = _meeting(legal, "b-2", "2026-09-04")
    row = _notes(legal, "b-2", record, index=False)
    with legal.sessions.begin() as session:
        session.execute(update(ArchiveManifestEntry).where(ArchiveManifestEntry.id == row)
                        .values(sha256="0" * 64))
    report = rebuild(legal.sessions, legal.s3, actor="test")
    assert not report.ok and report.changed == 0
    assert "SHA-256" in report.failures[0] and "not indexed" in report.failures[0]
    assert _documents(legal) == []


def test_rebuild_by_meeting_and_since(legal: LegalWorld) -> None:
    one, record_one = _meeting(legal, "b-3", "2026-09-05")
    _, record_two = _meeting(legal, "b-4", "2026-09-05")
    _notes(legal, "b-3", record_one, index=False)
    late = _notes(legal, "b-4", record_two, index=False)
    with legal.sessions.begin() as session:
        session.execute(update(ArchiveManifestEntry).where(ArchiveManifestEntry.id == late)
                        .values(archived_at=at("2026-10-01", "00:00")))
    assert rebuild(legal.sessions, legal.s3, meeting_id=one, actor="t").changed == 1
    assert rebuild(legal.sessions, legal.s3, since=at("2026-09-30", "00:00"), actor="t").changed == 1
    assert rebuild(legal.sessions, legal.s3, since=at("2026-11-01", "00:00"), actor="t").objects == 0


def test_an_s3_fault_during_rebuild_writes_nothing_and_a_rerun_completes(
    legal: LegalWorld, s3_server: EmbeddedS3
) -> None:
    from meet_core.archive import s3_client

    _, record = _meeting(legal, "b-5", "2026-09-06")
    _notes(legal, "b-5", record, index=False)
    with FaultProxy(s3_server.endpoint_url, rate=1.0, kinds=("500",), operations={"GetObject"}) as proxy:
        report = rebuild(legal.sessions, s3_client(proxy.endpoint_url, max_attempts=2), actor="t")
    assert not report.ok and report.changed == 0 and _documents(legal) == []
    assert rebuild(legal.sessions, legal.s3, actor="t").changed == 1


@pytest.fixture
def env(legal: LegalWorld, fresh_database_url: str, s3_server: EmbeddedS3, tmp_path: Path) -> dict[str, str]:
    return {
        "MEET_DATABASE_URL": fresh_database_url,
        "MEET_HOME": str(tmp_path / "home"),
        "MEET_S3_ENDPOINT_URL": s3_server.endpoint_url,
        "MEET_S3_BUCKET": legal.bucket,
    }


def test_the_rebuild_command(legal: LegalWorld, env: dict[str, str]) -> None:
    meeting, record = _meeting(legal, "c-1", "2026-09-07")
    _notes(legal, "c-1", record, index=False)
    with legal.sessions.begin() as session:  # a saved search the rebuilt note now matches
        matter = create_matter(session, name="Lisbon", description=None, actor="a")
        add_meetings(session, matter, actor="a", filters=parse_filters({"text": "Lisbon"}))
    done = run(["search-index", "rebuild", "--meeting", meeting, "--json"], env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"objects": 1, "changed": 1, "unchanged": 0, "failures": []}
    table = run(["search", "Lisbon"], env)
    assert "smart_note: s3://" in table.stdout
    assert "line 4: The board discussed the Lisbon acquisition." in table.stdout, table.stdout
    again = run(["search-index", "rebuild", "--since", "2026-01-01"], env)
    assert again.returncode == 0 and "0 changed, 1 unchanged" in again.stdout, again.stderr
    reconciled = run(["matter", "reconcile", "--by", "Ann"], env)
    assert reconciled.returncode == 0 and "1 archived object(s) collected" in reconciled.stdout, reconciled.stderr
    with legal.sessions() as session:
        assert session.scalars(select(MatterMeeting.meeting_id)).all() == [meeting]


@pytest.mark.parametrize("args", [
    ["--since", "2026-13-40"],
    ["--since", "2026-03-01T10:00:00"],  # no offset
    ["--since", ""],
    ["--meeting", "not-a-uuid"],
    ["--meeting", str(uuid.UUID(int=1))],  # no such meeting
    ["--limit", "3"],
])
def test_garbage_rebuild_options_exit_2_and_write_nothing(
    legal: LegalWorld, env: dict[str, str], args: list[str]
) -> None:
    _, record = _meeting(legal, "g-1", "2026-09-08")
    _notes(legal, "g-1", record, index=False)
    with legal.sessions() as session:
        events = session.scalar(select(func.count()).select_from(AuditEvent))
    done = run(["search-index", "rebuild", *args], env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.strip() and "Traceback" not in done.stderr
    assert _documents(legal) == []
    with legal.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == events
