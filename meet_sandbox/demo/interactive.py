"""`meet-archive demo`: every process of the product on embedded defaults, side by side.

Starts the emulator and the S3 server in this process, then the API, the Dagster
webserver and the Dagster daemon as child processes (as they run in production), plays the
scenario through the REST API while the daemon's sensors do the rest, judges the day through
the webserver (ledger, checks, report, digest), prints the headless demo's summary and what
to open, and keeps running until Ctrl-C, SIGTERM or SIGHUP, which stop every process it started.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from meet_sandbox.children import ChildProcesses, ended_by_signals
from meet_sandbox.demo.daemon import DaemonPipeline
from meet_sandbox.demo.headless import DEMO_PIPELINE_ENV
from meet_sandbox.demo.stack import Stack, start_stack

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# The production definitions with the emulator's clock (meet_sandbox.pipeline).
WORKSPACE = Path(__file__).resolve().parents[1] / "workspace.yaml"


def _say(message: str) -> None:
    print(message, flush=True)


# The daemon ticks each sensor at most this often; short, so the story plays in minutes.
DEMO_SENSOR_INTERVAL_SECONDS = "10"


def main(*, api_port: int = 8000, ui_port: int = 3000, keep: bool = False) -> int:
    for name, value in {**DEMO_PIPELINE_ENV, "MEET_SENSOR_INTERVAL_SECONDS": DEMO_SENSOR_INTERVAL_SECONDS}.items():
        os.environ.setdefault(name, value)
    with ended_by_signals():  # SIGTERM, SIGHUP: the same orderly stop as Ctrl-C
        stack = start_stack(fresh=not keep)
        try:
            return _run(stack, api_port, ui_port)
        except KeyboardInterrupt:
            return 0
        finally:
            stack.close()


def _run(stack: Stack, api_port: int, ui_port: int) -> int:
    from meet_core.apikeys import create_key
    from meet_core.db import make_engine, make_session_factory
    from meet_core.db.migrate import upgrade
    from meet_pipeline.home import create_instance_storage, prepare_dagster_home
    from meet_sandbox.demo.scenario import Scenario
    from meet_sandbox.demo.summary import summarize
    from meet_sandbox.emulator import SandboxClient

    dagster_home = prepare_dagster_home(stack.settings.home)
    create_instance_storage(dagster_home)  # the webserver and the daemon start on it together
    env = {**stack.env, "DAGSTER_HOME": str(dagster_home)}
    settings = stack.settings
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        admin = create_key(session, name="demo-admin", role="admin", client="xoma-demo", actor="demo")
        service = create_key(session, name="demo-xoma", role="service", client="xoma-demo", actor="demo")

    logs = settings.home / "logs"
    logs.mkdir(exist_ok=True)
    # Each process logs to its own file so that the demo's own story stays readable.
    with ChildProcesses(env, logs, ROOT) as children:
        children.spawn("api", str(BIN / "meet-archive"), "api", "--host", "127.0.0.1", "--port", str(api_port))
        children.spawn("dagster-webserver", str(BIN / "dagster-webserver"), "-h", "127.0.0.1",
                       "-p", str(ui_port), "-w", str(WORKSPACE))
        children.spawn("dagster-daemon", str(BIN / "dagster-daemon"), "run", "-w", str(WORKSPACE))
        api_url, ui_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ui_port}"
        children.wait_http(api_url + "/health/live", "the API", timeout=120)
        children.wait_http(ui_url + "/server_info", "the Dagster UI", timeout=120)
        for line in stack.notes:
            _say(line)
        for line in stack.started:
            _say(f"started {line}")
        _say(f"API docs:     {api_url}/schema")
        _say(f"Dagster UI:   {ui_url}")
        _say(f"admin key:    {admin.plaintext}")
        _say(f"service key:  {service.plaintext}")
        _say(f"logs:         {logs}")
        interval = int(os.environ["MEET_SENSOR_INTERVAL_SECONDS"])

        def wait_for_sensors() -> None:
            # Three sensor intervals: one tick to see the change, one for what it launched.
            time.sleep(3 * interval)

        with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {service.plaintext}"},
                          timeout=60) as api:
            scenario = Scenario(api=api, people=SandboxClient(stack.emulator_url), settle=wait_for_sensors,
                                say=_say)
            scenario.play()
        pipeline = DaemonPipeline(ui_url, say=_say)
        _say("Scenario played; waiting until the sensors have settled every meeting and archived every file")
        if not pipeline.settle(sessions, [m["id"] for m in scenario.meetings.values()], interval):
            _say("  the pipeline is still busy; judging the day as it stands")
        # The compliance schedules follow the wall clock; the demo's day has played on the
        # emulator's faster one, so the demo launches what they would (summary.py).
        _say("Judging the day (ledger and its checks, attestation), publishing its report, digesting the audit chain")
        summary = summarize(sessions, scenario, pipeline, stack.settings)
        engine.dispose()
        print(json.dumps(summary, sort_keys=True), flush=True)
        for line in where_to_look(summary, ui_url, api_url, pipeline):
            _say(line)
        _say("The pipeline keeps running. Ctrl-C stops everything.")
        while children.all_alive():
            time.sleep(1)
        return 1


def where_to_look(summary: dict[str, Any], ui_url: str, api_url: str, pipeline: DaemonPipeline) -> list[str]:
    """The demo's last lines: what to open now."""
    lines = ["Open:"]
    for day in summary.get("days", []):
        lines.append(f"  the ledger of {day}:  {ui_url}/assets/compliance_ledger?view=partitions&partition={day}")
        lines.append(f"  its checks:          {ui_url}/assets/compliance_ledger?view=checks")
        url = pipeline.report_url(day)
        lines.append(f"  its report:          {url or f'meet-archive report --day {day} --open'}")
        lines.append(f"  its ledger, in a shell: meet-archive ledger show --day {day}")
    lines.append(f"  the lineage:         {ui_url}/asset-groups")
    lines.append(f"  the runs:            {ui_url}/runs")
    lines.append(f"  the API docs:        {api_url}/schema")
    return lines
