"""Fill ``search_documents`` from an archived object, in the transaction that records it.

A transcript's structured entries (the canonical JSON archived beside the text export) give
each line its speaker and time; the text alone would not. The speaker is the participant's
display name (or email) from the harvest, else the Meet participant resource name.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from meet_core.db.models import ArchiveManifestEntry, ConferenceParticipant, SearchDocument, SearchKind
from meet_core.db.types import utcnow


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
) -> SearchDocument:
    """(Re)write the search document of one archived object; re-runs replace it."""
    session.execute(delete(SearchDocument).where(SearchDocument.manifest_id == row.id))
    document = SearchDocument(
        manifest_id=row.id,
        meeting_id=row.meeting_id,
        kind=kind.value,
        language=language,
        body="\n".join(str(line.get("text") or "") for line in lines),
        lines=lines,
        indexed_at=utcnow(),
    )
    session.add(document)
    session.flush()
    return document


def index_transcript_entries(session: Session, manifest_id: int, document: bytes) -> SearchDocument | None:
    """Index a transcript from its archived entries document (meet_core.archive.transfer)."""
    row = session.get(ArchiveManifestEntry, manifest_id)
    if row is None:
        return None
    parsed = json.loads(document)
    entries = [e for e in parsed.get("entries", []) if isinstance(e, dict)]
    speakers = _speakers(session, {e["participant"] for e in entries if e.get("participant")})
    languages = Counter(e.get("language_code") for e in entries if e.get("language_code"))
    lines = [
        {
            "speaker": speakers.get(e.get("participant") or "", e.get("participant")),
            "start_time": e.get("start_time"),
            "text": str(e.get("text") or ""),
        }
        for e in entries
    ]
    language = languages.most_common(1)[0][0] if languages else None
    return index_lines(session, row, SearchKind.TRANSCRIPT, lines, language)
