"""Garbage in: every bad input raises ValueError naming the field, before any request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from meet_core.google import (
    CalendarAttendee,
    ConferenceCreate,
    EventChanges,
    GoogleGateway,
    Space,
)
from meet_core.settings import Settings
from meet_sandbox.emulator import SandboxClient
from tests.google.conftest import draft, make_settings

NAIVE = datetime(2031, 1, 1, 9, 0)
GOOD = draft()
SPACE_WITHOUT_CODE = Space("spaces/abc", None, None, "TRUSTED", True, True, None)

G = GoogleGateway
CASES: list[tuple[str, Callable[[G], Any], str]] = [
    ("empty event id", lambda g: g.get_event(""), "event_id"),
    ("uppercase event id", lambda g: g.get_event("ABCDEF"), "event_id"),
    ("event id with w-z", lambda g: g.get_event("wxyz12345"), "event_id"),
    ("short event id", lambda g: g.get_event("abcd"), "event_id"),
    ("event id not a string", lambda g: g.get_event(12345), "event_id"),  # type: ignore[arg-type]
    ("bad calendar id", lambda g: g.get_event("abcde", calendar_id="a b"), "calendar_id"),
    ("bad subject", lambda g: g.get_event("abcde", subject="not-an-email"), "subject"),
    ("empty subject", lambda g: g.get_space("abc-defg-hij", subject=""), "subject"),
    ("draft not a draft", lambda g: g.insert_event({"id": "abcde"}), "EventDraft"),  # type: ignore[arg-type]
    ("draft bad id", lambda g: g.insert_event(replace(GOOD, event_id="Bad_Id")), "event_id"),
    (
        "naive start",
        lambda g: g.insert_event(replace(GOOD, start=NAIVE, end=NAIVE + timedelta(hours=1))),
        "timezone-aware",
    ),
    (
        "end before start",
        lambda g: g.insert_event(replace(GOOD, end=GOOD.start - timedelta(minutes=1))),
        "must be after",
    ),
    ("empty summary", lambda g: g.insert_event(replace(GOOD, summary="  ")), "summary"),
    ("unknown zone", lambda g: g.insert_event(replace(GOOD, timezone="Mars/Olympus")), "IANA"),
    (
        "bad attendee",
        lambda g: g.insert_event(replace(GOOD, attendees=[CalendarAttendee("nobody")])),
        "attendee email",
    ),
    (
        "duplicate attendee",
        lambda g: g.insert_event(replace(GOOD, attendees=[CalendarAttendee("a@b.co"), CalendarAttendee("A@b.co")])),
        "twice",
    ),
    ("attendee as str", lambda g: g.insert_event(replace(GOOD, attendees=["a@b.co"])), "CalendarAttendee"),  # type: ignore[list-item]
    ("empty external id", lambda g: g.insert_event(replace(GOOD, external_id="")), "external_id"),
    (
        "bad request id",
        lambda g: g.insert_event(replace(GOOD, conference=ConferenceCreate("a b"))),
        "request_id",
    ),
    (
        "space without code",
        lambda g: g.insert_event(replace(GOOD, conference=SPACE_WITHOUT_CODE)),
        "meeting_code",
    ),
    ("no conference", lambda g: g.insert_event(replace(GOOD, conference=None)), "conference"),  # type: ignore[arg-type]
    ("empty patch", lambda g: g.patch_event("abcde", EventChanges()), "empty"),
    (
        "patch start only",
        lambda g: g.patch_event("abcde", EventChanges(start=GOOD.start)),
        "together",
    ),
    ("patch zone only", lambda g: g.patch_event("abcde", EventChanges(timezone="UTC")), "together"),
    (
        "patch naive",
        lambda g: g.patch_event("abcde", EventChanges(start=NAIVE, end=NAIVE)),
        "timezone-aware",
    ),
    ("patch not changes", lambda g: g.patch_event("abcde", {"summary": "x"}), "EventChanges"),  # type: ignore[arg-type]
    ("cancel empty", lambda g: g.cancel_event(""), "event_id"),
    ("wait timeout", lambda g: g.wait_for_conference("abcde", timeout=0), "timeout"),
    ("access type", lambda g: g.create_space(access_type="PUBLIC"), "access_type"),
    ("auto flag", lambda g: g.create_space(auto_recording="yes"), "auto_recording"),  # type: ignore[arg-type]
    ("empty space", lambda g: g.get_space(""), "space name"),
    ("space with slash", lambda g: g.get_space("spaces/a/b"), "space name"),
    ("patch space name", lambda g: g.enable_auto_artifacts("rooms/x"), "space name"),
    ("records of nothing", lambda g: g.list_conference_records(" "), "space name"),
    ("participants of space", lambda g: g.list_participants("spaces/abc"), "conference record"),
    (
        "sessions of record",
        lambda g: g.list_participant_sessions("conferenceRecords/a"),
        "participant name",
    ),
    ("recordings empty", lambda g: g.list_recordings(""), "conference record"),
    (
        "transcripts traversal",
        lambda g: g.list_transcripts("conferenceRecords/../x"),
        "conference record",
    ),
    ("dot segment", lambda g: g.list_recordings("conferenceRecords/.."), "conference record"),
    (
        "entries of record",
        lambda g: g.list_transcript_entries("conferenceRecords/a"),
        "transcript name",
    ),
    ("file id empty", lambda g: g.get_file(""), "file_id"),
    ("file id path", lambda g: g.get_file("../etc/passwd"), "file_id"),
    ("iter negative offset", lambda g: g.iter_file("1abc", offset=-1), "offset"),
    ("iter zero chunk", lambda g: g.iter_file("1abc", chunk_size=0), "chunk_size"),
    ("iter bool chunk", lambda g: g.iter_file("1abc", chunk_size=True), "chunk_size"),
    ("iter bad expected", lambda g: g.iter_file("1abc", expected_size=-5), "expected_size"),
    ("download no sink", lambda g: g.download_file("1abc", object()), "sink"),  # type: ignore[arg-type]
    ("export empty", lambda g: g.export_text(""), "document_id"),
]


@pytest.mark.parametrize(("call", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_garbage_is_rejected_before_any_request(
    gateway: GoogleGateway, sandbox: SandboxClient, call: Callable[[G], Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        call(gateway)
    assert gateway.calls.total == 0
    assert [r for r in sandbox.requests() if r["api"] != "control"] == []


def test_gateway_construction_garbage(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="http_timeout"):
        GoogleGateway(settings, http_timeout=0)
    missing = replace(settings, google_credentials_file=None)
    with pytest.raises(ValueError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        GoogleGateway.from_settings(missing)
    with pytest.raises(ValueError, match="no such file"):
        GoogleGateway.from_settings(
            replace(settings, google_credentials_file=tmp_path / "absent.json")
        )
    broken = tmp_path / "broken.json"
    broken.write_text('{"type": "service_account"}')
    with pytest.raises(ValueError):
        GoogleGateway.from_settings(replace(settings, google_credentials_file=broken))


def test_bad_default_subject_in_settings(
    emulator: Any, key_file: Path, tmp_path: Path, sandbox: SandboxClient
) -> None:
    gateway = GoogleGateway(make_settings(emulator, key_file, tmp_path))
    with pytest.raises(ValueError, match="subject"):
        gateway.get_space("abc-defg-hij", subject="@")
    assert gateway.calls.total == 0
