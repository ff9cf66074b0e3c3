"""Unit test of wait_for_conference alone: the emulator always finishes a createRequest on
the first read, so pending-forever and failure are played by a stand-in events.get."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials

from meet_core.google import (
    CalendarEvent,
    ConferenceCreationFailed,
    GoogleGateway,
    GoogleUnavailable,
    RetryPolicy,
)
from meet_core.settings import Settings

EVENT = CalendarEvent.from_json({"id": "abcdef123", "summary": "x"})


class ScriptedGateway(GoogleGateway):
    """events.get answers with the given createRequest states, the last one repeating."""

    def __init__(self, tmp_path: Path, states: list[str | None]) -> None:
        settings = Settings.from_env({"MEET_HOME": str(tmp_path)})
        super().__init__(settings, AnonymousCredentials(), retry_policy=RetryPolicy(base=0.001))
        self.states = states
        self.reads = 0

    def get_event(self, event_id: str, **_: Any) -> CalendarEvent:
        state = self.states[min(self.reads, len(self.states) - 1)]
        self.reads += 1
        return replace(EVENT, conference_status=state)


def test_polls_while_pending(tmp_path: Path) -> None:
    gateway = ScriptedGateway(tmp_path, ["pending", "pending", "pending", "success"])
    assert gateway.wait_for_conference("abcdef123").conference_status == "success"
    assert gateway.reads == 4


def test_failure_raises(tmp_path: Path) -> None:
    gateway = ScriptedGateway(tmp_path, ["pending", "failure"])
    with pytest.raises(ConferenceCreationFailed):
        gateway.wait_for_conference("abcdef123")


def test_pending_forever_times_out(tmp_path: Path) -> None:
    gateway = ScriptedGateway(tmp_path, ["pending"])
    with pytest.raises(GoogleUnavailable, match="still pending"):
        gateway.wait_for_conference("abcdef123", timeout=0.05)
    assert gateway.reads >= 2


def test_no_create_request_returns_at_once(tmp_path: Path) -> None:
    gateway = ScriptedGateway(tmp_path, [None])
    assert gateway.wait_for_conference("abcdef123").conference_status is None
    assert gateway.reads == 1
