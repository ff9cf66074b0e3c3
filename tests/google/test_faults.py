"""Fault tests: every gateway method returns the right result under 30 % injected faults of
every kind; client errors are never retried; deadlines, Retry-After, timeouts and token
endpoint failures behave."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from google.oauth2 import service_account

from meet_core.google import (
    SCOPES,
    EventChanges,
    GoogleError,
    GoogleGateway,
    GoogleUnavailable,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RetryPolicy,
    Space,
)
from meet_core.settings import Settings
from meet_sandbox.emulator import SandboxClient
from tests.google.conftest import FAST_RETRY, api_requests, draft, held_meeting

ALL_KINDS = ["429", "500", "503", "403_rate", "reset", "slow", "truncate"]


def faulty(sandbox: SandboxClient, **spec: Any) -> None:
    # retry_after=0: the 429s must not make the suite sleep whole seconds.
    sandbox.faults(
        **{"apis": ["calendar", "meet", "drive"], "retry_after": 0, "slow_seconds": 0.05, **spec}
    )


def harvest(gateway: GoogleGateway, space: str) -> dict[str, Any]:
    """Everything the read methods return for one space."""
    records = gateway.list_conference_records(space)
    record = records[0].name
    participants = gateway.list_participants(record)
    recordings = gateway.list_recordings(record)
    transcripts = gateway.list_transcripts(record)
    file_id = recordings[0].drive_file_id or ""
    digest = hashlib.sha256(b"".join(gateway.iter_file(file_id, chunk_size=8 * 1024))).hexdigest()
    return {
        "space": gateway.get_space(space),
        "records": records,
        "participants": participants,
        "sessions": [gateway.list_participant_sessions(p.name) for p in participants],
        "recordings": recordings,
        "transcripts": transcripts,
        "entries": gateway.list_transcript_entries(transcripts[0].name),
        "file": gateway.get_file(file_id),
        "sha256": digest,
        "export": gateway.export_text(transcripts[0].document_id or ""),
    }


def test_every_method_is_right_under_30_percent_faults(
    settings: Settings, sandbox: SandboxClient
) -> None:
    clean = GoogleGateway(settings, retry_policy=FAST_RETRY)
    space = clean.create_space()
    held_meeting(sandbox, space.name, guests=3, rounds=3, size=2**20 + 99)
    expected = harvest(clean, space.name)
    assert expected["sha256"] == expected["file"].sha256
    sandbox.call("DELETE", "requests")

    faulty(sandbox, rate=0.3, kinds=ALL_KINDS, seed=20240611)
    gateway = GoogleGateway(settings, retry_policy=FAST_RETRY)
    assert harvest(gateway, space.name) == expected

    created = gateway.create_space(auto_transcription=False)
    assert gateway.get_space(created.name) == created and created.auto_recording
    event = gateway.insert_event(draft())
    ready = gateway.wait_for_conference(event.id)
    assert ready.conference_id and ready.external_id == "XOMA-42"
    switched = gateway.enable_auto_artifacts(f"spaces/{ready.conference_id}")
    assert switched.auto_recording and switched.auto_transcription
    assert ready.start is not None and ready.end is not None
    later = ready.end + timedelta(hours=1)
    moved = gateway.patch_event(
        event.id, EventChanges(summary="Moved", start=ready.start, end=later)
    )
    assert moved.summary == "Moved" and moved.end == later
    gateway.cancel_event(event.id)
    assert gateway.get_event(event.id).status == "cancelled"

    seen = api_requests(sandbox)
    fired = {r["fault"] for r in seen if r["fault"]}
    assert fired == set(ALL_KINDS), fired  # the seed makes every kind happen
    assert len(seen) >= 150 and sum(1 for r in seen if r["fault"]) >= 40
    assert gateway.calls.total == len(seen)  # every attempt counted, nothing hidden


@pytest.mark.parametrize(
    ("call", "error", "method"),
    [
        (lambda g: g.get_event("abcdef12345"), NotFound, "calendar.events.get"),
        (
            lambda g: g.list_recordings("conferenceRecords/nothingHere"),
            NotFound,
            "meet.conferenceRecords.recordings.list",
        ),
        (lambda g: g.get_file("1nothingHere"), NotFound, "drive.files.get"),
        (
            lambda g: g.insert_event(
                draft(
                    conference=Space(
                        "spaces/x",
                        "aaa-bbbb-ccc",
                        "https://meet.google.com/aaa-bbbb-ccc",
                        None,
                        True,
                        True,
                        None,
                    )
                )
            ),
            InvalidRequest,
            "calendar.events.insert",
        ),
    ],
    ids=["404-calendar", "404-meet", "404-drive", "400-calendar"],
)
def test_client_errors_are_not_retried(
    gateway: GoogleGateway,
    sandbox: SandboxClient,
    call: Any,
    error: type[GoogleError],
    method: str,
) -> None:
    with pytest.raises(error) as info:
        call(gateway)
    assert info.value.method == method and info.value.status in (400, 404)
    assert gateway.calls.snapshot() == {method: 1}
    assert [r["method_id"] for r in api_requests(sandbox)] == [method]


def test_missing_scope_is_permission_denied_once(
    settings: Settings, sandbox: SandboxClient
) -> None:
    """Credentials that lack a method's scope (a user credential, which the gateway cannot
    re-scope) get Google's 403 once, without retries."""
    narrow = service_account.Credentials.from_service_account_file(
        str(settings.google_credentials_file), scopes=[SCOPES[0]]
    ).with_token_uri(f"{settings.google_endpoint}/token")
    narrow.with_scopes = None  # type: ignore[assignment, method-assign]  # as user credentials have none
    gateway = GoogleGateway(settings, narrow, retry_policy=FAST_RETRY)
    with pytest.raises(PermissionDenied) as info:
        gateway.create_space()
    assert (info.value.status, info.value.method) == (403, "meet.spaces.create")
    assert len(api_requests(sandbox, "meet.spaces.create")) == gateway.calls.total == 1


def test_a_scope_the_admin_has_not_delegated_is_permission_denied_once(
    settings: Settings, sandbox: SandboxClient
) -> None:
    """The Workspace admin granted the delegation without Meet's `created` scope: the token
    endpoint refuses Meet's token (unauthorized_client), no retry, no Meet request; Calendar,
    whose token does not ask for it, still works."""
    created = "https://www.googleapis.com/auth/meetings.space.created"
    sandbox.settings(withheld_scopes=[created])
    try:
        gateway = GoogleGateway(settings, retry_policy=FAST_RETRY)
        with pytest.raises(PermissionDenied, match="unauthorized_client") as info:
            gateway.create_space()
        assert info.value.method == "meet.spaces.create" and gateway.calls.total == 1
        assert api_requests(sandbox, "meet.spaces.create") == []
        with pytest.raises(NotFound):  # Calendar answers: its token was issued
            gateway.get_event("evt0nosuchevent0")
        assert len(api_requests(sandbox, "calendar.events.get")) == 1
    finally:
        sandbox.settings(withheld_scopes=[])


def test_persistent_failure_ends_with_google_unavailable(
    settings: Settings, sandbox: SandboxClient
) -> None:
    faulty(sandbox, kinds=["503", "500", "reset"], methods=["meet.spaces.create"])
    gateway = GoogleGateway(settings, deadline=0.3, retry_policy=RetryPolicy(base=0.01, cap=0.05))
    with pytest.raises(GoogleUnavailable, match="gave up after") as info:
        gateway.create_space()
    attempts = gateway.calls["meet.spaces.create"]
    assert attempts >= 4
    assert len(api_requests(sandbox, "meet.spaces.create")) == attempts
    assert info.value.method == "meet.spaces.create"


def test_retry_after_longer_than_the_deadline_is_not_slept(
    settings: Settings, sandbox: SandboxClient
) -> None:
    faulty(sandbox, kinds=["429"], count=1, retry_after=120)
    gateway = GoogleGateway(settings, deadline=5, retry_policy=FAST_RETRY)
    with pytest.raises(GoogleUnavailable) as info:
        gateway.create_space()
    assert (info.value.status, info.value.retry_after) == (429, 120.0)
    assert gateway.calls.total == 1  # gave up at once instead of sleeping past the deadline


def test_user_rate_limit_is_retried(gateway: GoogleGateway, sandbox: SandboxClient) -> None:
    faulty(sandbox, kinds=["403_rate"], count=2, rate_reason="userRateLimitExceeded")
    space = gateway.create_space()
    assert gateway.get_space(space.name) == space
    assert [r["status"] for r in api_requests(sandbox)] == [403, 403, 200, 200]


def test_a_timed_out_request_is_retried_on_a_fresh_connection(
    settings: Settings, sandbox: SandboxClient
) -> None:
    gateway = GoogleGateway(settings, http_timeout=0.3, retry_policy=FAST_RETRY)
    first, second = gateway.create_space(), gateway.create_space()
    faulty(sandbox, kinds=["slow"], count=1, slow_seconds=1.0)
    assert gateway.get_space(first.name) == first
    assert gateway.calls["meet.spaces.get"] == 2
    assert (
        gateway.get_space(second.name) == second
    )  # the late answer about `first` was not read here


def test_token_endpoint_failures_are_survived(settings: Settings, sandbox: SandboxClient) -> None:
    # One of each token fault in turn; google-auth retries the 500 itself, the gateway the rest.
    sandbox.faults(apis=["token"], kinds=["500", "reset", "403_rate", "truncate"], count=4)
    gateway = GoogleGateway(settings, retry_policy=FAST_RETRY)
    assert gateway.create_space().auto_recording
    tokens = [r for r in sandbox.requests() if r["api"] == "token"]
    assert [r["fault"] for r in tokens] == ["500", "reset", "403_rate", "truncate", None]
    assert gateway.calls["meet.spaces.create"] == 4


def test_unknown_service_account_is_permission_denied(
    settings: Settings, sandbox: SandboxClient, tmp_path: Path
) -> None:
    from meet_sandbox.emulator import write_service_account

    stranger = write_service_account(tmp_path / "stranger.json")
    gateway = GoogleGateway(
        replace(settings, google_credentials_file=stranger), retry_policy=FAST_RETRY
    )
    with pytest.raises(PermissionDenied, match="token refresh failed"):
        gateway.create_space()
    assert gateway.calls.total == 1 and api_requests(sandbox) == []
