"""Fill ``search_documents`` from an archived object, in the transaction that records it.

One document per searchable object (docs/compliance.md, "What search reads"):

- a transcript's structured entries (the canonical JSON archived beside the text export)
  give each line its speaker and time; the speaker is the participant's display name (or
  email) from the harvest, else the Meet participant resource name (kind ``transcript``);
- a transcript's exported text is indexed only while its entries are not (the entries can
  fail for good once Google expires them), with no speaker or time (``transcript_text``);
  indexing the entries removes it, so one transcript never shows twice;
- Gemini's smart notes, as archived (text), line by line without speaker or time
  (``smart_note``).

Re-indexing the same bytes changes nothing (the row is compared, not rewritten).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from meet_core.archive.manifest import ENTRIES_SUFFIX
from meet_core.db.models import (
    ArchiveManifestEntry,
    ArtifactKind,
    ConferenceParticipant,
    SearchDocument,
    SearchKind,
)
from meet_core.db.types import utcnow

# Larger documents are not indexed (an 8-hour meeting's transcript is well under 1 MiB).
MAX_DOCUMENT_BYTES = 32 << 20
SEARCHABLE_KINDS = (ArtifactKind.TRANSCRIPT_ENTRIES, ArtifactKind.TRANSCRIPT_TEXT, ArtifactKind.SMART_NOTES)


def _speakers(session: Session, names: set[str]) -> dict[str, str]:
    if not names:
        return {}
    rows = session.execute(
        select(ConferenceParticipant.name, ConferenceParticipant.display_name, ConferenceParticipant.email)
        .where(ConferenceParticipant.name.in_(sorted(names)))
    ).all()
    return {name: display or email or name for name, display, email in rows}


def index_lines(
    session: Session,
    row: ArchiveManifestEntry,
    kind: SearchKind,
    lines: list[dict[str, Any]],
    language: str | None = None,
) -> bool:
    """(Re)write the search document of one archived object; True when it changed (the same
    content again leaves the row as it is)."""
    body = "\n".join(str(line.get("text") or "") for line in lines)
    existing = session.scalar(select(SearchDocument).where(SearchDocument.manifest_id == row.id))
    if existing is not None:
        same = (existing.kind, existing.language, existing.body, existing.lines, existing.meeting_id)
        if same == (kind.value, language, body, lines, row.meeting_id):
            return False
        session.delete(existing)
        session.flush()
    session.add(SearchDocument(manifest_id=row.id, meeting_id=row.meeting_id, kind=kind.value,
                               language=language, body=body, lines=lines, indexed_at=utcnow()))
    session.flush()
    return True


def unindex(session: Session, manifest_ids: list[int]) -> bool:
    if not manifest_ids:
        return False
    result = session.execute(delete(SearchDocument).where(SearchDocument.manifest_id.in_(manifest_ids)))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _transcript_rows(session: Session, transcript: str) -> dict[str, int]:
    """The manifest ids of a transcript's text and entries objects, by kind."""
    rows = session.execute(select(ArchiveManifestEntry.kind, ArchiveManifestEntry.id).where(
        ArchiveManifestEntry.artifact_name.in_([transcript, transcript + ENTRIES_SUFFIX]))).all()
    return {kind: manifest_id for kind, manifest_id in rows}


def entries_lines(session: Session, document: bytes) -> tuple[list[dict[str, Any]], str | None]:
    parsed = json.loads(document)
    if not isinstance(parsed, dict) or not isinstance(parsed.get("entries", []), list):
        raise ValueError("not a transcript entries document")
    entries = [e for e in parsed.get("entries", []) if isinstance(e, dict)]
    speakers = _speakers(session, {str(e["participant"]) for e in entries if e.get("participant")})
    languages = Counter(e.get("language_code") for e in entries if e.get("language_code"))
    lines = [
        {
            "speaker": speakers.get(str(e.get("participant") or ""), e.get("participant")),
            "start_time": e.get("start_time"),
            "text": str(e.get("text") or ""),
        }
        for e in entries
    ]
    return lines, (languages.most_common(1)[0][0] if languages else None)


def text_lines(document: bytes) -> list[dict[str, Any]]:
    """A text document (Docs' text/plain export: a byte order mark, CRLF) line by line, blank
    lines kept so that line numbers are the file's; no speaker or time."""
    decoded = document.decode("utf-8", errors="replace").removeprefix("\ufeff")
    return [{"speaker": None, "start_time": None, "text": line} for line in decoded.splitlines()]


def _lock_document(session: Session, name: str) -> None:
    """One indexer at a time per object, and per transcript for its text and entries pair,
    until the caller commits: the archiver and a rebuild (or two rebuilds) would otherwise
    both insert the same document, or each miss the other's uncommitted half and leave a
    transcript indexed twice. A transaction-level advisory lock, not the manifest rows: the
    archiver holds its row and then the audit chain when it indexes, so waiting for a
    sibling's row there could deadlock. SQLite begins every transaction IMMEDIATE, one
    writer at a time (meet_core.db.engine)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name})


def index_document(session: Session, manifest_id: int, document: bytes) -> bool:
    """Index one archived object from its bytes, by its kind; True when search changed.
    Recordings and unknown kinds are not searchable (False). ValueError for a document that
    cannot be read (bad JSON, too large)."""
    row = session.get(ArchiveManifestEntry, manifest_id)
    if row is None or row.kind not in SEARCHABLE_KINDS:
        return False
    transcript = row.artifact_name.removesuffix(ENTRIES_SUFFIX)
    _lock_document(session, transcript)
    if len(document) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"{row.artifact_name}: {len(document)} bytes, over the {MAX_DOCUMENT_BYTES} "
                         "bytes search indexes")
    if row.kind == ArtifactKind.SMART_NOTES:
        return index_lines(session, row, SearchKind.SMART_NOTE, text_lines(document))
    siblings = _transcript_rows(session, transcript)
    if row.kind == ArtifactKind.TRANSCRIPT_ENTRIES:
        lines, language = entries_lines(session, document)
        changed = index_lines(session, row, SearchKind.TRANSCRIPT, lines, language)
        text_id = siblings.get(ArtifactKind.TRANSCRIPT_TEXT)
        return unindex(session, [text_id] if text_id is not None else []) or changed
    entries_id = siblings.get(ArtifactKind.TRANSCRIPT_ENTRIES)
    if entries_id is not None and session.scalar(
        select(SearchDocument.id).where(SearchDocument.manifest_id == entries_id)
    ) is not None:
        return unindex(session, [row.id])  # the entries say it better, with speakers and times
    return index_lines(session, row, SearchKind.TRANSCRIPT_TEXT, text_lines(document))


def index_transcript_entries(session: Session, manifest_id: int, document: bytes) -> SearchDocument | None:
    """Index a transcript from its archived entries document (kept for callers and tests)."""
    index_document(session, manifest_id, document)
    return session.scalar(select(SearchDocument).where(SearchDocument.manifest_id == manifest_id))
