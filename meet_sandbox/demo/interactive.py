"""`meet-archive demo`: every process of the product on embedded defaults, side by side.

Starts the emulator and the S3 server in this process, then the API, the Dagster
webserver and the Dagster daemon as child processes (as they run in production), plays the
scenario through the REST API while the daemon's sensors do the rest, prints the URLs and
keeps running until Ctrl-C, which stops every process it started.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx

from meet_sandbox.children import ChildProcesses
from meet_sandbox.demo.headless import DEMO_PIPELINE_ENV
from meet_sandbox.demo.stack import start_stack

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# The production definitions with the emulator's clock (meet_sandbox.pipeline).
WORKSPACE = Path(__file__).resolve().parents[1] / "workspace.yaml"


def _say(message: str) -> None:
    print(message, flush=True)


# The daemon ticks each sensor at most this often; short, so the story plays in minutes.
DEMO_SENSOR_INTERVAL_SECONDS = "10"


def main(*, api_port: int = 8000, ui_port: int = 3000) -> int:
    for name, value in {**DEMO_PIPELINE_ENV, "MEET_SENSOR_INTERVAL_SECONDS": DEMO_SENSOR_INTERVAL_SECONDS}.items():
        os.environ.setdefault(name, value)
    stack = start_stack()
    try:
        from meet_core.apikeys import create_key
        from meet_core.db import make_engine, make_session_factory
        from meet_core.db.migrate import upgrade
        from meet_pipeline.home import prepare_dagster_home
        from meet_sandbox.demo.scenario import Scenario
        from meet_sandbox.emulator import SandboxClient

        env = {**stack.env, "DAGSTER_HOME": str(prepare_dagster_home(stack.settings.home))}
        settings = stack.settings
        upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
        with make_session_factory(engine).begin() as session:
            admin = create_key(session, name="demo-admin", role="admin", client="xoma-demo", actor="demo")
            service = create_key(session, name="demo-xoma", role="service", client="xoma-demo", actor="demo")
        engine.dispose()

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
            for line in stack.started:
                _say(f"started {line}")
            _say(f"API docs:     {api_url}/schema")
            _say(f"Dagster UI:   {ui_url}")
            _say(f"admin key:    {admin.plaintext}")
            _say(f"service key:  {service.plaintext}")
            _say(f"logs:         {logs}")

            def wait_for_sensors() -> None:
                # Three sensor intervals: one tick to see the change, one for what it launched.
                time.sleep(3 * int(os.environ["MEET_SENSOR_INTERVAL_SECONDS"]))

            with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {service.plaintext}"},
                              timeout=60) as api:
                Scenario(api=api, people=SandboxClient(stack.emulator_url), settle=wait_for_sensors,
                         say=_say).play()
            _say("Scenario played; the pipeline keeps running. Ctrl-C stops everything.")
            while children.all_alive():
                time.sleep(1)
            return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stack.close()
