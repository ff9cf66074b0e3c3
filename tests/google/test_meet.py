"""Meet methods against the emulator: spaces and every conference-data list (several pages)."""

from __future__ import annotations

import pytest

from meet_core.google import GoogleGateway, NotFound, PermissionDenied
from meet_sandbox.emulator import SandboxClient
from tests.google.conftest import ORGANIZER, api_requests, held_meeting


def test_create_get_and_patch_space(gateway: GoogleGateway) -> None:
    space = gateway.create_space(access_type="OPEN", auto_recording=True, auto_transcription=False)
    assert space.name.startswith("spaces/") and space.meeting_code and space.meeting_uri
    assert (space.access_type, space.auto_recording, space.auto_transcription) == (
        "OPEN",
        True,
        False,
    )

    assert gateway.get_space(space.name) == space
    assert gateway.get_space(space.meeting_code or "").name == space.name  # by meeting code

    patched = gateway.enable_auto_artifacts(
        space.name, auto_recording=False, auto_transcription=True
    )
    assert (patched.auto_recording, patched.auto_transcription) == (False, True)
    assert patched.access_type == "OPEN"  # the update mask left the rest alone
    assert gateway.get_space(space.name) == patched


def test_unknown_space_is_permission_denied_like_google(
    gateway: GoogleGateway, sandbox: SandboxClient
) -> None:
    # Meet does not reveal whether a space exists: "Permission denied … (or it might not exist)".
    with pytest.raises(PermissionDenied) as info:
        gateway.get_space("spaces/doesNotExist1")
    assert (info.value.status, info.value.method) == (403, "meet.spaces.get")
    assert len(api_requests(sandbox, "meet.spaces.get")) == gateway.calls["meet.spaces.get"] == 1


def test_unknown_conference_record_is_not_found(gateway: GoogleGateway) -> None:
    with pytest.raises(NotFound):
        gateway.list_recordings("conferenceRecords/doesNotExist")


def test_conference_data_lists_over_several_pages(
    gateway: GoogleGateway, sandbox: SandboxClient
) -> None:
    space = gateway.create_space()
    records = [held_meeting(sandbox, space.name, guests=3, rounds=3) for _ in range(3)]

    listed = gateway.list_conference_records(space.name)
    assert sorted(r.name for r in listed) == sorted(records)
    assert all(r.space == space.name and r.start and r.end and r.expire for r in listed)
    assert gateway.list_conference_records(space.meeting_code or "") == listed  # by meeting code
    assert gateway.calls["meet.conferenceRecords.list"] == 4  # 2 pages, twice

    record = records[0]
    participants = gateway.list_participants(record)
    assert sorted((p.kind, p.display_name) for p in participants) == [
        ("anonymous", "Guest 0"),
        ("anonymous", "Guest 1"),
        ("anonymous", "Guest 2"),
        ("signed_in", "Organizer"),
    ]
    organizer = next(p for p in participants if p.kind == "signed_in")
    assert organizer.user and organizer.user.startswith("users/")
    assert all(
        p.earliest_start and p.latest_end and p.earliest_start <= p.latest_end for p in participants
    )

    guest = next(p for p in participants if p.display_name == "Guest 1")
    sessions = gateway.list_participant_sessions(guest.name)
    assert len(sessions) == 3  # joined, rejoined twice
    assert all(s.start and s.end and s.start <= s.end for s in sessions)

    recordings = gateway.list_recordings(record)
    assert len(recordings) == 3 and {r.state for r in recordings} == {"FILE_GENERATED"}
    assert all(r.drive_file_id and r.export_uri for r in recordings)
    transcripts = gateway.list_transcripts(record)
    assert len(transcripts) == 3 and all(t.document_id for t in transcripts)

    entries = gateway.list_transcript_entries(transcripts[0].name)
    assert len(entries) >= 3 and all(e.text and e.participant for e in entries)
    assert {e.participant for e in entries} <= {p.name for p in participants}

    # Every list really took more than one page.
    for method in (
        "meet.conferenceRecords.participants.list",
        "meet.conferenceRecords.participants.participantSessions.list",
        "meet.conferenceRecords.recordings.list",
        "meet.conferenceRecords.transcripts.list",
        "meet.conferenceRecords.transcripts.entries.list",
    ):
        assert gateway.calls[method] >= 2, method
        assert len(api_requests(sandbox, method)) == gateway.calls[method]


def test_recording_states_before_the_file_exists(
    gateway: GoogleGateway, sandbox: SandboxClient
) -> None:
    space = gateway.create_space()
    joined = sandbox.join(space.name, ORGANIZER)
    [live] = gateway.list_recordings(joined["conference_record"])
    assert (live.state, live.end, live.drive_file_id) == ("STARTED", None, None)
    sandbox.leave(space.name, ORGANIZER)
    [ended] = gateway.list_recordings(joined["conference_record"])
    assert ended.state == "ENDED" and ended.end is not None and ended.drive_file_id is None


def test_empty_lists(gateway: GoogleGateway) -> None:
    space = gateway.create_space()
    assert gateway.list_conference_records(space.name) == []
