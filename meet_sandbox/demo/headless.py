"""`meet-archive demo --headless`: the scenario end to end in one process, no UI.

The API is served on a loopback port by uvicorn in a thread; the Dagster sensors are
evaluated in-process with their cursors carried from tick to tick, and the runs they ask
for are executed in-process on an ephemeral instance, which is what the daemon would do.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from meet_sandbox.children import ended_by_signals
from meet_sandbox.demo.stack import Stack, start_stack

# Compressed time: short windows so that the day plays in about two emulated hours.
DEMO_PIPELINE_ENV = {
    "MEET_MEETING_LEAD_MINUTES": "15",
    "MEET_NOT_HELD_GRACE_MINUTES": "10",
    "MEET_REJOIN_GAP_MINUTES": "5",
    "MEET_ARTIFACT_WAIT_MINUTES": "60",
    "MEET_ARCHIVE_RETRY_MINUTES": "0",
    "MEET_COMPLIANCE_RECORDING_WAIT_MINUTES": "30",
}


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def serve_api() -> Iterator[str]:
    """The real API app under uvicorn on a free loopback port, in a thread of this process."""
    from meet_api.app import create_app
    from meet_api.server import BackgroundServer

    with BackgroundServer(create_app()) as server:
        yield server.base_url


def _job_name(target: Any) -> str | None:
    job = target.resolvable_to_job
    return job if isinstance(job, str) else getattr(job, "name", None)


class InProcessPipeline:
    """Ticks every sensor of the code location and runs what it asks for."""

    def __init__(self) -> None:
        import dagster as dg

        from meet_core.settings import Settings
        from meet_pipeline.settings import PipelineSettings
        from meet_sandbox.pipeline import build_sandbox_definitions

        self._dg = dg
        self.definitions = build_sandbox_definitions(Settings.from_env(), PipelineSettings.from_env())
        self.instance = dg.DagsterInstance.ephemeral()
        self.cursors: dict[str, str | None] = {}
        self.run_keys: set[tuple[str, str]] = set()
        self.runs = {"succeeded": 0, "failed": 0}

    def sensors(self) -> list[Any]:
        # Run-status sensors react to runs the daemon watches, and automation-condition
        # sensors are evaluated by the daemon's asset daemon; user sensors are ticked here.
        dg = self._dg
        skipped = (dg.RunStatusSensorDefinition, dg.AutomationConditionSensorDefinition)
        return [s for s in self.definitions.sensors or [] if not isinstance(s, skipped)]

    def settle(self, rounds: int = 8) -> None:
        """Tick until two rounds in a row ask for no new run (one sensor's work may be what
        another sensor acts on in the next round)."""
        quiet = 0
        for _ in range(rounds):
            quiet = 0 if self._round() else quiet + 1
            if quiet == 2:
                return

    def _round(self) -> int:
        dg = self._dg
        launched = 0
        resources = dict(self.definitions.resources or {})
        for sensor in self.sensors():
            context = dg.build_sensor_context(
                instance=self.instance, cursor=self.cursors.get(sensor.name),
                resources=resources, sensor_name=sensor.name, definitions=self.definitions,
            )
            result = sensor(context)
            if isinstance(result, dg.SensorResult):
                self.cursors[sensor.name] = result.cursor
                for event in result.asset_events or []:  # as the daemon stores them
                    self.instance.report_runless_asset_event(event)
                requests = list(result.run_requests or [])
            else:
                requests = [r for r in (result or []) if isinstance(r, dg.RunRequest)]
            for request in requests:
                key = (sensor.name, request.run_key or "")
                if request.run_key and key in self.run_keys:
                    continue  # the daemon launches a run key once
                self.run_keys.add(key)
                targets = sensor.targets
                job_name = request.job_name or (_job_name(targets[0]) if len(targets) == 1 else None)
                if job_name is None:
                    continue
                job = self.definitions.resolve_job_def(job_name)
                outcome = job.execute_in_process(
                    instance=self.instance, partition_key=request.partition_key,
                    tags=request.tags, raise_on_error=False,
                )
                self.runs["succeeded" if outcome.success else "failed"] += 1
                launched += 1
        return launched

    def run_job(self, name: str, partition: str | None = None) -> bool:
        """What a schedule would launch: one run of a job, in this process."""
        job = self.definitions.resolve_job_def(name)
        outcome = job.execute_in_process(instance=self.instance, partition_key=partition, raise_on_error=False)
        self.runs["succeeded" if outcome.success else "failed"] += 1
        return bool(outcome.success)


def run_headless(home: Path | None = None, *, keep: bool = False) -> dict[str, Any]:
    """Play the scenario; return the summary (also printed as the last line by the CLI).
    The earlier demo's state under MEET_HOME is set aside first unless ``keep``."""
    for name, value in DEMO_PIPELINE_ENV.items():
        os.environ.setdefault(name, value)
    with ended_by_signals():  # SIGTERM, SIGHUP: the embedded services stop in order
        stack = start_stack(home=home, fresh=not keep)
        try:
            os.environ.update(stack.env)
            from meet_core.settings import reset_settings

            reset_settings()
            for line in stack.notes:
                _say(line)
            for line in stack.started:
                _say(f"started {line}")
            return _play(stack)
        finally:
            stack.close()


def _play(stack: Stack) -> dict[str, Any]:
    from meet_core.apikeys import create_key
    from meet_core.db import make_engine, make_session_factory
    from meet_core.db.migrate import upgrade
    from meet_sandbox.demo.scenario import Scenario
    from meet_sandbox.demo.summary import summarize
    from meet_sandbox.emulator import SandboxClient

    settings = stack.settings
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        service = create_key(session, name="demo-xoma", role="service", client="xoma-demo", actor="demo")
    people = SandboxClient(stack.emulator_url)
    people.settings(recording_ready_delay_seconds=60, transcript_ready_delay_seconds=90)
    pipeline = InProcessPipeline()
    with serve_api() as api_url, httpx.Client(
        base_url=api_url, headers={"Authorization": f"Bearer {service.plaintext}"}, timeout=60
    ) as api:
        _say(f"API on {api_url} (docs: {api_url}/schema)")
        scenario = Scenario(api=api, people=people, settle=pipeline.settle, say=_say)
        scenario.play()
        pipeline.settle()
        summary = summarize(sessions, scenario, pipeline, stack.settings)
    engine.dispose()
    return summary


def main(home: Path | None = None, *, keep: bool = False) -> int:
    summary = run_headless(home, keep=keep)
    print(json.dumps(summary, sort_keys=True))
    return 0
