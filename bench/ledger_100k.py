"""Time and peak memory of materialising one day's compliance ledger on PostgreSQL with
100,000 meetings, against a baseline: a plain SQL aggregate of the same rows.

    .venv/bin/python bench/ledger_100k.py [--meetings 100000] [--admin-url postgresql+psycopg://127.0.0.1:5432/postgres]

Creates a throw-away PostgreSQL database, migrates it, seeds one day (SQL generate_series):
100,000 meetings (3 invitations each), a conference record, 2 attendees and an archived
recording for every held meeting, with ~2 % held without recording, ~0.5 % checksum
mismatches, ~0.3 % provisioning failures, 2 % not held, 1 % cancelled. Then, each in a
fresh subprocess so that ``ru_maxrss`` is its own:

* ``baseline``: one GROUP BY over meetings, invitations, conference records, attendance and
  manifest rows, every per-meeting row fetched into Python;
* ``ledger``: ``dagster.materialize([compliance_ledger])`` for the day (verdicts, 100,000
  ledger rows written, violations opened with their audit events and webhooks, summary);
  S3 look-ups are switched off (``inspect_objects=False``: the objects are not in S3);
* ``ledger-rerun``: the same partition again (rows replaced, violations already open).

Prints one line per run and a JSON summary last. The database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from typing import Any

from common import peak_rss_mib, run_json_child

DAY = "2025-06-02"
NOW = "2025-06-05T12:00:00+00:00"

SEED = [
    "INSERT INTO api_clients (id, name, created_at) VALUES ('bench-client', 'bench', now())",
    """
    INSERT INTO meetings (id, client_id, external_id, title, start_time, end_time, timezone, organizer_email,
                          status, space_name, auto_recording, provisioning_attempts, version, created_at, updated_at)
    SELECT 'm' || lpad(g::text, 9, '0'), 'bench-client', 'xoma-' || g, 'Meeting ' || g,
           TIMESTAMPTZ '2025-06-02 00:00+00' + (g % 1380) * INTERVAL '1 minute',
           TIMESTAMPTZ '2025-06-02 00:45+00' + (g % 1380) * INTERVAL '1 minute', 'UTC', 'organizer@example.com',
           CASE WHEN g % 50 = 0 THEN 'not_held' WHEN g % 100 = 1 THEN 'cancelled'
                WHEN g % 331 = 0 THEN 'failed' ELSE 'finished' END,
           'spaces/s' || g, true, 1, 2, now(), now()
    FROM generate_series(1, :n) AS g
    """,
    """
    INSERT INTO participants (meeting_id, email, role, response_status)
    SELECT m.id, k.email || '.' || m.external_id || '@example.com', k.role, 'accepted'
    FROM meetings m CROSS JOIN (VALUES ('organizer', 'organizer'), ('guest1', 'guest'), ('guest2', 'guest')) AS k(email, role)
    """,
    """
    INSERT INTO conference_records (name, meeting_id, space_name, start_time, end_time, expire_time, participant_count,
                                    recording_count, transcript_count, first_seen_at, synced_at)
    SELECT 'conferenceRecords/' || m.id, m.id, m.space_name, m.start_time, m.end_time - INTERVAL '2 minutes',
           m.end_time + INTERVAL '30 days', 2, 1, 0, m.start_time, m.end_time + INTERVAL '5 minutes'
    FROM meetings m WHERE m.status = 'finished'
    """,
    """
    INSERT INTO conference_participants (name, conference_record_id, meeting_id, kind, email, display_name, invited,
                                         first_joined_at, last_left_at, attended_seconds, session_count, synced_at)
    SELECT r.name || '/participants/' || k.n, r.id, r.meeting_id, 'internal',
           CASE k.n WHEN 1 THEN 'organizer.' ELSE 'guest1.' END || m.external_id || '@example.com', 'someone', true,
           r.start_time, r.end_time, 2400, 1, r.synced_at
    FROM conference_records r JOIN meetings m ON m.id = r.meeting_id CROSS JOIN (VALUES (1), (2)) AS k(n)
    """,
    """
    INSERT INTO archive_manifest (artifact_name, kind, meeting_id, conference_record_name, partition_date, google_state,
                                  source_id, state, attempts, bucket, object_key, version_id, content_type, size, sha256,
                                  drive_size, drive_sha256, s3_checksum, retain_until, lock_mode, legal_hold,
                                  archived_at, created_at, updated_at)
    SELECT r.name || '/recordings/1', 'recording', r.meeting_id, r.name, '2025-06-02', 'FILE_GENERATED', 'drive-' || r.id,
           'archived', 1, 'meet-archive', 'meet/recordings/2025-06-02/' || r.meeting_id || '/rec-1.mp4', 'v1',
           'video/mp4', 1048576, md5(r.name) || md5(r.meeting_id),
           1048576, CASE WHEN r.id % 211 = 0 THEN md5('other') || md5('other') ELSE md5(r.name) || md5(r.meeting_id) END,
           'CRC64NVME:AAAAAAAAAAA=', now() + INTERVAL '2557 days', 'COMPLIANCE', false,
           r.end_time + INTERVAL '20 minutes', now(), now()
    FROM conference_records r WHERE r.id % 53 <> 0
    """,
    "ANALYZE",
]

BASELINE = """
SELECT m.id, m.status, m.start_time,
       (SELECT count(*) FROM participants p WHERE p.meeting_id = m.id) AS invited,
       (SELECT count(DISTINCT cp.email) FROM conference_participants cp WHERE cp.meeting_id = m.id) AS joined,
       (SELECT count(*) FROM conference_records r WHERE r.meeting_id = m.id) AS records,
       (SELECT max(r.end_time) FROM conference_records r WHERE r.meeting_id = m.id) AS ended,
       (SELECT count(*) FROM archive_manifest a WHERE a.meeting_id = m.id AND a.state = 'archived') AS archived,
       (SELECT bool_and(a.sha256 = a.drive_sha256) FROM archive_manifest a WHERE a.meeting_id = m.id) AS checksums_ok
FROM meetings m
WHERE m.start_time >= TIMESTAMPTZ '2025-06-02 00:00+00' AND m.start_time < TIMESTAMPTZ '2025-06-03 00:00+00'
"""


def child_baseline(url: str) -> dict[str, Any]:
    from sqlalchemy import text

    from meet_core.db import make_engine

    engine = make_engine(url)
    before = peak_rss_mib()
    started = time.perf_counter()
    with engine.connect() as conn:
        rows = conn.execute(text(BASELINE)).all()
    seconds = time.perf_counter() - started
    engine.dispose()
    return {
        "rows": len(rows),
        "seconds": round(seconds, 2),
        "peak_mib": round(peak_rss_mib(), 1),
        "peak_above_start_mib": round(peak_rss_mib() - before, 1),
    }


def child_ledger(url: str) -> dict[str, Any]:
    import warnings

    warnings.filterwarnings("ignore")
    from datetime import datetime

    import dagster as dg

    from meet_pipeline.defs.compliance.assets import compliance_ledger
    from meet_pipeline.defs.compliance.resources import ComplianceResource
    from meet_pipeline.resources import ArchiveResource, ClockResource, DatabaseResource

    class FixedClock(ClockResource):
        at_iso: str

        def now(self) -> datetime:
            return datetime.fromisoformat(self.at_iso)

    resources = {
        "database": DatabaseResource(url=url),
        "s3": ArchiveResource(bucket="meet-archive"),
        "clock": FixedClock(at_iso=NOW),
        "compliance": ComplianceResource(inspect_objects=False),
    }
    before = peak_rss_mib()
    started = time.perf_counter()
    result = dg.materialize([compliance_ledger], partition_key=DAY, resources=resources)
    seconds = time.perf_counter() - started
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    return {
        "rows": metadata["dagster/row_count"].value,
        "violations_opened": metadata["violations_opened"].value,
        "violation": metadata["violation"].value,
        "compliant": metadata["compliant"].value,
        "seconds": round(seconds, 2),
        "peak_mib": round(peak_rss_mib(), 1),
        "peak_above_start_mib": round(peak_rss_mib() - before, 1),
    }


def run_child(kind: str, url: str) -> dict[str, Any]:
    result = run_json_child([sys.executable, __file__, "child", kind, url])
    print(f"{kind:>13}: {result}", flush=True)
    return result


def main() -> None:
    if len(sys.argv) >= 4 and sys.argv[1] == "child":
        kind, url = sys.argv[2], sys.argv[3]
        print(json.dumps(child_baseline(url) if kind == "baseline" else child_ledger(url)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=100_000)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "MEET_TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from meet_core.db.migrate import upgrade

    name = f"meet_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        started = time.perf_counter()
        seed = create_engine(url)
        with seed.begin() as conn:
            for statement in SEED:
                conn.execute(text(statement), {"n": args.meetings} if ":n" in statement else {})
        seed.dispose()
        print(
            f"seeded {args.meetings} meetings in {time.perf_counter() - started:.1f} s", flush=True
        )
        summary = {
            "meetings": args.meetings,
            "baseline": run_child("baseline", url),
            "ledger": run_child("ledger", url),
            "ledger_rerun": run_child("ledger-rerun", url),
        }
        summary["ledger_vs_baseline_time"] = round(
            summary["ledger"]["seconds"] / summary["baseline"]["seconds"], 1
        )
        print(json.dumps(summary))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
