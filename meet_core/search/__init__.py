"""Full-text search over archived transcripts and smart notes (docs/compliance.md).

:mod:`filters` parses and validates what a caller asks for (the same filters serve the CLI,
the API and a matter's saved search), :mod:`index` fills ``search_documents`` when an object
is archived, :mod:`query` answers searches on PostgreSQL (``tsvector``/GIN) and SQLite (FTS5).
"""

from meet_core.search.filters import SearchFilters, parse_filters, search_terms
from meet_core.search.index import index_document, index_transcript_entries
from meet_core.search.query import SearchHit, matching_meeting_ids, search

__all__ = [
    "SearchFilters",
    "SearchHit",
    "index_document",
    "index_transcript_entries",
    "matching_meeting_ids",
    "parse_filters",
    "search",
    "search_terms",
]
