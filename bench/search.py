"""Full-text search on 100,000 archived transcripts (PostgreSQL: the stored ``tsvector``
column ``to_tsvector('simple', body)`` with a GIN index) against a plain ``ILIKE`` scan of
the same rows, in one run.

    .venv/bin/python bench/search.py [--transcripts 100000] [--repeat 5]
        [--admin-url postgresql+psycopg://127.0.0.1:5432/postgres]

Creates a throw-away database, migrates it, seeds (SQL ``generate_series``) one meeting, one
archived transcript manifest row and one ``search_documents`` row per transcript: 12 lines of
10 words each from a 4,000-word vocabulary (about 700 bytes of text), with a rare phrase
(``zebra quartz merger``, 1 transcript in 1,000) and a common word (``approved``, 1 in 20)
planted. Then, for each query, the median of ``--repeat`` runs of:

* ``fts``: the product's search (``meet_core.search.search``: the GIN-indexed text match,
  the latest 50 meetings, their documents and matching lines);
* ``ilike``: the same 50 meetings found by ``body ILIKE '%…%'`` (every row scanned), same order.

Prints one line per query and a JSON summary last (times in ms, ``speedup`` = ilike / fts).
The database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

from pg_seed import ADMIN_URL, temp_database
from sqlalchemy import text

from meet_core.db import make_engine, make_session_factory
from meet_core.search import parse_filters, search

SEED = [
    # The GIN index is built once after the rows are in (faster than maintaining it per row).
    "DROP INDEX ix_search_documents_tsv",
    "INSERT INTO api_clients (id, name, created_at) VALUES ('bench', 'bench', now())",
    """
    INSERT INTO meetings (id, client_id, external_id, title, start_time, end_time, timezone, organizer_email,
                          status, auto_recording, provisioning_attempts, version, created_at, updated_at)
    SELECT 'm' || lpad(g::text, 9, '0'), 'bench', 'xoma-' || g, 'Meeting ' || g,
           TIMESTAMPTZ '2025-01-01 00:00+00' + g * INTERVAL '5 minutes',
           TIMESTAMPTZ '2025-01-01 00:45+00' + g * INTERVAL '5 minutes', 'UTC', 'organizer@example.com',
           'finished', true, 1, 1, now(), now()
    FROM generate_series(1, :n) AS g
    """,
    """
    INSERT INTO archive_manifest (artifact_name, kind, meeting_id, conference_record_name, partition_date,
                                  google_state, state, attempts, bucket, object_key, version_id, size, sha256,
                                  legal_hold, archived_at, created_at, updated_at)
    SELECT 'conferenceRecords/' || m.id || '/transcripts/1/entries', 'transcript_entries', m.id,
           'conferenceRecords/' || m.id, to_char(m.start_time, 'YYYY-MM-DD'), 'FILE_GENERATED', 'archived', 1,
           'meet-archive', 'meet/transcripts/' || m.id || '/t1.entries.json', 'v1', 700, md5(m.id) || md5(m.id),
           false, m.end_time, now(), now()
    FROM meetings m
    """,
    # 12 lines of 10 words per transcript: a slice of the 4,000-word vocabulary at a hashed offset.
    """
    WITH vocab AS (
        SELECT array_agg(substr(md5('w' || i), 1, 4 + i % 6) ORDER BY i) AS words FROM generate_series(1, 4000) i
    ), lines AS (
        SELECT a.id AS manifest_id, a.meeting_id, l AS line_no,
               array_to_string(v.words[o : o + 9], ' ')
               || CASE WHEN l = 7 AND a.id % 1000 = 0 THEN ' zebra quartz merger' ELSE '' END
               || CASE WHEN l = 3 AND a.id % 20 = 0 THEN ' approved' ELSE '' END AS body
        FROM archive_manifest a CROSS JOIN vocab v CROSS JOIN generate_series(1, 12) l
        CROSS JOIN LATERAL (SELECT 1 + abs(hashtext(a.id::text || ':' || l)) % 3990 AS o) h
    )
    INSERT INTO search_documents (manifest_id, meeting_id, kind, language, body, lines, indexed_at)
    SELECT manifest_id, meeting_id, 'transcript', 'en',
           string_agg(body, E'\\n' ORDER BY line_no),
           json_agg(json_build_object('speaker', 'speaker ' || (line_no % 3), 'start_time', NULL, 'text', body)
                    ORDER BY line_no),
           now()
    FROM lines GROUP BY manifest_id, meeting_id
    """,
    "CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)",
    "ANALYZE",
]

ILIKE = """
SELECT m.id FROM meetings m
WHERE EXISTS (SELECT 1 FROM search_documents d WHERE d.meeting_id = m.id AND d.body ILIKE :pattern)
ORDER BY m.start_time DESC, m.id LIMIT 50
"""
QUERIES = [("rare phrase", '"zebra quartz merger"', "%zebra quartz merger%"),
           ("common word", "approved", "%approved%")]


def _median_ms(fn: Any, repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transcripts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()
    with temp_database(args.admin_url) as url:
        engine = make_engine(url)
        started = time.perf_counter()
        with engine.begin() as conn:
            for statement in SEED:
                conn.execute(text(statement), {"n": args.transcripts})
        seeded = time.perf_counter() - started
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_size_pretty(pg_total_relation_size('search_documents'))")).scalar()
        print(f"seeded {args.transcripts} transcripts in {seeded:.1f} s (search_documents: {size})", flush=True)
        sessions = make_session_factory(engine)
        results = []
        for label, query, pattern in QUERIES:
            filters = parse_filters({"text": query})

            def fts(filters: Any = filters) -> list[str]:
                with sessions() as session:
                    return [h.meeting_id for h in search(session, filters, limit=50)]

            def ilike(pattern: str = pattern) -> list[str]:
                with engine.connect() as conn:
                    return list(conn.execute(text(ILIKE), {"pattern": pattern}).scalars())

            fts()  # warm both: the comparison is of steady state, not of the first read from disk
            ilike()
            fts_ms, fts_ids = _median_ms(fts, args.repeat)
            ilike_ms, ilike_ids = _median_ms(ilike, args.repeat)
            assert fts_ids == ilike_ids, f"{label}: the two methods disagree"
            row = {"query": label, "text": query, "hits_returned": len(fts_ids), "fts_ms": round(fts_ms, 1),
                   "ilike_ms": round(ilike_ms, 1), "speedup": round(ilike_ms / fts_ms, 1)}
            print(f"{label:<12} fts {fts_ms:8.1f} ms   ilike {ilike_ms:8.1f} ms   x{row['speedup']}", flush=True)
            results.append(row)
        engine.dispose()
    print(json.dumps({"transcripts": args.transcripts, "seed_seconds": round(seeded, 1), "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
