"""The product as separate processes on PostgreSQL, as on separate hosts: a Dagster code
server, daemon and webserver (instance from deploy/dagster.yaml, code location over gRPC
from deploy/workspace.yaml) and the API, with the demo scenario's traffic played through
the API; the webserver's GraphQL API must show sensors ticking and runs succeeding."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from meet_core.apikeys import create_key
from meet_core.db import make_engine, make_session_factory
from meet_core.db.migrate import upgrade
from meet_core.db.models import ArchiveManifestEntry, ManifestState
from meet_sandbox.children import ChildProcesses, free_port
from meet_sandbox.demo.scenario import Scenario
from meet_sandbox.emulator import EmulatorServer, SandboxClient
from meet_sandbox.s3.embedded import EmbeddedS3
from tests.databases import ENGINES, temporary_database

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SENSOR_INTERVAL = 5

pytestmark = pytest.mark.skipif("postgresql" not in ENGINES, reason="PostgreSQL half disabled")


@contextmanager
def processes(env: dict[str, str], logs: Path) -> Iterator[ChildProcesses]:
    """Code server (the sandbox location: production definitions with the emulator's clock),
    API, webserver and daemon as separate processes, stopped together."""
    with ChildProcesses(env, logs, ROOT) as children:
        children.spawn("code-server", str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1",
                       "-p", env["MEET_CODE_SERVER_PORT"], "-m", "meet_sandbox.pipeline")
        children.spawn("api", str(BIN / "meet-archive"), "api", "--host", "127.0.0.1",
                       "--port", env["TEST_API_PORT"])
        children.spawn("webserver", str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", env["TEST_UI_PORT"],
                       "-w", str(ROOT / "deploy" / "workspace.yaml"))
        children.spawn("daemon", str(BIN / "dagster-daemon"), "run", "-w", str(ROOT / "deploy" / "workspace.yaml"))
        yield children


def graphql(ui: str, query: str) -> dict[str, Any]:
    answer = httpx.post(f"{ui}/graphql", json={"query": query}, timeout=30)
    answer.raise_for_status()
    body = answer.json()
    assert "errors" not in body, body
    return dict(body["data"])


TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
SENSOR_TICKS = """
{ sensorOrError(sensorSelector: {repositoryName: "__repository__",
    repositoryLocationName: "meet-archive", sensorName: "%s"}) {
    ... on Sensor { sensorState { status ticks(limit: 200) { status } } } } }
"""
RUNS = """
{ runsOrError { ... on Runs { results { jobName status tags { key value } } } } }
"""


def test_separate_processes_on_postgres(tmp_path: Path, s3_server: EmbeddedS3, bucket: str) -> None:
    with ExitStack() as stack:
        app_url = stack.enter_context(temporary_database("postgresql", tmp_path))
        dagster_url = make_url(stack.enter_context(temporary_database("postgresql", tmp_path)))
        emulator = stack.enter_context(EmulatorServer())
        account = emulator.create_service_account(tmp_path / "sa.json")
        dagster_home = tmp_path / "dagster-home"
        dagster_home.mkdir()
        shutil.copy(ROOT / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
        api_port, ui_port = free_port(), free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("MEET_", "DAGSTER_"))},
            "MEET_HOME": str(tmp_path / "home"),
            "MEET_DATABASE_URL": app_url,
            "MEET_GOOGLE_ENDPOINT": emulator.base_url,
            "GOOGLE_APPLICATION_CREDENTIALS": str(account),
            "MEET_S3_ENDPOINT_URL": s3_server.endpoint_url,
            "MEET_S3_BUCKET": bucket,
            "MEET_OBJECT_LOCK_MODE": "GOVERNANCE",
            "MEET_RETENTION_DAYS": "1",
            "MEET_SENSOR_INTERVAL_SECONDS": str(SENSOR_INTERVAL),
            "MEET_MEETING_LEAD_MINUTES": "15",
            "MEET_NOT_HELD_GRACE_MINUTES": "10",
            "MEET_REJOIN_GAP_MINUTES": "5",
            "MEET_ARCHIVE_RETRY_MINUTES": "0",
            "DAGSTER_HOME": str(dagster_home),
            "DAGSTER_PG_HOST": dagster_url.host or "127.0.0.1",
            "DAGSTER_PG_PORT": str(dagster_url.port or 5432),
            "DAGSTER_PG_USER": dagster_url.username or os.environ.get("USER", "root"),
            "DAGSTER_PG_PASSWORD": dagster_url.password or "unused-with-trust-auth",
            "DAGSTER_PG_DB": dagster_url.database or "",
            "MEET_CODE_SERVER_HOST": "127.0.0.1",
            "MEET_CODE_SERVER_PORT": str(free_port()),
            "TEST_API_PORT": str(api_port),
            "TEST_UI_PORT": str(ui_port),
        }
        upgrade(app_url)
        engine = make_engine(app_url)
        stack.callback(engine.dispose)
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            key = create_key(session, name="xoma", role="service", client="xoma")
        people = SandboxClient(emulator.base_url)
        people.settings(recording_ready_delay_seconds=60, transcript_ready_delay_seconds=90)

        # As compose's one-shot jobs do: the instance's tables exist before Dagster starts.
        subprocess.run([sys.executable, "-m", "meet_pipeline.home"], env=env, check=True, timeout=120,
                       stdout=subprocess.DEVNULL)
        children = stack.enter_context(processes(env, tmp_path))
        api, ui = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ui_port}"
        children.wait_http(f"{api}/health/ready", "the API")
        children.wait_http(f"{ui}/server_info", "the Dagster webserver")

        def settle() -> None:
            time.sleep(3 * SENSOR_INTERVAL)

        with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {key.plaintext}"}, timeout=60) as client:
            scenario = Scenario(api=client, people=people, settle=settle, say=lambda _: None)
            scenario.play()
        ids = [m["id"] for m in scenario.meetings.values()]

        deadline = time.monotonic() + 300
        archived = 0
        while time.monotonic() < deadline:
            with sessions() as session:
                archived = session.scalar(select(func.count()).where(
                    ArchiveManifestEntry.meeting_id.in_(ids), ArchiveManifestEntry.state == ManifestState.ARCHIVED))
                waiting = session.scalar(select(func.count()).where(
                    ArchiveManifestEntry.meeting_id.in_(ids), ArchiveManifestEntry.state != ManifestState.ARCHIVED))
            if archived and not waiting:
                break
            time.sleep(SENSOR_INTERVAL)
        assert archived == 8 + 7 * 2, "every recording, transcript text and transcript entries archived"

        for sensor in ("provisioning_sensor", "conference_sensor", "archive_sensor"):
            state = graphql(ui, SENSOR_TICKS % sensor)["sensorOrError"]["sensorState"]
            assert state["status"] == "RUNNING"
            assert any(t["status"] in ("SUCCESS", "SKIPPED") for t in state["ticks"]), sensor
            assert not any(t["status"] == "FAILURE" for t in state["ticks"]), sensor
        deadline = time.monotonic() + 600  # runs start one after another; slow on a loaded machine
        while True:  # runs queued by the last ticks finish (with nothing left to do)
            runs = graphql(ui, RUNS)["runsOrError"]["results"]
            if all(r["status"] in TERMINAL for r in runs) or time.monotonic() > deadline:
                break
            time.sleep(2)
        archive_runs = [r for r in runs if r["jobName"] == "archive_day"]
        assert archive_runs and all(r["status"] == "SUCCESS" for r in archive_runs), runs
