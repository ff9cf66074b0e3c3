"""Answer a search: meetings matching the filters, with the lines that matched.

The text condition is engine-specific and fully parameterised: on PostgreSQL
``tsv @@ (phraseto_tsquery('simple', t1) && …)``, ``tsv`` being the stored
``to_tsvector('simple', body)`` with its GIN index (migration 0010); on SQLite an FTS5
``MATCH`` of quoted phrases (ANDed).
Every term is a phrase, so both engines treat punctuation and word order the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, column, exists, func, literal_column, or_, select, table
from sqlalchemy.orm import Session

from meet_core.db.models import (
    ApiClient,
    ArchiveManifestEntry,
    ConferenceParticipant,
    LedgerEntry,
    Matter,
    MatterMeeting,
    MatterState,
    Meeting,
    Participant,
    SearchDocument,
)
from meet_core.search.filters import SearchFilters, search_terms

DEFAULT_LIMIT = 50
MAX_LINES_PER_DOCUMENT = 20
_WORD = re.compile(r"\w+")
_SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")
_FTS = table("search_fts", column("rowid"))
_TSV: ColumnElement[Any] = literal_column("search_documents.tsv")  # PostgreSQL only: generated, GIN-indexed (0010)


@dataclass(slots=True)
class SearchHit:
    meeting_id: str
    external_id: str
    title: str
    start_time: datetime
    organizer_email: str
    client: str
    compliance_status: str | None
    documents: list[dict[str, Any]] = field(default_factory=list)
    held_by_matters: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "meeting": {
                "id": self.meeting_id,
                "external_id": self.external_id,
                "title": self.title,
                "start_time": self.start_time.isoformat().replace("+00:00", "Z"),
                "organizer_email": self.organizer_email,
                "client": self.client,
                "compliance_status": self.compliance_status,
            },
            "documents": self.documents,
            "held_by_matters": self.held_by_matters,
            "recordings_url": f"/api/v1/meetings/{self.meeting_id}/recordings",
        }


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def meeting_conditions(filters: SearchFilters) -> list[ColumnElement[bool]]:
    """Conditions on ``meetings`` for every filter but the text."""
    where: list[ColumnElement[bool]] = []
    if filters.client is not None:
        where.append(
            exists(select(1).where(ApiClient.id == Meeting.client_id,
                                   or_(ApiClient.name == filters.client, ApiClient.id == filters.client)))
        )
    if filters.start_from is not None:
        where.append(Meeting.start_time >= filters.start_from)
    if filters.start_to is not None:
        where.append(Meeting.start_time < filters.start_to)
    if filters.organizer is not None:
        where.append(func.lower(Meeting.organizer_email) == filters.organizer)
    if filters.title is not None:
        where.append(Meeting.title.ilike(f"%{_escape_like(filters.title)}%", escape="\\"))
    if filters.participant is not None:
        email = filters.participant
        where.append(
            or_(
                exists(select(1).where(Participant.meeting_id == Meeting.id,
                                       func.lower(Participant.email) == email)),
                exists(select(1).where(ConferenceParticipant.meeting_id == Meeting.id,
                                       func.lower(ConferenceParticipant.email) == email)),
            )
        )
    if filters.compliance_status is not None:
        where.append(
            exists(select(1).where(LedgerEntry.meeting_id == Meeting.id,
                                   LedgerEntry.compliance_status == filters.compliance_status))
        )
    return where


def text_condition(session: Session, terms: Sequence[str]) -> ColumnElement[bool]:
    """Documents whose body has every term (each a phrase)."""
    if session.get_bind().dialect.name == "postgresql":
        query: ColumnElement[Any] | None = None
        for index, term in enumerate(terms):
            part = func.phraseto_tsquery(_SIMPLE, bindparam(f"term_{index}", term))
            query = part if query is None else query.op("&&")(part)
        return _TSV.op("@@")(query)
    match = " ".join('"' + term.replace('"', '""') + '"' for term in terms)
    matching = select(_FTS.c.rowid).where(literal_column("search_fts").op("MATCH")(bindparam("fts", match)))
    return SearchDocument.id.in_(matching)


def _meetings_query(session: Session, filters: SearchFilters, terms: Sequence[str]) -> Select[Any]:
    query = select(Meeting.id).where(*meeting_conditions(filters))
    if not terms:
        return query
    if session.get_bind().dialect.name == "postgresql":
        # The text match drives: the GIN index gives the matching meetings first. Left to
        # itself the planner may walk every meeting in start-time order testing each one
        # (100,000 tests for a rare phrase; bench/search.py measures it).
        matches = (
            select(SearchDocument.meeting_id).where(text_condition(session, terms)).distinct()
            .cte("text_matches").prefix_with("MATERIALIZED")
        )
        return query.where(Meeting.id.in_(select(matches.c.meeting_id)))
    return query.where(
        exists(select(1).where(SearchDocument.meeting_id == Meeting.id, text_condition(session, terms)))
    )


def matching_meeting_ids(
    session: Session, filters: SearchFilters, *, among: Sequence[str] | None = None
) -> list[str]:
    """Every meeting the search matches (a matter's saved search), or those of ``among``."""
    query = _meetings_query(session, filters, search_terms(filters.text))
    if among is not None:
        query = query.where(Meeting.id.in_(list(among)))
    return list(session.scalars(query.order_by(Meeting.start_time, Meeting.id)))


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def matching_lines(lines: Sequence[dict[str, Any]], terms: Sequence[str]) -> list[dict[str, Any]]:
    """The lines that contain any term (a phrase: its words in a row), as both engines
    tokenise: letters and digits, case folded."""
    wanted = [t for t in (_tokens(term) for term in terms) if t]
    found = []
    for number, line in enumerate(lines):
        words = _tokens(str(line.get("text") or ""))
        if any(_contains(words, phrase) for phrase in wanted):
            found.append({"line": number + 1, **line})
            if len(found) >= MAX_LINES_PER_DOCUMENT:
                break
    return found


def _contains(words: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def search(session: Session, filters: SearchFilters, *, limit: int = DEFAULT_LIMIT) -> list[SearchHit]:
    """Meetings matching ``filters``, latest first, each with its archived documents (and, for
    a text search, the matching lines with speaker and time)."""
    terms = search_terms(filters.text)
    ids = list(
        session.scalars(
            _meetings_query(session, filters, terms)
            .order_by(Meeting.start_time.desc(), Meeting.id)
            .limit(limit)
        )
    )
    if not ids:
        return []
    rows = session.execute(
        select(Meeting, ApiClient.name, LedgerEntry.compliance_status)
        .join(ApiClient, ApiClient.id == Meeting.client_id)
        .outerjoin(LedgerEntry, LedgerEntry.meeting_id == Meeting.id)
        .where(Meeting.id.in_(ids))
    ).all()
    hits = {
        meeting.id: SearchHit(meeting.id, meeting.external_id, meeting.title, meeting.start_time,
                              meeting.organizer_email, client, status)
        for meeting, client, status in rows
    }
    documents = select(SearchDocument, ArchiveManifestEntry).join(
        ArchiveManifestEntry, ArchiveManifestEntry.id == SearchDocument.manifest_id
    ).where(SearchDocument.meeting_id.in_(ids))
    if terms:
        documents = documents.where(text_condition(session, terms))
    for document, entry in session.execute(documents.order_by(SearchDocument.id)):
        hits[document.meeting_id].documents.append(
            {
                "kind": document.kind,
                "language": document.language,
                "object": {
                    "uri": f"s3://{entry.bucket}/{entry.object_key}" if entry.object_key else None,
                    "version_id": entry.version_id,
                    "sha256": entry.sha256,
                    "artifact": entry.artifact_name,
                },
                "lines": matching_lines(document.lines or [], terms) if terms else [],
            }
        )
    held = session.execute(
        select(MatterMeeting.meeting_id, Matter.name)
        .join(Matter, Matter.id == MatterMeeting.matter_id)
        .where(MatterMeeting.meeting_id.in_(ids), Matter.state == MatterState.HELD)
    ).all()
    holders: dict[str, list[str]] = {}
    for meeting_id, name in held:
        holders.setdefault(meeting_id, []).append(name)
    ordered = [hits[i] for i in ids if i in hits]
    for hit in ordered:
        hit.documents.sort(key=lambda d: d["object"]["artifact"] or "")
        hit.held_by_matters = sorted(holders.get(hit.meeting_id, []))
    return ordered

