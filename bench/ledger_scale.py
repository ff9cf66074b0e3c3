"""Ledger and reconciliation at scale: 1,000,000 meetings in PostgreSQL.

    .venv/bin/python bench/ledger_scale.py                # 200,000 meetings (~4 min)
    .venv/bin/python bench/ledger_scale.py --full         # 1,000,000 meetings (issue 8)
    .venv/bin/python bench/ledger_scale.py --meetings 1000000 --days 10

Extends bench/ledger_100k.py (same day, clock, seed shape and baseline query, its child
functions reused) from one day of 100,000 meetings to ``--meetings`` meetings spread over
``--days`` days from 2025-06-02 (default: all in that one day, the worst case for a
partition), seeded server-side by bench/pg_seed.py. Then, each in a fresh subprocess whose
peak RSS is its own VmHWM:

* ``baseline``: bench/ledger_100k.py's plain SQL aggregate of the day (one query: invitations,
  attendees, conference records, archived objects and checksums per meeting, every row
  fetched into Python);
* ``ledger``: ``materialize([compliance_ledger])`` for 2025-06-02 (verdicts, ledger rows,
  violations with audit events and webhooks, summary; S3 look-ups off);
* ``ledger-rerun``: the same partition again.

During ``ledger`` this process appends an audit event every 0.5 s from its own connection
(what every API create or sensor transition does) and reports how long each append waited.

And the reconciliation side with the same database: ``--active`` meetings in progress
(real Meet spaces with running conferences in the Google emulator, its own process) on top
of the history; conference, provisioning and archive sensor ticks (time, Google calls,
watch-list query), as in bench/google_quota.py.

Prints one line per run and a JSON summary last. The database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import ledger_100k
import pg_seed
from common import ROOT, child_env, last_json, peak_rss_mib

FIRST_DAY = ledger_100k.DAY  # 2025-06-02: the day ledger_100k's baseline and clock expect


def child(kind: str, url: str) -> dict[str, Any]:
    """ledger_100k's child run, plus this process's own peak RSS (VmHWM: ru_maxrss would
    include the parent's RSS at fork)."""
    warnings.filterwarnings("ignore")
    logging.disable(logging.INFO)
    result = ledger_100k.child_baseline(url) if kind == "baseline" else ledger_100k.child_ledger(url)
    result["vmhwm_mib"] = round(peak_rss_mib(), 1)
    return result


def run_child(kind: str, url: str, *, probe_audit: bool = False) -> dict[str, Any]:
    """Run one child; with ``probe_audit``, append an audit event (as the API does for every
    create) every 0.5 s from this process while the child runs, and time each append."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(
            [sys.executable, __file__, "child", kind, url],
            stdout=out,
            stderr=err,
            text=True,
            cwd=ROOT,
            env=child_env(),
        )
        waits = probe(url, process) if probe_audit else []
        code = process.wait(timeout=3600)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code != 0:
        raise SystemExit(f"{kind} failed:\n{stderr[-4000:]}")
    result = last_json(stdout)
    result["process_seconds"] = round(time.perf_counter() - started, 1)
    if probe_audit:
        ordered = sorted(waits)
        result["audit_append_probe"] = {
            "appends": len(waits),
            "p50_ms": round(ordered[len(ordered) // 2] * 1000, 1) if ordered else None,
            "max_s": round(ordered[-1], 1) if ordered else None,
            "over_1s": sum(1 for w in waits if w > 1),
        }
    print(
        f"{kind:>13}: {result['rows']} rows in {result['seconds']} s "
        f"(process {result['process_seconds']} s), peak RSS {result['vmhwm_mib']} MiB "
        f"(+{result['peak_above_start_mib']} MiB over its start)  {result}",
        flush=True,
    )
    return result


def probe(url: str, process: subprocess.Popen[str]) -> list[float]:
    """Audit appends from another connection while ``process`` runs (bounded by its life)."""
    from meet_core.audit import append_event
    from meet_core.db import make_engine, make_session_factory

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    waits: list[float] = []
    try:
        while process.poll() is None:
            started = time.perf_counter()
            with sessions.begin() as session:
                append_event(
                    session,
                    actor="bench:probe",
                    action="bench.probe",
                    entity_type="bench",
                    entity_id=None,
                    payload={"n": len(waits)},
                )
            waits.append(time.perf_counter() - started)
            time.sleep(0.5)
    finally:
        engine.dispose()
    return waits


def seed(url: str, meetings: int, days: int) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO api_clients (id, name, created_at) VALUES ('bench-client', 'bench', now())"))
        seconds = pg_seed.seed_history(
            conn,
            count=meetings,
            client_id="bench-client",
            first_day=FIRST_DAY,
            days=days,
            prefix="c0000000",
        )
        counts = pg_seed.table_counts(conn)
        day = conn.execute(
            text(
                "SELECT count(*) FROM meetings WHERE start_time >= CAST(:a AS timestamptz) "
                "AND start_time < CAST(:a AS timestamptz) + INTERVAL '1 day'"
            ),
            {"a": f"{FIRST_DAY} 00:00+00"},
        ).scalar_one()
        size = conn.execute(text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar_one()
    engine.dispose()
    print(f"seeded {counts} in {seconds:.1f} s; {day} meetings on {FIRST_DAY}; database {size}", flush=True)
    return {"counts": counts, "seconds": round(seconds, 1), "partition_meetings": int(day), "database_size": size}


def sensor_ticks(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Sensor ticks with the seeded history and ``--active`` running meetings."""
    import dagster as dg
    from api_load import Emulator
    from google_quota import RequestLog, add_active, harness_for, measure_ticks

    from meet_sandbox.emulator import SandboxClient
    from meet_sandbox.s3.embedded import EmbeddedS3

    results = []
    with tempfile.TemporaryDirectory(prefix="meet-ledger-scale-") as tmp, EmbeddedS3() as s3:
        emulator = Emulator(Path(tmp))
        try:
            SandboxClient(emulator.base_url).settings(request_log_limit=200_000)
            log = RequestLog(emulator.base_url)
            with dg.DagsterInstance.ephemeral() as instance:
                h = harness_for(url, emulator, Path(tmp), instance, s3)
                try:
                    results.append(measure_ticks(h, log, args.ticks, f"0 active, {args.meetings} past"))
                    add_active(h, args.active)
                    results.append(measure_ticks(h, log, args.ticks, f"{args.active} active, {args.meetings} past"))
                finally:
                    h.close()
        finally:
            emulator.stop()
    return {"configs": results}


def main() -> None:
    if len(sys.argv) >= 4 and sys.argv[1] == "child":
        print(json.dumps(child(sys.argv[2], sys.argv[3])))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meetings", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=1, help="days the meetings are spread over")
    parser.add_argument("--full", action="store_true", help="1,000,000 meetings")
    parser.add_argument("--active", type=int, default=200)
    parser.add_argument("--ticks", type=int, default=3)
    parser.add_argument("--no-rerun", dest="rerun", action="store_false")
    parser.add_argument(
        "--no-probe-audit",
        dest="probe_audit",
        action="store_false",
        help="do not time audit appends (as the API makes) during the ledger run",
    )
    parser.add_argument("--admin-url", default=pg_seed.ADMIN_URL)
    args = parser.parse_args()
    if args.full:
        args.meetings = 1_000_000
    warnings.filterwarnings("ignore")
    logging.disable(logging.INFO)
    summary: dict[str, Any] = {"meetings": args.meetings, "days": args.days}
    with pg_seed.temp_database(args.admin_url) as url:
        summary["seed"] = seed(url, args.meetings, args.days)
        summary["baseline"] = run_child("baseline", url)
        summary["ledger"] = run_child("ledger", url, probe_audit=args.probe_audit)
        if args.probe_audit:
            p = summary["ledger"]["audit_append_probe"]
            print(
                f"audit appends from another connection during the ledger run: {p['appends']}, "
                f"p50 {p['p50_ms']} ms, longest {p['max_s']} s, {p['over_1s']} over 1 s",
                flush=True,
            )
        if args.rerun:
            summary["ledger_rerun"] = run_child("ledger-rerun", url)
        summary["ledger_vs_baseline_time"] = round(summary["ledger"]["seconds"] / summary["baseline"]["seconds"], 1)
        print(
            f"ledger / baseline time: x{summary['ledger_vs_baseline_time']}; "
            f"ledger peak RSS {summary['ledger']['vmhwm_mib']} MiB vs baseline "
            f"{summary['baseline']['vmhwm_mib']} MiB",
            flush=True,
        )
        if args.active:
            summary["ticks"] = sensor_ticks(url, args)
    print(json.dumps(summary, default=str))


if __name__ == "__main__":
    main()
