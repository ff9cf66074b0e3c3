"""API under load with 100,000 meetings in PostgreSQL, against a minimal Litestar baseline.

    .venv/bin/python bench/api_load.py                 # 100k meetings, 10 s per run, 2 rounds, 100 POSTs (~5 min)
    .venv/bin/python bench/api_load.py --full          # 30 s per run, 3 rounds, 300 POSTs
    .venv/bin/python bench/api_load.py --meetings 20000 --duration 5 --rounds 1 --posts 30
    .venv/bin/python bench/api_load.py --workers 2 --posts 0   # both servers with 2 processes

1. A throw-away PostgreSQL database (bench/pg_seed.py) gets ``--meetings`` past meetings of
   one client (server-side ``INSERT … SELECT generate_series``), each with 3 invitations and,
   when held, a conference record, 2 attendees and an archived recording in the manifest.
2. Two servers, each its own process with the same uvicorn settings (meet_api.server.serve:
   1 worker, or ``--workers`` processes for both; no access log of uvicorn's own), the same engine factory (meet_core.db.make_engine)
   and the same database:
   * ``api``: ``create_app`` (auth with a service key, rate limit raised out of the way, JSON
     request logs to a file, everything as in production);
   * ``baseline``: a minimal Litestar app, no auth, one SQL query per request: the meeting row
     with its invitations (``json_agg``), or the page of the filtered list.
3. A separate load process (async httpx, ``--connections`` keep-alive connections, bounded by
   ``--duration``) drives each route against each server in turn, ``--rounds`` times,
   alternating: ``detail`` (``GET /api/v1/meetings/{random id}``), ``list_day`` (status +
   one-day window, 50 per page) and ``list_status`` (status only, ~95 % of the table matches;
   the API answers ``total: null`` unless ``include_total=true``, so neither side counts). Per run: requests/s, p50/p99, errors, server CPU per request, client CPU.
4. ``POST /api/v1/meetings`` against the Google emulator (its own process): ``--posts``
   sequential creates, each followed by the same Google calls made directly through a
   GoogleGateway in this process (events.insert with a createRequest, events.get,
   spaces.patch, spaces.get); the API's own time = POST latency − direct gateway time.

Prints one line per run and a JSON summary last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pg_seed
from common import ROOT, child_env, free_port, last_json, process_cpu_seconds, process_tree, stop_process

ORGANIZER = "organizer@example.com"
FIRST_DAY = datetime(2025, 12, 1, tzinfo=UTC)
DAYS = 365
ROUTES = ("detail", "list_day", "list_status")


# -- servers ------------------------------------------------------------------------------


def baseline_app(url: str) -> Any:
    """The least a Litestar app can do for the same answers: one query, no auth, no logs."""
    from litestar import Litestar, get
    from litestar.exceptions import NotFoundException
    from sqlalchemy import text

    from meet_core.db import make_engine

    engine = make_engine(url)
    columns = (
        "m.id, m.external_id, m.title, m.description, m.start_time, m.end_time, m.timezone, "
        "m.organizer_email, m.status, m.calendar_event_id, m.space_name, m.meeting_code, "
        "m.meet_uri, m.auto_recording, m.version, m.created_at, m.updated_at"
    )
    detail_sql = text(
        f"SELECT {columns}, (SELECT coalesce(json_agg(json_build_object("  # noqa: S608
        "'email', p.email, 'display_name', p.display_name, 'role', p.role, "
        "'response_status', p.response_status) ORDER BY p.email), '[]') "
        "FROM participants p WHERE p.meeting_id = m.id) AS participants "
        "FROM meetings m WHERE m.id = :id"
    )
    list_sql = f"SELECT {columns} FROM meetings m WHERE m.status = :status"  # noqa: S608

    @get("/meetings/{meeting_id:str}", sync_to_thread=True)
    def detail(meeting_id: str) -> dict[str, Any]:
        with engine.connect() as conn:
            row = conn.execute(detail_sql, {"id": meeting_id}).mappings().first()
        if row is None:
            raise NotFoundException()
        return dict(row)

    @get("/meetings", sync_to_thread=True)
    def listing(
        status: str,
        start_from: datetime | None = None,
        start_to: datetime | None = None,
        limit: int = 50,
    ) -> dict[str, Any]:
        sql, params = list_sql, {"status": status, "limit": limit}
        if start_from is not None:
            sql, params["start_from"] = sql + " AND m.start_time >= :start_from", start_from
        if start_to is not None:
            sql, params["start_to"] = sql + " AND m.start_time < :start_to", start_to
        with engine.connect() as conn:
            rows = conn.execute(text(sql + " ORDER BY m.start_time, m.id LIMIT :limit"), params)
            return {"items": [dict(r) for r in rows.mappings()]}

    return Litestar(route_handlers=[detail, listing], on_shutdown=[engine.dispose], debug=False)


def baseline_from_env() -> Any:
    """The baseline of one worker process (uvicorn ``factory=True``)."""
    return baseline_app(os.environ["MEET_DATABASE_URL"])


def serve(kind: str, port: int, workers: int = 1) -> None:
    from meet_api.server import serve as uvicorn_serve

    if workers > 1:  # the same uvicorn settings as `meet-archive api --workers N`
        import uvicorn

        from meet_api.server import APP_FACTORY, UVICORN_SETTINGS

        factory = APP_FACTORY if kind == "api" else "api_load:baseline_from_env"
        uvicorn.run(factory, factory=True, workers=workers, host="127.0.0.1", port=port, **UVICORN_SETTINGS)
        return
    if kind == "api":
        from meet_api.app import create_app
        from meet_api.lib.logging import configure_logging

        configure_logging()
        app = create_app()
    else:
        app = baseline_app(os.environ["MEET_DATABASE_URL"])
    uvicorn_serve(app, "127.0.0.1", port)


class Server:
    def __init__(self, kind: str, env: dict[str, str], log: Path, workers: int = 1) -> None:
        self.kind, self.port = kind, free_port()
        self.log = log.open("ab")
        environment = child_env(env)
        environment["PYTHONPATH"] += os.pathsep + str(Path(__file__).parent)  # workers import api_load
        self.process = subprocess.Popen(
            [sys.executable, __file__, "serve", kind, str(self.port), str(workers)],
            env=environment,
            stdout=self.log,
            stderr=self.log,
            cwd=ROOT,
        )
        self.base_url = f"http://127.0.0.1:{self.port}"
        wait_for(f"{self.base_url}/{'health/live' if kind == 'api' else 'meetings/none'}", self.process)

    def cpu_seconds(self) -> float:
        """The server's CPU: its own and its worker processes' (with --workers)."""
        total = 0.0
        for pid in process_tree(self.process.pid):
            with contextlib.suppress(OSError):  # ended between listing and reading
                total += process_cpu_seconds(pid)
        return total

    def stop(self) -> None:
        stop_process(self.process, signal.SIGTERM)
        self.log.close()


def wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
                return
        except urllib.error.HTTPError:
            return  # it answers (404 for the baseline probe)
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


# -- the load process --------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def drive(spec: dict[str, Any]) -> dict[str, Any]:
    import httpx

    paths: list[str] = spec["paths"]
    connections, duration, warmup = spec["connections"], spec["duration"], spec["warmup"]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(
        base_url=spec["base_url"], headers=spec["headers"], limits=limits, timeout=30
    ) as client:
        start = time.perf_counter()
        record_from, stop = start + warmup, start + warmup + duration

        async def worker(seed: int) -> None:
            nonlocal errors
            rnd = random.Random(seed)
            while (now := time.perf_counter()) < stop:
                path = rnd.choice(paths)
                try:
                    response = await client.get(path)
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                took = time.perf_counter() - now
                if now >= record_from:
                    latencies.append(took)
                    statuses[status] = statuses.get(status, 0) + 1
                    if status != 200:
                        errors += 1

        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        await asyncio.gather(*(worker(i) for i in range(connections)))
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / duration, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "errors": errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "client_cpu_share": round(cpu / (warmup + duration), 2),
    }


def load_run(
    server: Server,
    paths: list[str],
    headers: dict[str, str],
    args: argparse.Namespace,
    folder: Path,
) -> dict[str, Any]:
    spec = {
        "base_url": server.base_url,
        "paths": paths,
        "headers": headers,
        "connections": args.connections,
        "duration": args.duration,
        "warmup": args.warmup,
    }
    spec_file = folder / f"spec-{uuid.uuid4().hex[:6]}.json"
    spec_file.write_text(json.dumps(spec))
    cpu0 = server.cpu_seconds()
    out = subprocess.run(
        [sys.executable, __file__, "load", str(spec_file)],
        capture_output=True,
        text=True,
        check=True,
        timeout=args.warmup + args.duration + 120,
    )
    result = last_json(out.stdout)
    cpu = server.cpu_seconds() - cpu0
    total = result["requests"] * (args.warmup + args.duration) / args.duration
    result["server_cpu_ms_per_request"] = round(cpu * 1000 / max(total, 1), 2)
    return result


# -- data ----------------------------------------------------------------------------------


def prepare_database(url: str, meetings: int) -> tuple[str, str, list[str]]:
    """Seed the history; returns (service API key, admin key, the meeting ids)."""
    from sqlalchemy import text

    from meet_core.apikeys import create_key
    from meet_core.db import make_engine, make_session_factory

    engine = make_engine(url)
    with make_session_factory(engine).begin() as session:
        service = create_key(session, name="xoma-load", role="service", client="xoma")
        admin = create_key(session, name="bench-admin", role="admin", client="bench")
    with engine.begin() as conn:
        seconds = pg_seed.seed_history(
            conn,
            count=meetings,
            client_id=service.client_id,
            first_day=FIRST_DAY.strftime("%Y-%m-%d"),
            days=DAYS,
            prefix="a0000000",
        )
        counts = pg_seed.table_counts(conn)
        ids = list(conn.execute(text("SELECT id FROM meetings")).scalars())
    engine.dispose()
    print(f"seeded {counts} in {seconds:.1f} s", flush=True)
    return service.plaintext, admin.plaintext, ids


def route_paths(route: str, kind: str, ids: list[str], rnd: random.Random) -> list[str]:
    prefix = "/api/v1/meetings" if kind == "api" else "/meetings"
    if route == "detail":
        return [f"{prefix}/{rnd.choice(ids)}" for _ in range(5000)]
    if route == "list_status":
        return [f"{prefix}?status=finished&limit=50"]
    paths = []
    for _ in range(1000):
        day = FIRST_DAY + timedelta(days=rnd.randrange(DAYS))
        start, end = (
            day.strftime("%Y-%m-%dT00:00:00Z"),
            (day + timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z"),
        )
        paths.append(f"{prefix}?status=finished&start_from={start}&start_to={end}&limit=50")
    return paths


def check_same_answer(api: Server, baseline: Server, key: str, meeting_id: str) -> None:
    """Both servers serve the same meeting (sanity, not a benchmark)."""

    def fetch(url: str, headers: dict[str, str]) -> dict[str, Any]:
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
                return dict(json.loads(answer.read()))
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{url}: {exc.code} {exc.read()[:500]!r}") from None

    ours = fetch(f"{api.base_url}/api/v1/meetings/{meeting_id}", {"Authorization": f"Bearer {key}"})
    theirs = fetch(f"{baseline.base_url}/meetings/{meeting_id}", {})
    assert ours["id"] == theirs["id"] == meeting_id, (ours, theirs)
    assert sorted(p["email"] for p in ours["participants"]) == sorted(p["email"] for p in theirs["participants"])


# -- POST against the emulator -----------------------------------------------------------


class Emulator:
    def __init__(self, folder: Path) -> None:
        from meet_sandbox.emulator import write_service_account

        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.key = write_service_account(folder / "sa.json", token_uri=self.base_url + "/token")
        self.log = (folder / "emulator.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "meet_sandbox.emulator",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--service-account",
                str(self.key),
            ],
            stdout=self.log,
            stderr=self.log,
            cwd=ROOT,
        )
        wait_for(self.base_url + "/_emulator/clock", self.process)

    def stop(self) -> None:
        stop_process(self.process, signal.SIGINT)
        self.log.close()


def direct_provisioning(gateway: Any, n: int) -> float:
    """The Google calls of one provisioning, made straight through the gateway; seconds."""
    from meet_core.google import CalendarAttendee, ConferenceCreate, EventDraft
    from meet_core.provisioning import event_id_for

    meeting_id = str(uuid.uuid4())
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    draft = EventDraft(
        event_id=event_id_for(meeting_id),
        summary=f"Direct {n}",
        start=start,
        end=start + timedelta(hours=1),
        timezone="Europe/Zurich",
        conference=ConferenceCreate(request_id=meeting_id),
        description="Quarterly review",
        attendees=[
            CalendarAttendee(ORGANIZER),
            CalendarAttendee(f"guest1.d{n}@example.org", "Guest One"),
            CalendarAttendee(f"guest2.d{n}@example.org", "Guest Two"),
        ],
        external_id=f"DIRECT-{n}",
        meeting_id=meeting_id,
    )
    started = time.perf_counter()
    event = gateway.insert_event(draft, subject=ORGANIZER)
    if event.conference_status == "pending" or not event.conference_id:
        event = gateway.wait_for_conference(event.id, subject=ORGANIZER)
    name = f"spaces/{event.conference_id}"
    gateway.enable_auto_artifacts(name, subject=ORGANIZER)
    space = gateway.get_space(name, subject=ORGANIZER)
    took = time.perf_counter() - started
    assert space.auto_recording
    return took


def post_body(n: int) -> dict[str, Any]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    return {
        "external_id": f"POST-{n}-{uuid.uuid4().hex[:6]}",
        "title": f"Created {n}",
        "description": "Quarterly review",
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(hours=1)).isoformat(),
        "timezone": "Europe/Zurich",
        "organizer_email": ORGANIZER,
        "participants": [
            {"email": f"guest1.p{n}@example.org", "display_name": "Guest One"},
            {"email": f"guest2.p{n}@example.org", "display_name": "Guest Two"},
        ],
    }


def request_methods(emulator: Emulator) -> dict[str, int]:
    with urllib.request.urlopen(emulator.base_url + "/_emulator/requests") as answer:  # noqa: S310
        rows = json.loads(answer.read())["requests"]
    counts: dict[str, int] = {}
    for row in rows:
        if row.get("api") not in ("token", "control", None):
            counts[row["method_id"]] = counts.get(row["method_id"], 0) + 1
    urllib.request.urlopen(  # noqa: S310
        urllib.request.Request(emulator.base_url + "/_emulator/requests", method="DELETE")
    ).close()
    return counts


def measure_posts(url: str, folder: Path, key: str, posts: int) -> dict[str, Any]:
    import httpx

    from meet_core.google import GoogleGateway
    from meet_core.settings import Settings

    emulator = Emulator(folder)
    env = {
        "MEET_DATABASE_URL": url,
        "MEET_HOME": str(folder),
        "MEET_GOOGLE_ENDPOINT": emulator.base_url,
        "GOOGLE_APPLICATION_CREDENTIALS": str(emulator.key),
        "MEET_GOOGLE_SUBJECT": ORGANIZER,
        "MEET_API_RATE_LIMIT": "1000000",
    }
    api = Server("api", env, folder / "api-post.log")
    try:
        gateway = GoogleGateway.from_settings(Settings.from_env(env))
        warm = 5
        post_ms, direct_ms, diffs = [], [], []
        statuses: dict[int, int] = {}
        calls_api: dict[str, int] = {}
        calls_direct: dict[str, int] = {}
        with httpx.Client(base_url=api.base_url, timeout=60, headers={"Authorization": f"Bearer {key}"}) as client:
            for n in range(posts + warm):
                request_methods(emulator)
                started = time.perf_counter()
                response = client.post(
                    "/api/v1/meetings",
                    json=post_body(n),
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                )
                post = time.perf_counter() - started
                api_calls = request_methods(emulator)
                direct = direct_provisioning(gateway, n)
                direct_calls = request_methods(emulator)
                if n < warm:
                    continue
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                post_ms.append(post * 1000)
                direct_ms.append(direct * 1000)
                diffs.append((post - direct) * 1000)
                for source, target in ((api_calls, calls_api), (direct_calls, calls_direct)):
                    for method, count in source.items():
                        target[method] = target.get(method, 0) + count
    finally:
        api.stop()
        emulator.stop()
    return {
        "posts": posts,
        "statuses": {str(k): v for k, v in statuses.items()},
        "post_p50_ms": round(percentile(post_ms, 0.5), 1),
        "post_p99_ms": round(percentile(post_ms, 0.99), 1),
        "google_direct_p50_ms": round(percentile(direct_ms, 0.5), 1),
        "google_direct_p99_ms": round(percentile(direct_ms, 0.99), 1),
        "added_by_api_p50_ms": round(percentile(diffs, 0.5), 1),
        "added_by_api_p99_ms": round(percentile(diffs, 0.99), 1),
        "google_calls_per_post": {k: round(v / posts, 2) for k, v in sorted(calls_api.items())},
        "google_calls_per_direct": {k: round(v / posts, 2) for k, v in sorted(calls_direct.items())},
    }


# -- main ----------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 1)
        return
    if len(sys.argv) >= 2 and sys.argv[1] == "load":
        print(json.dumps(asyncio.run(drive(json.loads(Path(sys.argv[2]).read_text())))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meetings", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--posts", type=int, default=100)
    parser.add_argument("--routes", nargs="+", default=list(ROUTES), choices=ROUTES)
    parser.add_argument("--full", action="store_true", help="30 s runs, 3 rounds, 300 POSTs")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes of both the API and the baseline (uvicorn workers)")
    parser.add_argument("--admin-url", default=pg_seed.ADMIN_URL)
    args = parser.parse_args()
    if args.full:
        args.duration, args.rounds, args.posts = 30.0, 3, 300
    rnd = random.Random(8)
    summary: dict[str, Any] = {
        "meetings": args.meetings,
        "connections": args.connections,
        "workers": args.workers,
        "duration_s": args.duration,
        "routes": {},
    }
    with (
        tempfile.TemporaryDirectory(prefix="meet-api-load-") as tmp,
        pg_seed.temp_database(args.admin_url) as url,
    ):
        folder = Path(tmp)
        key, _, ids = prepare_database(url, args.meetings)
        from meet_sandbox.emulator import write_service_account

        unused_key = write_service_account(folder / "sa-unused.json")
        env = {
            "MEET_DATABASE_URL": url,
            "MEET_HOME": str(folder),
            "MEET_API_RATE_LIMIT": "1000000",
            # reads never reach Google; an unused endpoint keeps the API from starting one
            "MEET_GOOGLE_ENDPOINT": "http://127.0.0.1:9",
            "GOOGLE_APPLICATION_CREDENTIALS": str(unused_key),
        }
        servers = {
            "api": Server("api", env, folder / "api.log", args.workers),
            "baseline": Server("baseline", env, folder / "baseline.log", args.workers),
        }
        try:
            check_same_answer(servers["api"], servers["baseline"], key, rnd.choice(ids))
            headers = {"api": {"Authorization": f"Bearer {key}"}, "baseline": {}}
            for route in args.routes:
                runs: dict[str, list[dict[str, Any]]] = {"api": [], "baseline": []}
                for _ in range(args.rounds):
                    for kind in ("baseline", "api"):
                        result = load_run(
                            servers[kind],
                            route_paths(route, kind, ids, rnd),
                            headers[kind],
                            args,
                            folder,
                        )
                        runs[kind].append(result)
                        print(
                            f"{route:<12} {kind:<9} {result['rps']:>8.1f} req/s  p50 "
                            f"{result['p50_ms']:>7.1f} ms  p99 {result['p99_ms']:>7.1f} ms  "
                            f"errors {result['errors']}  server CPU "
                            f"{result['server_cpu_ms_per_request']} ms/req  client CPU "
                            f"{result['client_cpu_share']} core",
                            flush=True,
                        )
                ratios = [a["rps"] / b["rps"] for a, b in zip(runs["api"], runs["baseline"], strict=True)]
                summary["routes"][route] = {
                    "runs": runs,
                    "throughput_ratio": [round(r, 2) for r in ratios],
                    "median_ratio": round(statistics.median(ratios), 2),
                }
                print(
                    f"{route:<12} throughput ratio api / baseline: {', '.join(f'{r:.2f}' for r in ratios)}",
                    flush=True,
                )
        finally:
            for server in servers.values():
                server.stop()
        if args.posts:
            post = measure_posts(url, folder, key, args.posts)
            summary["post"] = post
            print(
                f"POST /api/v1/meetings x{post['posts']} {post['statuses']}: p50 "
                f"{post['post_p50_ms']} ms p99 {post['post_p99_ms']} ms; same Google calls "
                f"direct p50 {post['google_direct_p50_ms']} ms p99 "
                f"{post['google_direct_p99_ms']} ms; added by the API p50 "
                f"{post['added_by_api_p50_ms']} ms p99 {post['added_by_api_p99_ms']} ms; "
                f"calls per POST {post['google_calls_per_post']}",
                flush=True,
            )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
