"""Events fixtures: the shared emulator reset per test and a gateway on it (real client,
real JWT flow; the service account calls Pub/Sub as itself)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from meet_core.google import GoogleGateway, RetryPolicy
from meet_core.settings import Settings
from meet_sandbox.emulator import EmulatorServer, SandboxClient

ORGANIZER = "organizer@example.com"
TOPIC = "projects/events-tests/topics/meet-events"
SUBSCRIPTION = "projects/events-tests/subscriptions/meet-pipeline"
FAST_RETRY = RetryPolicy(base=0.002, cap=0.02)


@pytest.fixture
def sandbox(keyed_emulator: EmulatorServer) -> Iterator[SandboxClient]:
    client = SandboxClient(keyed_emulator.base_url)
    client.reset()
    yield client
    client.clear_faults()


@pytest.fixture
def events_settings(keyed_emulator: EmulatorServer, key_file: Path, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "MEET_HOME": str(tmp_path),
            "MEET_GOOGLE_ENDPOINT": keyed_emulator.base_url,
            "GOOGLE_APPLICATION_CREDENTIALS": str(key_file),
            "MEET_GOOGLE_SUBJECT": ORGANIZER,
            "MEET_EVENTS_TOPIC": TOPIC,
            "MEET_EVENTS_SUBSCRIPTION": SUBSCRIPTION,
        }
    )


@pytest.fixture
def gateway(events_settings: Settings, sandbox: SandboxClient) -> GoogleGateway:
    return GoogleGateway(events_settings, retry_policy=FAST_RETRY, deadline=5.0)
