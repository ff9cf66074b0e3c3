"""Throw-away PostgreSQL databases and bulk history for the benchmarks (not a benchmark).

* ``temp_database(admin_url)``: a fresh database, migrated to head, dropped afterwards.
* ``seed_history(conn, ...)``: meetings that finished long ago, inserted server-side with
  ``INSERT … SELECT generate_series`` (no row goes through Python), each with 3 invitations;
  every ``finished`` one with a conference record, 2 attendees and an archived recording in
  the manifest. Status mix as bench/ledger_100k.py: 2 % not held, 1 % cancelled, ~0.3 %
  failed, the rest finished; ~2 % of the held ones have no recording, ~0.5 % a checksum
  mismatch. Meetings are spread evenly over ``days`` days from ``first_day``.

Used by bench/api_load.py, bench/google_quota.py and bench/ledger_scale.py.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url

ADMIN_URL = os.environ.get("MEET_TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://127.0.0.1:5432/postgres")

SEED_HISTORY = [
    """
    INSERT INTO meetings (id, client_id, external_id, title, start_time, end_time, timezone,
                          organizer_email, status, calendar_id, calendar_event_id, space_name,
                          meeting_code, meet_uri, auto_recording, provisioning_attempts, version,
                          created_at, updated_at)
    SELECT '{prefix}-0000-4000-8000-' || lpad(g::text, 12, '0'), :client_id,
           '{prefix}' || '-xoma-' || g, 'Meeting ' || g,
           TIMESTAMPTZ '{first_day}' + ((g - 1) % {days}) * INTERVAL '1 day'
               + (((g - 1) / {days}) % 1380) * INTERVAL '1 minute',
           TIMESTAMPTZ '{first_day}' + ((g - 1) % {days}) * INTERVAL '1 day'
               + (((g - 1) / {days}) % 1380) * INTERVAL '1 minute' + INTERVAL '45 minutes',
           'UTC', 'organizer@example.com',
           CASE WHEN g % 50 = 0 THEN 'not_held' WHEN g % 100 = 1 THEN 'cancelled'
                WHEN g % 331 = 0 THEN 'failed' ELSE 'finished' END,
           'primary', 'ev' || '{prefix}' || g, 'spaces/' || '{prefix}' || g, 'abc-' || g,
           'https://meet.google.com/abc-' || g,
           true, 1, 2, now(), now()
    FROM generate_series({first}, {last}) AS g
    """,
    """
    INSERT INTO participants (meeting_id, email, display_name, role, response_status)
    SELECT m.id, k.email || '.' || m.external_id || '@example.com', 'Person ' || k.email, k.role, 'accepted'
    FROM meetings m
    CROSS JOIN (VALUES ('organizer', 'organizer'), ('guest1', 'guest'), ('guest2', 'guest')) AS k(email, role)
    WHERE m.id BETWEEN '{prefix}-0000-4000-8000-' || lpad({first}::text, 12, '0')
                      AND '{prefix}-0000-4000-8000-' || lpad({last}::text, 12, '0')
    """,
    """
    INSERT INTO conference_records (name, meeting_id, space_name, start_time, end_time, expire_time,
                                    participant_count, recording_count, transcript_count,
                                    first_seen_at, synced_at)
    SELECT 'conferenceRecords/' || m.id, m.id, m.space_name, m.start_time, m.end_time - INTERVAL '2 minutes',
           m.end_time + INTERVAL '30 days', 2, 1, 0, m.start_time, m.end_time + INTERVAL '5 minutes'
    FROM meetings m
    WHERE m.status = 'finished'
      AND m.id BETWEEN '{prefix}-0000-4000-8000-' || lpad({first}::text, 12, '0')
                      AND '{prefix}-0000-4000-8000-' || lpad({last}::text, 12, '0')
    """,
    """
    INSERT INTO conference_participants (name, conference_record_id, meeting_id, kind, email,
                                         display_name, invited, first_joined_at, last_left_at,
                                         attended_seconds, session_count, synced_at)
    SELECT r.name || '/participants/' || k.n, r.id, r.meeting_id, 'internal',
           CASE k.n WHEN 1 THEN 'organizer.' ELSE 'guest1.' END || m.external_id || '@example.com',
           'someone', true, r.start_time, r.end_time, 2400, 1, r.synced_at
    FROM conference_records r JOIN meetings m ON m.id = r.meeting_id CROSS JOIN (VALUES (1), (2)) AS k(n)
    WHERE r.meeting_id BETWEEN '{prefix}-0000-4000-8000-' || lpad({first}::text, 12, '0')
                      AND '{prefix}-0000-4000-8000-' || lpad({last}::text, 12, '0')
    """,
    """
    INSERT INTO archive_manifest (artifact_name, kind, meeting_id, conference_record_name, partition_date,
                                  google_state, source_id, artifact_start_time, artifact_end_time,
                                  state, attempts, bucket, object_key, version_id, content_type, size,
                                  sha256, drive_size, drive_sha256, s3_checksum, retain_until, lock_mode,
                                  legal_hold, archived_at, created_at, updated_at)
    SELECT r.name || '/recordings/1', 'recording', r.meeting_id, r.name,
           to_char(r.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 'FILE_GENERATED', 'drive-' || r.id,
           r.start_time, r.end_time, 'archived', 1, 'meet-archive',
           'meet/recordings/' || to_char(r.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD') || '/'
               || r.meeting_id || '/rec-1.mp4',
           'v1', 'video/mp4', 1048576, md5(r.name) || md5(r.meeting_id), 1048576,
           CASE WHEN r.id % 211 = 0 THEN md5('other') || md5('other') ELSE md5(r.name) || md5(r.meeting_id) END,
           'CRC64NVME:AAAAAAAAAAA=', r.end_time + INTERVAL '2557 days', 'COMPLIANCE', false,
           r.end_time + INTERVAL '20 minutes', now(), now()
    FROM conference_records r
    WHERE r.id % 53 <> 0
      AND r.meeting_id BETWEEN '{prefix}-0000-4000-8000-' || lpad({first}::text, 12, '0')
                      AND '{prefix}-0000-4000-8000-' || lpad({last}::text, 12, '0')
    """,
]


@contextmanager
def temp_database(admin_url: str = ADMIN_URL, *, migrate: bool = True) -> Iterator[str]:
    """A fresh PostgreSQL database (migrated to head); dropped on exit, connections and all."""
    from meet_core.db.migrate import upgrade

    name = f"meet_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        if migrate:
            upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed_history(
    conn: Connection,
    *,
    count: int,
    client_id: str,
    first_day: str = "2025-01-01",
    days: int = 365,
    prefix: str = "a0000000",
    batch: int = 250_000,
) -> float:
    """Insert ``count`` past meetings (UUID-shaped ids ``{prefix}-0000-4000-8000-000000000001``
    …) with their invitations, conference records, attendees and archived recordings; returns
    the seconds it took."""
    hex_prefix = len(prefix) == 8 and all(c in "0123456789abcdef" for c in prefix)
    if not hex_prefix or not isinstance(days, int) or not isinstance(count, int):
        raise ValueError("prefix: 8 lowercase hex digits; days and count: integers")
    started = time.perf_counter()
    for first in range(1, count + 1, batch):
        params: dict[str, Any] = {
            "prefix": prefix,
            "client_id": client_id,
            "first_day": f"{first_day} 00:00+00",
            "days": days,
            "first": first,
            "last": min(count, first + batch - 1),
        }
        for statement in SEED_HISTORY:
            conn.execute(text(statement.format(**params)), {"client_id": client_id})
    conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def table_counts(conn: Connection) -> dict[str, int]:
    tables = (
        "meetings",
        "participants",
        "conference_records",
        "conference_participants",
        "archive_manifest",
    )
    return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables}  # noqa: S608
