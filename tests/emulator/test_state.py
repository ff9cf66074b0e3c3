"""State survives a restart through the state file; reset empties it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meet_sandbox.emulator import EmulatorServer, SandboxClient
from meet_sandbox.emulator.store import StateFileError

from .conftest import clients, create_space, raw_request, token_for


def test_state_survives_a_restart(key_file: Path, tmp_path: Path) -> None:
    state_file = tmp_path / "emulator" / "state.json"
    with EmulatorServer(state_file=state_file, service_accounts=[key_file]) as first:
        google, sandbox = clients(key_file, first.base_url), SandboxClient(first.base_url)
        google.calendar.events().insert(
            calendarId="primary",
            body={
                "id": "persist01",
                "summary": "kept",
                "start": {"date": "2030-01-01"},
                "end": {"date": "2030-01-02"},
            },
        ).execute()
        space = create_space(google)
        sandbox.join(space["meetingCode"], "colleague@example.com", recording_size_bytes=4096)
        sandbox.advance(600)
        sandbox.end_conference(space["meetingCode"])
        sandbox.advance(3600)
        record = google.meet.conferenceRecords().list().execute()["conferenceRecords"][0]
        recording = (
            google.meet.conferenceRecords()
            .recordings()
            .list(parent=record["name"])
            .execute()["recordings"][0]
        )
        file_id = recording["driveDestination"]["file"]
        meta = google.drive.files().get(fileId=file_id, fields="size,sha256Checksum").execute()
        token = token_for(key_file, first.base_url)
        offset = sandbox.call("GET", "clock")["offset_seconds"]
    assert json.loads(state_file.read_text())["version"] == 1
    assert [p.name for p in state_file.parent.iterdir()] == [
        "state.json"
    ]  # no temp file left behind

    # A new process on another port: the key file is registered from the state alone.
    with EmulatorServer(state_file=state_file) as second:
        google, sandbox = clients(key_file, second.base_url), SandboxClient(second.base_url)
        assert (
            google.calendar.events()
            .get(calendarId="primary", eventId="persist01")
            .execute()["summary"]
            == "kept"
        )
        assert (
            google.meet.spaces().get(name=space["name"]).execute()["meetingCode"]
            == space["meetingCode"]
        )
        assert google.meet.conferenceRecords().get(name=record["name"]).execute() == record
        again = (
            google.meet.conferenceRecords()
            .recordings()
            .list(parent=record["name"])
            .execute()["recordings"]
        )
        assert again == [recording]
        assert (
            google.drive.files().get(fileId=file_id, fields="size,sha256Checksum").execute() == meta
        )
        assert sandbox.call("GET", "clock")["offset_seconds"] == offset
        bearer = {"Authorization": f"Bearer {token}"}
        assert (
            raw_request(
                second.base_url, "GET", "/drive/v3/changes/startPageToken", headers=bearer
            ).status
            == 200
        )
        sandbox.reset()
        assert sandbox.state()["events"] == {}
        assert (
            raw_request(second.base_url, "GET", f"/v2/{record['name']}", headers=bearer).status
            == 401
        )


def test_without_state_file_nothing_is_written(key_file: Path, tmp_path: Path) -> None:
    with EmulatorServer(service_accounts=[key_file]) as server:
        create_space(clients(key_file, server.base_url))
        assert SandboxClient(server.base_url).state()["spaces"]
    assert list(tmp_path.iterdir()) == []


def test_state_dump_hides_tokens(
    server: EmulatorServer, sandbox: SandboxClient, key_file: Path
) -> None:
    token = token_for(key_file, server.base_url)
    dump = sandbox.state()
    assert "tokens" not in dump and token not in json.dumps(dump)
    assert dump["service_accounts"] and dump["now"].endswith("Z")


@pytest.mark.parametrize(
    "content",
    ["{not json", "[]", '{"version": 99}', '{"version": 1}', ""],
    ids=["malformed", "list", "version", "incomplete", "empty"],
)
def test_garbage_state_file_is_refused_by_name(tmp_path: Path, content: str) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text(content)
    with pytest.raises(StateFileError, match="state.json"):
        EmulatorServer(state_file=state_file)


@pytest.mark.parametrize(
    "content",
    [
        "{oops",
        '{"type": "authorized_user"}',
        json.dumps(
            {
                "type": "service_account",
                "private_key": "x",
                "private_key_id": "1",
                "client_email": "a@b.c",
            }
        ),
    ],
    ids=["malformed", "wrong-type", "bad-key"],
)
def test_garbage_key_files_are_refused(
    tmp_path: Path, server: EmulatorServer, content: str
) -> None:
    key = tmp_path / "key.json"
    key.write_text(content)
    with pytest.raises(ValueError, match="key.json"):
        EmulatorServer(service_accounts=[key])
    raw = raw_request(
        server.base_url,
        "POST",
        "/_emulator/service_accounts",
        body=json.dumps({"path": str(key)}).encode(),
    )
    assert raw.status == 400 and "key.json" in raw.json()["error"]["message"]
