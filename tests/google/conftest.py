"""Fixtures: the shared emulator (one per test session, on a free loopback port), reset per test,
and a gateway that reaches it through the real client and the real JWT flow."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from meet_core.google import CalendarAttendee, ConferenceCreate, EventDraft, GoogleGateway, RetryPolicy
from meet_core.settings import Settings
from meet_sandbox.emulator import EmulatorServer, SandboxClient

ORGANIZER = "organizer@example.com"
# Tests back off in milliseconds; the policy's logic is the production one.
FAST_RETRY = RetryPolicy(base=0.002, cap=0.02)
API_METHODS = ("calendar", "meet", "drive")
_ids = itertools.count(1)


@pytest.fixture(scope="session")
def emulator(keyed_emulator: EmulatorServer) -> EmulatorServer:
    """Here: the shared emulator that trusts ``key_file`` (tests/fixtures/google.py), reset
    by ``sandbox`` before each test."""
    return keyed_emulator


@pytest.fixture
def sandbox(emulator: EmulatorServer) -> Iterator[SandboxClient]:
    client = SandboxClient(emulator.base_url)
    client.reset()  # state, faults and request log; the trusted key stays
    # Tiny pages so that every list below runs over several pages.
    client.settings(
        max_page_size=2, recording_ready_delay_seconds=1.0, transcript_ready_delay_seconds=1.0
    )
    yield client
    client.clear_faults()


def make_settings(
    emulator: EmulatorServer, key_file: Path, tmp_path: Path, **extra: str
) -> Settings:
    env = {
        "MEET_HOME": str(tmp_path),
        "MEET_GOOGLE_ENDPOINT": emulator.base_url,
        "GOOGLE_APPLICATION_CREDENTIALS": str(key_file),
        "MEET_GOOGLE_SUBJECT": ORGANIZER,
        **extra,
    }
    return Settings.from_env(env)


@pytest.fixture
def settings(emulator: EmulatorServer, key_file: Path, tmp_path: Path) -> Settings:
    return make_settings(emulator, key_file, tmp_path)


@pytest.fixture
def gateway(settings: Settings, sandbox: SandboxClient) -> GoogleGateway:
    return GoogleGateway(settings, http_timeout=10, retry_policy=FAST_RETRY)


def api_requests(sandbox: SandboxClient, method_id: str | None = None) -> list[dict[str, Any]]:
    """Google API requests the emulator saw (not token or control requests)."""
    return [
        r
        for r in sandbox.requests()
        if r["api"] in API_METHODS and (method_id is None or r["method_id"] == method_id)
    ]


def new_event_id() -> str:
    """A fresh base32hex event id."""
    return f"evt{next(_ids):05d}{datetime.now(UTC):%H%M%S%f}"


def draft(conference: Any = None, **changes: Any) -> EventDraft:
    start = datetime(2031, 3, 4, 9, 30, tzinfo=UTC)
    event_id = changes.pop("event_id", None) or new_event_id()
    values: dict[str, Any] = dict(
        event_id=event_id,
        summary="Quarterly review",
        description="Numbers and plans",
        start=start,
        end=start + timedelta(hours=1),
        timezone="Europe/Zurich",
        attendees=[CalendarAttendee("ann@partner.org", "Ann"), CalendarAttendee("bob@example.com", optional=True)],
        external_id="XOMA-42",
        meeting_id="m-42",
        conference=conference or ConferenceCreate(f"req-{event_id}"),
    )
    values.update(changes)
    return EventDraft(**values)


def held_meeting(
    sandbox: SandboxClient, space: str, *, guests: int = 3, rounds: int = 1, size: int | None = None
) -> str:
    """Play a meeting in ``space``: the organizer and ``guests`` anonymous guests join;
    with ``rounds`` > 1 the recording and transcription are stopped and restarted (one more
    artifact each) and every guest leaves and rejoins (one more session each).
    Returns the conference record name once its artifacts are FILE_GENERATED."""
    extra: dict[str, Any] = {"recording_size_bytes": size} if size else {}
    joined = sandbox.join(space, ORGANIZER, **extra)
    for number in range(guests):
        sandbox.join(space, kind="anonymousUser", display_name=f"Guest {number}")
    for _ in range(rounds - 1):
        sandbox.stop_recording(space)
        sandbox.call("POST", "transcripts/stop", {"space": space})
        sandbox.start_recording(space, by=ORGANIZER)
        sandbox.call("POST", "transcripts/start", {"space": space, "by": ORGANIZER})
        for number in range(guests):
            sandbox.leave(space, display_name=f"Guest {number}")
            sandbox.join(space, kind="anonymousUser", display_name=f"Guest {number}")
    for number in range(guests):
        sandbox.leave(space, display_name=f"Guest {number}")
    sandbox.leave(space, ORGANIZER)  # the last one out ends the conference
    sandbox.advance(5)  # past the ready delays: files are generated
    return str(joined["conference_record"])
