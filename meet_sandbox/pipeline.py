"""The pipeline's sandbox code location: production definitions with the emulator's clock.

The Google Workspace emulator keeps its own clock, which a scenario advances to play a day
in minutes; meeting windows must follow it. Production reads the system clock, so only
this module (never ``meet_pipeline``) wires the emulator's clock in.

    dagster dev -m meet_sandbox.pipeline          # or -w meet_sandbox/workspace.yaml
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from pydantic import Field

from meet_core.google.types import parse_time
from meet_core.settings import Settings
from meet_pipeline.definitions import build_definitions
from meet_pipeline.resources import ClockResource, build_resources
from meet_pipeline.settings import PipelineSettings


class EmulatorClock(ClockResource):
    """The emulator's clock (``/_emulator/clock``), which the sandbox can advance."""

    emulator_url: str = Field(description="follow this emulator's clock (MEET_GOOGLE_ENDPOINT)")

    def now(self) -> datetime:
        url = self.emulator_url.rstrip("/") + "/_emulator/clock"
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - configured URL
                moment = parse_time(json.loads(answer.read())["now"])
        except urllib.error.HTTPError as exc:
            if exc.code == 404:  # not the emulator: a proxy in front of Google
                return datetime.now(UTC)
            raise
        if moment is None:
            raise RuntimeError(f"{url} gave no time")
        return moment


def sandbox_clock(settings: Settings) -> ClockResource:
    """The emulator's clock when a Google endpoint is configured, else the system clock."""
    if settings.google_endpoint:
        return EmulatorClock(emulator_url=settings.google_endpoint)
    return ClockResource()


def build_sandbox_definitions(settings: Settings, pipeline: PipelineSettings) -> dg.Definitions:
    return build_definitions(settings, pipeline, clock=sandbox_clock(settings))


def build_sandbox_resources(settings: Settings, pipeline: PipelineSettings) -> dict[str, Any]:
    """The code location's resources with the sandbox's clock (for benches and one-off runs)."""
    return {**build_resources(settings, pipeline), "clock": sandbox_clock(settings)}


defs = build_sandbox_definitions(Settings.from_env(), PipelineSettings.from_env())
