"""Freshness: from a recording's FILE_GENERATED to its archived-and-verified manifest row,
with many meetings in progress, events mode against polling in the same run.

    .venv/bin/python bench/events_freshness.py                    # 1,000 meetings (long)
    .venv/bin/python bench/events_freshness.py --meetings 200

Google is the project's emulator (its own process, real HTTP), S3 the embedded moto
server, the database a throw-away PostgreSQL one per mode; the pipeline is driven in
process with meet_sandbox/pipeline_harness.py, a round every ``--interval`` emulated
seconds (60, the sensors' default) as the daemon ticks: provisioning, events_sensor in
events mode, conference_sensor, archive_sensor + the runs it asks for. The clock runs on
during a round's work; the next round starts an interval after this one began (the
daemon's runs are processes of their own and do not hold its sensors back).
``--meetings`` meetings are in progress at once (each its own space, the organizer joined, auto recording on, small recordings); they end
spread over ``--end-spread`` minutes, each recording becomes FILE_GENERATED ``--ready-delay``
seconds later (emulated; not a whole minute, so it falls between two ticks), and Pub/Sub
receives each event ``--event-latency`` emulated seconds after the change. Per recording:
``archived_at`` (the archive's clock, the emulator's) minus the emulator's ``ready_at``,
split at the start of the archive runs that moved it: the wait to that start (the pipeline
learning of the file) and the transfer (queued behind that round's others). Prints
p50/p99/max of each per mode and a JSON summary last.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import warnings
from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import common  # noqa: F401 - the repository root on sys.path
import pg_seed
from api_load import Emulator
from google_quota import EVENTS_ENV, add_active, events_setup, harness_for


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def run_mode(h: Any, args: argparse.Namespace, events: bool) -> dict[str, Any]:
    from sqlalchemy import select

    from meet_core.db.models import ArchiveManifestEntry, Meeting
    from meet_sandbox.pipeline_harness import ORGANIZER

    if events:
        events_setup(h)
    ids = add_active(h, args.meetings)  # organizer joined: conferences running, recording
    with h.sessions() as session:
        spaces = dict(session.execute(select(Meeting.id, Meeting.space_name).where(Meeting.id.in_(ids))).all())
    h.advance(args.duration)
    # Meetings end spread over ``--end-spread`` minutes (as a working day's do), each in its
    # own minute; with a ready delay that is not a whole minute, FILE_GENERATED falls between
    # two sensor ticks, as it does against the daemon.
    ending = sorted(spaces.values())
    per_minute = max(1, -(-len(ending) // max(1, args.end_spread)))
    rounds = 0
    archive_phases: list[tuple[datetime, datetime]] = []  # emulated start, end of each round's runs
    tick_at = h.now()
    while rounds < args.max_minutes:
        for space in ending[:per_minute]:
            h.people.leave(space, ORGANIZER)
        ending = ending[per_minute:]
        rounds += 1
        # The daemon ticks each sensor every interval, and runs are processes of their own:
        # the next tick is an interval after this one, however long its runs take here.
        tick_at += timedelta(seconds=args.interval)
        wait = (tick_at - h.now()).total_seconds()
        if wait > 0:
            h.advance(wait / 60)
        else:
            tick_at = h.now()  # the round outlasted the interval: the tick is late, as it would be
        h.tick("provisioning_sensor")
        if events:
            h.tick("events_sensor")
        h.tick("conference_sensor")
        started = h.now()
        h.archive_ready(raise_on_error=False)
        archive_phases.append((started, h.now()))
        with h.sessions() as session:
            rows = session.scalars(
                select(ArchiveManifestEntry).where(
                    ArchiveManifestEntry.meeting_id.in_(ids), ArchiveManifestEntry.kind == "recording"
                )
            ).all()
        done = [r for r in rows if r.state == "archived"]
        if len(done) >= len(ids) and not ending:
            break
    state = h.people.state()
    ready = {name: item["ready_at"] for name, item in state["recordings"].items() if item.get("ready_at")}
    # Each lag splits at the start of the archive runs of the round that archived the
    # recording: before it, the pipeline learning of the file (the target's part); after
    # it, the transfer, queued behind that round's other transfers (the "+ transfer").
    starts = [start for start, _ in archive_phases]
    lags: dict[str, list[float]] = {"total": [], "to_transfer": [], "transfer": []}
    for row in done:
        if row.artifact_name in ready and row.archived_at is not None:
            generated = datetime.fromtimestamp(ready[row.artifact_name], UTC)
            transfer_start = starts[max(0, bisect_right(starts, row.archived_at) - 1)]
            lags["total"].append((row.archived_at - generated).total_seconds())
            lags["to_transfer"].append((transfer_start - generated).total_seconds())
            lags["transfer"].append((row.archived_at - transfer_start).total_seconds())
    result: dict[str, Any] = {
        "mode": "events" if events else "polling",
        "meetings": len(ids),
        "archived": len(done),
        "ticks": rounds,
    }
    for part, values in lags.items():
        result[part] = summarize(values)
    print(f"{result['mode']:<8} {result['archived']}/{result['meetings']} archived in {rounds} sensor ticks",
          flush=True)
    for part, label in (("total", "FILE_GENERATED → archived"), ("to_transfer", "FILE_GENERATED → its transfer"),
                        ("transfer", "transfer (queued in its round)")):
        figures = result[part]
        print(f"  {label:<32} p50 {figures['p50_seconds']} s, p99 {figures['p99_seconds']} s, "
              f"max {figures['max_seconds']} s", flush=True)
    return result


def summarize(values: list[float]) -> dict[str, float | None]:
    return {
        "p50_seconds": round(percentile(values, 0.5), 1) if values else None,
        "p99_seconds": round(percentile(values, 0.99), 1) if values else None,
        "max_seconds": round(max(values), 1) if values else None,
        "mean_seconds": round(statistics.mean(values), 1) if values else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meetings", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=20, help="emulated minutes the meetings run")
    parser.add_argument("--ready-delay", type=float, default=75.0, help="emulated s, end → FILE_GENERATED")
    parser.add_argument("--end-spread", type=int, default=10, help="emulated minutes over which the meetings end")
    parser.add_argument(
        "--event-latency", type=float, default=30.0, help="emulated s, change → Pub/Sub publish (Google: up to minutes)"
    )
    parser.add_argument("--max-minutes", type=int, default=180, help="most rounds (sensor ticks)")
    parser.add_argument("--interval", type=float, default=60.0, help="emulated s between sensor ticks (the default)")
    parser.add_argument("--mode", choices=("both", "polling", "events"), default="both")
    parser.add_argument("--admin-url", default=pg_seed.ADMIN_URL)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.INFO)
    import dagster as dg

    from meet_sandbox.emulator import SandboxClient
    from meet_sandbox.s3.embedded import EmbeddedS3

    summary: dict[str, Any] = {"events_env": EVENTS_ENV, "args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="meet-fresh-") as tmp, EmbeddedS3() as s3:
        folder = Path(tmp)
        emulator = Emulator(folder)
        try:
            sandbox = SandboxClient(emulator.base_url)
            modes = ["polling", "events"] if args.mode == "both" else [args.mode]
            for mode in modes:
                sandbox.reset()
                sandbox.settings(
                    recording_ready_delay_seconds=args.ready_delay,
                    transcript_ready_delay_seconds=args.ready_delay,
                    event_latency_seconds=args.event_latency,
                )
                with pg_seed.temp_database(args.admin_url) as url, dg.DagsterInstance.ephemeral() as instance:
                    h = harness_for(url, emulator, folder, instance, s3, events=mode == "events")
                    try:
                        summary[mode] = run_mode(h, args, mode == "events")
                    finally:
                        h.close()
        finally:
            emulator.stop()
    summary["generated_at"] = (datetime.now(UTC) - timedelta(0)).isoformat()
    print(json.dumps(summary, default=str))


if __name__ == "__main__":
    main()
