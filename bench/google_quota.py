"""Google calls: per meeting over its whole life, and per conference-sensor tick vs history.

    .venv/bin/python bench/google_quota.py                  # 100k past meetings, 1,000 active (~4 min)
    .venv/bin/python bench/google_quota.py --past 20000 --active 200 --ticks 3

Google is the project's emulator (its own process, real HTTP); every Google request is
counted from the emulator's request log (``/_emulator/requests``, token and control calls
left out) by discovery method id, so the figures include retries and pagination. The
pipeline is driven in process with meet_sandbox/pipeline_harness.py (sensors ticked with
``build_sensor_context``, runs materialized), on a throw-away PostgreSQL database.

**Life of one meeting** (production windows: lead 15 min, rejoin gap 10 min, not-held grace
30 min, artifact wait 120 min; the emulated clock moves one minute per tick, as the daemon
ticks every 60 s): created 30 min ahead (provisioning: the same code and calls as
``POST /api/v1/meetings``), held 25 min by the organizer and one colleague, recorded and
transcribed, archived by the archive runs the archive sensor asks for, swept again by the
daily ``harvest_day`` job, judged by ``compliance_ledger``. Calls are attributed to the
phase (meeting status at the tick) that made them.

**Per tick vs history**: 1,000 active meetings (``in_progress``, each with a real Meet
space and a running conference) are watched; the conference sensor is ticked ``--ticks``
times with no history, then again after ``--past`` meetings that finished long ago (with
invitations, conference records, attendance and archived recordings: bench/pg_seed.py) are
bulk-inserted; then with the history and no active meeting. Calls per tick, tick seconds and
the watch-list query's seconds for each.

**Events mode vs polling** (``--mode both``, the default): the same life of one meeting and
the same per-tick measure, once with ``MEET_INGESTION=polling`` and once with
``MEET_INGESTION=events`` (the emulator's Workspace Events and Pub/Sub; ``events setup``
and the organizer's subscription are charged to the meeting as "0 setup"), each on its own
database. In events mode every minute also ticks ``events_sensor``; ``conference_sensor``
only takes the backstop's one look. Per tick in events mode: the Google calls of
``events_sensor`` + ``conference_sensor`` with ``--active`` meetings in progress (no history
run: the history's effect is measured in polling mode).

Prints one line per phase / configuration and a JSON summary last.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
import urllib.request
import uuid
import warnings
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import common  # noqa: F401 - the repository root on sys.path
import pg_seed
from api_load import Emulator

BUCKET = "quota-bench"
PRODUCTION_WINDOWS = {
    "MEET_MEETING_LEAD_MINUTES": "15",
    "MEET_NOT_HELD_GRACE_MINUTES": "30",
    "MEET_REJOIN_GAP_MINUTES": "10",
    "MEET_ARTIFACT_WAIT_MINUTES": "120",
    "MEET_ARCHIVE_RETRY_MINUTES": "5",
}
IGNORED_APIS = ("token", "control", None)
EVENTS_ENV = {
    "MEET_INGESTION": "events",
    "MEET_EVENTS_TOPIC": "projects/quota-bench/topics/meet-events",
    "MEET_EVENTS_SUBSCRIPTION": "projects/quota-bench/subscriptions/meet-pipeline",
}


class RequestLog:
    """Google requests seen by the emulator since the last ``take``, by method id."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url + "/_emulator/requests"

    def take(self) -> Counter[str]:
        with urllib.request.urlopen(self.url) as answer:  # noqa: S310 - loopback
            rows = json.loads(answer.read())["requests"]
        request = urllib.request.Request(self.url, method="DELETE")
        urllib.request.urlopen(request).close()  # noqa: S310
        return Counter(r["method_id"] for r in rows if r.get("api") not in IGNORED_APIS)


def harness_for(
    url: str, emulator: Emulator, folder: Path, instance: Any, s3: Any, *, events: bool = False
) -> Any:
    from meet_core.archive.client import ensure_bucket
    from meet_sandbox.emulator import SandboxClient
    from meet_sandbox.pipeline_harness import make_harness

    client = s3.client()
    ensure_bucket(client, BUCKET)
    return make_harness(
        database_url=url,
        emulator_url=emulator.base_url,
        key_file=emulator.key,
        people=SandboxClient(emulator.base_url),
        s3_endpoint=s3.endpoint_url,
        s3_client=client,
        bucket=BUCKET,
        instance=instance,
        home=folder,
        env={**PRODUCTION_WINDOWS, **(EVENTS_ENV if events else {"MEET_INGESTION": "polling"})},
        # production backoff (the harness shortens it for tests)
        google={"retry_base_seconds": 0.2, "retry_cap_seconds": 8.0},
    )


# -- life of one meeting -----------------------------------------------------------------


def events_setup(h: Any) -> None:
    """``meet-archive events setup`` and the default organizer's subscription."""
    from meet_core.events.setup import setup
    from meet_core.events.subscriptions import keep_subscriptions

    settings = h.settings
    setup(h.gateway, topic=settings.events_topic, subscription=settings.events_subscription)
    keep_subscriptions(
        h.gateway, h.sessions, topic=settings.events_topic,
        default_subject=settings.google_subject, now=h.now(),
    )


def lifecycle(h: Any, log: RequestLog, max_minutes: int, *, events: bool = False) -> dict[str, Any]:
    from meet_core.days import day_of
    from meet_core.db.models import ManifestState
    from meet_pipeline.defs.compliance.assets import compliance_ledger
    from meet_sandbox.pipeline_harness import HARVEST_ASSETS, ORGANIZER

    colleague, colleague_name = "colin@example.com", "Colin Colleague"
    phases: dict[str, Counter[str]] = {}
    ticks: Counter[str] = Counter()

    def charge(phase: str) -> None:
        phases.setdefault(phase, Counter()).update(log.take())

    log.take()
    if events:
        events_setup(h)
        charge("0 setup (topic, subscription; once per organizer)")
    t0 = h.now()
    start, end = t0 + timedelta(minutes=30), t0 + timedelta(minutes=60)
    meeting_id = h.add_meeting("LIFE-1", start=start, end=end, guests=[(colleague, colleague_name)])
    h.tick("provisioning_sensor")
    charge("1 create (provisioning)")
    space = h.space(meeting_id)
    joined = left = False
    for _minute in range(max_minutes):
        h.advance(1)
        now = h.now()
        if not joined and now >= start:
            h.people.join(space, ORGANIZER, display_name="Olga Organizer")
            h.people.join(space, colleague, display_name=colleague_name)
            joined = True
        if joined and not left and now >= start + timedelta(minutes=25):
            h.people.leave(space, colleague)
            h.people.leave(space, ORGANIZER)
            left = True
        log.take()  # the sandbox's own actions are not the pipeline's
        h.tick("provisioning_sensor")
        charge("0 provisioning sensor (nothing due)")
        status = h.meeting(meeting_id).status
        waiting = any(r.google_state != "FILE_GENERATED" for r in manifest_rows(h, meeting_id)) or not manifest_rows(
            h, meeting_id
        )
        phase = {
            "scheduled": "2 scheduled, watched from lead",
            "in_progress": "3 in progress",
            "finished": "4 finished, files not generated" if waiting else "5 finished, artifact wait",
        }.get(status, f"status {status}")
        if events:
            h.tick("events_sensor")
        h.tick("conference_sensor")
        ticks[phase] += 1
        charge(phase)
        h.archive_ready()
        charge("6 archive runs")
        rows = manifest_rows(h, meeting_id)
        done = rows and all(r.state == ManifestState.ARCHIVED for r in rows)
        if done and now > end + h.pipeline.window.artifact_wait + timedelta(minutes=5):
            break
    rows = manifest_rows(h, meeting_id)
    partition = day_of(start)
    h.materialize(HARVEST_ASSETS, partition)
    charge("7 daily harvest (harvest_day)")
    h.materialize([compliance_ledger], partition)
    charge("8 compliance ledger")
    total = sum((c for c in phases.values()), Counter())
    # Per meeting: setup is once per organizer, and a Pub/Sub pull/acknowledge serves every
    # meeting in progress at once (its count does not depend on how many): both left out.
    own = sum(
        (Counter({m: c for m, c in calls.items() if not m.startswith("pubsub.")})
         for phase, calls in phases.items() if not phase.startswith("0 setup")),
        Counter(),
    )
    return {
        "per_meeting": sum(own.values()),
        "per_meeting_by_method": dict(sorted(own.items())),
        "status": h.meeting(meeting_id).status,
        "artifacts": {r.kind: r.state for r in rows},
        "minutes_by_phase": dict(ticks),
        "phases": {k: dict(sorted(v.items())) for k, v in sorted(phases.items())},
        "per_phase_total": {k: sum(v.values()) for k, v in sorted(phases.items())},
        "total": sum(total.values()),
        "by_method": dict(sorted(total.items())),
    }


def manifest_rows(h: Any, meeting_id: str) -> list[Any]:
    from sqlalchemy import select

    from meet_core.db.models import ArchiveManifestEntry

    with h.sessions() as session:
        return list(session.scalars(select(ArchiveManifestEntry).where(ArchiveManifestEntry.meeting_id == meeting_id)))


# -- per tick vs history ------------------------------------------------------------------


def add_active(h: Any, count: int) -> list[str]:
    """``count`` meetings in progress, each with its own Meet space and a running conference;
    inserted with SQLAlchemy core executemany."""
    from sqlalchemy import insert, select

    from meet_core.db.models import ApiClient, Meeting, MeetingStatus, Participant
    from meet_sandbox.pipeline_harness import ORGANIZER

    now = h.now()
    with h.sessions.begin() as session:
        client = ApiClient(name="active")
        session.add(client)
        session.flush()
        client_id = client.id
    rows, people = [], []
    for n in range(count):
        space = h.gateway.create_space()
        h.people.join(space.name, ORGANIZER, display_name="Olga Organizer")
        meeting_id = str(uuid.UUID(int=n + 1, version=4))
        rows.append(
            {
                "id": meeting_id,
                "client_id": client_id,
                "external_id": f"ACTIVE-{n}",
                "title": f"Active {n}",
                "start_time": now - timedelta(minutes=10),
                "end_time": now + timedelta(minutes=50),
                "timezone": "UTC",
                "organizer_email": ORGANIZER,
                "status": MeetingStatus.IN_PROGRESS,
                "space_name": space.name,
                "meeting_code": space.meeting_code,
                "auto_recording": True,
                "provisioning_attempts": 1,
                "version": 2,
                "created_at": now,
                "updated_at": now,
            }
        )
        people.append(
            {
                "meeting_id": meeting_id,
                "email": ORGANIZER,
                "role": "organizer",
                "response_status": "accepted",
                "display_name": "Olga Organizer",
            }
        )
    with h.sessions.begin() as session:
        session.execute(insert(Meeting), rows)
        session.execute(insert(Participant), people)
    with h.sessions() as session:
        return list(session.scalars(select(Meeting.id).where(Meeting.client_id == client_id)))


def measure_event_ticks(h: Any, log: RequestLog, ticks: int, label: str) -> dict[str, Any]:
    """Events mode: Google calls of events_sensor + conference_sensor per tick."""
    h.tick("events_sensor")  # the join events of the meetings just started
    log.take()
    per_tick, seconds = [], []
    for _ in range(ticks):
        h.advance(1)
        started = time.perf_counter()
        h.tick("events_sensor")
        h.tick("conference_sensor")
        seconds.append(time.perf_counter() - started)
        per_tick.append(sum(log.take().values()))
    result = {
        "config": label,
        "calls_per_tick": per_tick,
        "median_calls_per_tick": statistics.median(per_tick),
        "tick_seconds": [round(x, 2) for x in seconds],
    }
    print(f"{label:<38} calls/tick {per_tick}  tick s {result['tick_seconds']}", flush=True)
    return result


def events_ticks(h: Any, log: RequestLog, args: argparse.Namespace) -> dict[str, Any]:
    """Calls per tick with no meeting in progress, then with ``--active`` ones."""
    events_setup(h)
    results = [measure_event_ticks(h, log, args.ticks, "events: 0 active")]
    add_active(h, args.active)
    results.append(measure_event_ticks(h, log, args.ticks, f"events: {args.active} active"))
    return {"configs": results}


def measure_ticks(h: Any, log: RequestLog, ticks: int, label: str) -> dict[str, Any]:
    from meet_core.harvest.watchlist import watched_meeting_ids
    from meet_core.meetings_state import WindowPolicy  # noqa: F401 - policy comes from resources
    from meet_pipeline.policy import SENSOR_INTERVAL_SECONDS

    now, window = h.now(), h.resources["policy"].window()
    interval = timedelta(seconds=SENSOR_INTERVAL_SECONDS)
    started = time.perf_counter()
    with h.sessions() as session:
        watched = watched_meeting_ids(session, now=now, policy=window, sensor_interval=interval)
    watch_seconds = time.perf_counter() - started
    log.take()
    per_tick, seconds, looked = [], [], []
    for _ in range(ticks):
        started = time.perf_counter()
        h.tick("conference_sensor")
        seconds.append(time.perf_counter() - started)
        per_tick.append(sum(log.take().values()))
        looked.append(h.cursor("conference_sensor").get("looked", 0))
    other: dict[str, Any] = {}
    for sensor in ("provisioning_sensor", "archive_sensor"):
        started = time.perf_counter()
        h.tick(sensor)
        other[sensor] = {
            "seconds": round(time.perf_counter() - started, 3),
            "google_calls": sum(log.take().values()),
        }
    result = {
        "config": label,
        "watched": len(watched),
        "watchlist_query_ms": round(watch_seconds * 1000, 1),
        "looked_per_tick": looked,
        "calls_per_tick": per_tick,
        "median_calls_per_tick": statistics.median(per_tick),
        "tick_seconds": [round(s, 2) for s in seconds],
        "median_tick_seconds": round(statistics.median(seconds), 2),
        "other_sensors": other,
    }
    print(
        f"{label:<38} watched {len(watched):>5}  watch-list query {result['watchlist_query_ms']:>7.1f} ms  "
        f"calls/tick {per_tick}  tick s {result['tick_seconds']}  "
        f"provisioning {other['provisioning_sensor']}  archive {other['archive_sensor']}",
        flush=True,
    )
    return result


def history_ticks(h: Any, log: RequestLog, args: argparse.Namespace) -> dict[str, Any]:
    """History first (no active meeting), then the active meetings on top, then the history
    deleted again: the same active meetings with and without 100k past ones."""
    from sqlalchemy import text

    from meet_core.db.models import ApiClient

    with h.sessions.begin() as session:
        client = ApiClient(name="history")
        session.add(client)
        session.flush()
        client_id = client.id
    with h.engine.begin() as conn:
        seconds = pg_seed.seed_history(
            conn,
            count=args.past,
            client_id=client_id,
            first_day="2025-01-01",
            days=365,
            prefix="b0000000",
        )
        counts = pg_seed.table_counts(conn)
    print(f"history: {counts} in {seconds:.1f} s (finished 2025)", flush=True)
    results = [measure_ticks(h, log, args.ticks, f"0 active, {args.past} past")]
    started = time.perf_counter()
    active = add_active(h, args.active)
    print(
        f"{len(active)} active meetings with running conferences in {time.perf_counter() - started:.1f} s", flush=True
    )
    results.append(measure_ticks(h, log, args.ticks, f"{args.active} active, {args.past} past"))
    started = time.perf_counter()
    with h.engine.begin() as conn:  # foreign keys cascade to the history's other rows
        conn.execute(text("DELETE FROM meetings WHERE client_id = :c"), {"c": client_id})
    with h.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        left = pg_seed.table_counts(conn)
    print(f"history deleted in {time.perf_counter() - started:.1f} s: {left}", flush=True)
    results.append(measure_ticks(h, log, args.ticks, f"{args.active} active, 0 past"))
    with_history, without = results[1], results[2]
    return {
        "configs": results,
        "history_rows": counts,
        "calls_per_tick_ratio_100k_vs_0": round(
            with_history["median_calls_per_tick"] / max(without["median_calls_per_tick"], 1), 2
        ),
        "tick_seconds_ratio_100k_vs_0": round(
            with_history["median_tick_seconds"] / max(without["median_tick_seconds"], 1e-3), 2
        ),
    }


# -- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--past", type=int, default=100_000)
    parser.add_argument("--active", type=int, default=1_000)
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument("--max-minutes", type=int, default=300, help="bound of the life loop")
    parser.add_argument("--admin-url", default=pg_seed.ADMIN_URL)
    parser.add_argument("--skip-life", action="store_true")
    parser.add_argument("--skip-history", action="store_true")
    parser.add_argument("--mode", choices=("both", "polling", "events"), default="both")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.INFO)  # Dagster's per-event run logs
    import dagster as dg

    from meet_sandbox.emulator import SandboxClient
    from meet_sandbox.s3.embedded import EmbeddedS3

    summary: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="meet-quota-") as tmp, EmbeddedS3() as s3:
        folder = Path(tmp)
        emulator = Emulator(folder)
        try:
            SandboxClient(emulator.base_url).settings(request_log_limit=200_000)
            log = RequestLog(emulator.base_url)
            modes = ["polling", "events"] if args.mode == "both" else [args.mode]
            for mode in modes:
                events = mode == "events"
                if not args.skip_life:
                    with pg_seed.temp_database(args.admin_url) as url, dg.DagsterInstance.ephemeral() as instance:
                        h = harness_for(url, emulator, folder, instance, s3, events=events)
                        try:
                            life = lifecycle(h, log, args.max_minutes, events=events)
                        finally:
                            h.close()
                    summary[f"life_{mode}"] = life
                    for phase, calls in life["phases"].items():
                        print(f"life {mode:<7} {phase:<48} {sum(calls.values()):>5} calls  {calls}", flush=True)
                    print(
                        f"life {mode:<7} per meeting {life['per_meeting']} Google calls (setup and the "
                        f"Pub/Sub pulls shared by all meetings left out)",
                        flush=True,
                    )
                    print(
                        f"life {mode:<7} total {life['total']} Google calls for one meeting; emulated minutes "
                        f"by phase {life['minutes_by_phase']}; final status {life['status']}, artifacts "
                        f"{life['artifacts']}",
                        flush=True,
                    )
                if args.skip_history:
                    continue
                with pg_seed.temp_database(args.admin_url) as url, dg.DagsterInstance.ephemeral() as instance:
                    h = harness_for(url, emulator, folder, instance, s3, events=events)
                    try:
                        if events:
                            summary["ticks_events"] = events_ticks(h, log, args)
                            continue
                        summary["ticks"] = ticks = history_ticks(h, log, args)
                    finally:
                        h.close()
                print(
                    f"{args.past} vs 0 past at {args.active} active: calls per tick x"
                    f"{ticks['calls_per_tick_ratio_100k_vs_0']}, tick time x"
                    f"{ticks['tick_seconds_ratio_100k_vs_0']}",
                    flush=True,
                )
        finally:
            emulator.stop()
    print(json.dumps(summary, default=str))


if __name__ == "__main__":
    main()
