"""Meet v2 spaces and conference records, and the sandbox's rules for recordings."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from meet_sandbox.emulator import EmulatorServer, SandboxClient, SandboxError

from .conftest import Google, create_space, raw_request

COLLEAGUE = "colleague@example.com"
EXTERNAL = "guest@other.org"


def _meet_error(caught: pytest.ExceptionInfo[HttpError]) -> tuple[int, str]:
    error = json.loads(caught.value.content)["error"]
    assert error["code"] == caught.value.resp.status and error["message"] and "errors" not in error
    return error["code"], error["status"]


def _records(google: Google, space: dict[str, Any]) -> list[dict[str, Any]]:
    result = (
        google.meet.conferenceRecords().list(filter=f'space.name = "{space["name"]}"').execute()
    )
    return list(result.get("conferenceRecords", []))


def _recordings(google: Google, record: str) -> list[dict[str, Any]]:
    return list(
        google.meet.conferenceRecords()
        .recordings()
        .list(parent=record)
        .execute()
        .get("recordings", [])
    )


def test_space_lifecycle(google: Google) -> None:
    space = create_space(google, recording="ON", transcription="ON")
    code = space["meetingCode"]
    assert (
        space["name"].startswith("spaces/")
        and space["meetingUri"] == f"https://meet.google.com/{code}"
    )
    parts = code.split("-")
    assert [len(p) for p in parts] == [3, 4, 3] and code.islower()
    assert google.meet.spaces().get(name=f"spaces/{code}").execute()["name"] == space["name"]
    assert google.meet.spaces().get(name=space["name"]).execute()["meetingCode"] == code
    patched = (
        google.meet.spaces()
        .patch(
            name=space["name"],
            updateMask="config.accessType",
            body={"config": {"accessType": "OPEN", "moderation": "ON"}},
        )
        .execute()
    )
    assert patched["config"]["accessType"] == "OPEN"
    assert patched["config"]["moderation"] == "OFF"  # not in the mask: untouched
    snake = (
        google.meet.spaces()
        .patch(
            name=space["name"],
            updateMask="config.artifact_config.recording_config.auto_recording_generation",
            body={
                "config": {
                    "artifactConfig": {"recordingConfig": {"autoRecordingGeneration": "OFF"}}
                }
            },
        )
        .execute()
    )
    assert snake["config"]["artifactConfig"]["recordingConfig"]["autoRecordingGeneration"] == "OFF"
    assert (
        snake["config"]["artifactConfig"]["transcriptionConfig"]["autoTranscriptionGeneration"]
        == "ON"
    )


def test_external_only_conference_has_no_recording(google: Google, sandbox: SandboxClient) -> None:
    space = create_space(google, recording="ON")
    joined = sandbox.join(space["meetingCode"], EXTERNAL)
    assert joined["recording"] is None
    sandbox.join(space["meetingCode"], kind="anonymousUser", display_name="Visitor")
    sandbox.join(space["meetingCode"], kind="phoneUser", display_name="+1 555 0100")
    sandbox.advance(600)
    sandbox.end_conference(space["meetingCode"])
    sandbox.advance(3600)
    (record,) = _records(google, space)
    assert _recordings(google, record["name"]) == []
    participants = (
        google.meet.conferenceRecords()
        .participants()
        .list(parent=record["name"])
        .execute()["participants"]
    )
    kinds = sorted(
        next(k for k in ("signedinUser", "anonymousUser", "phoneUser") if k in p)
        for p in participants
    )
    assert kinds == ["anonymousUser", "phoneUser", "signedinUser"]


def test_auto_recording_needs_a_colleague_then_file_appears_after_delay(
    google: Google, sandbox: SandboxClient
) -> None:
    sandbox.settings(recording_ready_delay_seconds=300.0)
    space = create_space(google, recording="ON")
    code = space["meetingCode"]
    assert (
        sandbox.join(code, EXTERNAL, recording_size_bytes=3 * 1024 * 1024 + 5)["recording"] is None
    )
    assert sandbox.join(code, COLLEAGUE)["recording"]
    (record,) = _records(google, space)
    assert "endTime" not in record
    assert [r["state"] for r in _recordings(google, record["name"])] == ["STARTED"]
    sandbox.advance(1800)
    sandbox.leave(code, COLLEAGUE)  # the recording goes on until the conference ends
    assert [r["state"] for r in _recordings(google, record["name"])] == ["STARTED"]
    sandbox.leave(code, EXTERNAL)  # last one out ends the conference
    (ended,) = _recordings(google, record["name"])
    assert ended["state"] == "ENDED" and "driveDestination" not in ended
    sandbox.advance(299)
    assert _recordings(google, record["name"])[0]["state"] == "ENDED"
    sandbox.advance(2)
    (ready,) = _recordings(google, record["name"])
    assert ready["state"] == "FILE_GENERATED"
    file_id = ready["driveDestination"]["file"]
    meta = (
        google.drive.files()
        .get(fileId=file_id, fields="id,size,md5Checksum,sha256Checksum,mimeType")
        .execute()
    )
    content = google.drive.files().get_media(fileId=file_id).execute()
    assert meta["size"] == str(len(content)) == str(3 * 1024 * 1024 + 5)
    assert meta["md5Checksum"] == hashlib.md5(content).hexdigest()
    assert meta["sha256Checksum"] == hashlib.sha256(content).hexdigest()
    assert meta["mimeType"] == "video/mp4"


def test_stop_and_restart_gives_two_recordings(google: Google, sandbox: SandboxClient) -> None:
    space = create_space(google, recording="OFF")
    code = space["meetingCode"]
    sandbox.join(code, COLLEAGUE)
    with pytest.raises(SandboxError) as refused:
        sandbox.start_recording(code, by=EXTERNAL)
    assert refused.value.status == 403
    first = sandbox.start_recording(code, by=COLLEAGUE)["recording"]
    sandbox.advance(60)
    sandbox.stop_recording(code)
    sandbox.advance(60)
    second = sandbox.start_recording(code, by=COLLEAGUE)["recording"]
    sandbox.advance(60)
    sandbox.end_conference(code)
    sandbox.advance(3600)
    (record,) = _records(google, space)
    recordings = _recordings(google, record["name"])
    assert [r["name"] for r in recordings] == [first, second] and first != second
    assert [r["state"] for r in recordings] == ["FILE_GENERATED", "FILE_GENERATED"]
    files = {r["driveDestination"]["file"] for r in recordings}
    assert len(files) == 2


def test_transcript_entries_and_export(google: Google, sandbox: SandboxClient) -> None:
    space = create_space(google, recording="OFF", transcription="ON")
    code = space["meetingCode"]
    sandbox.join(code, COLLEAGUE, display_name="Colleague One")
    sandbox.join(code, kind="anonymousUser", display_name="Visitor")
    sandbox.advance(120)
    sandbox.end_conference(code)
    sandbox.advance(3600)
    (record,) = _records(google, space)
    (transcript,) = (
        google.meet.conferenceRecords()
        .transcripts()
        .list(parent=record["name"])
        .execute()["transcripts"]
    )
    assert transcript["state"] == "FILE_GENERATED"
    entries = (
        google.meet.conferenceRecords()
        .transcripts()
        .entries()
        .list(parent=transcript["name"])
        .execute()
    )
    texts = [e["text"] for e in entries["transcriptEntries"]]
    assert any("Colleague One" in t for t in texts) and any("Visitor" in t for t in texts)
    document = transcript["docsDestination"]["document"]
    exported = (
        google.drive.files()
        .export(fileId=document, mimeType="text/plain")
        .execute()
        .decode("utf-8-sig")
    )
    assert all(t in exported for t in texts) and code in exported


def test_lists_paginate_and_filter(google: Google, sandbox: SandboxClient) -> None:
    space = create_space(google)
    other = create_space(google)
    for _ in range(3):
        sandbox.join(space["meetingCode"], COLLEAGUE)
        sandbox.advance(60)
        sandbox.leave(space["meetingCode"], COLLEAGUE)
    sandbox.join(other["meetingCode"], COLLEAGUE)
    names, token = [], None
    while True:
        result = (
            google.meet.conferenceRecords()
            .list(pageSize=2, pageToken=token, filter=f'space.name = "{space["name"]}"')
            .execute()
        )
        names += [r["name"] for r in result["conferenceRecords"]]
        token = result.get("nextPageToken")
        if not token:
            break
    assert len(set(names)) == 3
    by_code = (
        google.meet.conferenceRecords()
        .list(filter=f'space.meeting_code = "{other["meetingCode"]}"')
        .execute()
    )
    assert len(by_code["conferenceRecords"]) == 1
    active = (
        google.meet.conferenceRecords()
        .list(filter="end_time IS NULL")
        .execute()["conferenceRecords"]
    )
    assert [r["space"] for r in active] == [other["name"]]
    record = active[0]["name"]
    present = (
        google.meet.conferenceRecords()
        .participants()
        .list(parent=record, filter="latest_end_time IS NULL")
        .execute()
    )
    (participant,) = present["participants"]
    assert (
        participant["signedinUser"]["user"]
        == sandbox.call("GET", "users?email=" + COLLEAGUE)["users"][COLLEAGUE]
    )
    sessions = (
        google.meet.conferenceRecords()
        .participants()
        .participantSessions()
        .list(parent=participant["name"])
        .execute()
    )
    (session,) = sessions["participantSessions"]
    assert (
        google.meet.conferenceRecords()
        .participants()
        .participantSessions()
        .get(name=session["name"])
        .execute()
        == session
    )


def test_end_active_conference(google: Google, sandbox: SandboxClient) -> None:
    space = create_space(google)
    sandbox.join(space["meetingCode"], COLLEAGUE)
    assert "activeConference" in google.meet.spaces().get(name=space["name"]).execute()
    google.meet.spaces().endActiveConference(name=space["name"], body={}).execute()
    assert "activeConference" not in google.meet.spaces().get(name=space["name"]).execute()
    with pytest.raises(HttpError) as caught:
        google.meet.spaces().endActiveConference(name=space["name"], body={}).execute()
    assert _meet_error(caught) == (400, "FAILED_PRECONDITION")


def test_records_expire_after_30_days_but_files_stay(
    google: Google, sandbox: SandboxClient
) -> None:
    space = create_space(google)
    sandbox.join(space["meetingCode"], COLLEAGUE)
    sandbox.advance(60)
    sandbox.end_conference(space["meetingCode"])
    sandbox.advance(3600)
    (record,) = _records(google, space)
    file_id = _recordings(google, record["name"])[0]["driveDestination"]["file"]
    sandbox.advance(30 * 86400 - 3600 - 10)
    assert _records(google, space) == [record]
    sandbox.advance(20)
    assert _records(google, space) == []
    for call in (
        google.meet.conferenceRecords().get(name=record["name"]),
        google.meet.conferenceRecords().recordings().list(parent=record["name"]),
    ):
        with pytest.raises(HttpError) as caught:
            call.execute()
        assert _meet_error(caught) == (404, "NOT_FOUND")
    assert google.drive.files().get(fileId=file_id).execute()["id"] == file_id


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v2/spaces", b"{oops"),
        ("POST", "/v2/spaces", b'{"config": {"accessType": "WIDE_OPEN"}}'),
        ("POST", "/v2/spaces", b'{"config": {"unknownThing": 1}}'),
        ("POST", "/v2/spaces", b'{"config": "ON"}'),
        ("PATCH", "/v2/spaces/SPACE?updateMask=config.nothing", b'{"config": {}}'),
        ("GET", "/v2/spaces/nosuchspace", None),
        ("GET", "/v2/conferenceRecords/nosuchrecord", None),
        ("GET", "/v2/conferenceRecords?pageToken=bm90LWEtdG9rZW4", None),
        ("GET", "/v2/conferenceRecords?filter=space.name%20~%20x", None),
        ("GET", "/v2/conferenceRecords?filter=color%20%3D%20%22red%22", None),
        ("GET", "/v2/conferenceRecords?filter=start_time%20%3E%20%22last%20week%22", None),
        ("GET", "/v2/conferenceRecords?pageSize=-1", None),
        ("GET", "/v2/nothing/here", None),
    ],
    ids=[
        "malformed",
        "enum",
        "unknown-field",
        "wrong-type",
        "mask",
        "unknown-space",
        "unknown-record",
        "page-token",
        "filter-operator",
        "filter-field",
        "filter-time",
        "page-size",
        "unknown-path",
    ],
)
def test_garbage_gets_aip193_errors(
    server: EmulatorServer, google: Google, token: str, method: str, path: str, body: bytes | None
) -> None:
    space = create_space(google)
    path = path.replace("SPACE", space["name"].split("/")[1])
    raw = raw_request(
        server.base_url, method, path, body=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert raw.status in (400, 403, 404)
    error = raw.json()["error"]
    assert error["code"] == raw.status and error["status"] in (
        "INVALID_ARGUMENT",
        "PERMISSION_DENIED",
        "NOT_FOUND",
    )
    assert error["message"]


def test_sandbox_garbage_gets_4xx(server: EmulatorServer, google: Google) -> None:
    space = create_space(google)["meetingCode"]
    cases = [
        ("POST", "participants/join", b"{nope"),
        ("POST", "participants/join", b'{"space": "zzz-zzzz-zzz", "email": "a@example.com"}'),
        ("POST", "participants/join", json.dumps({"space": space, "kind": "robot"}).encode()),
        (
            "POST",
            "participants/join",
            json.dumps({"space": space, "kind": "anonymousUser"}).encode(),
        ),
        (
            "POST",
            "participants/leave",
            json.dumps({"space": space, "email": "nobody@example.com"}).encode(),
        ),
        ("POST", "conferences/end", json.dumps({"space": space}).encode()),
        ("POST", "clock/advance", b'{"seconds": "soon"}'),
        ("POST", "clock/advance", b'{"seconds": 1e300}'),
        ("POST", "settings", b'{"no_such_setting": 1}'),
        ("POST", "settings", b'{"default_page_size": "ten"}'),
        (
            "POST",
            "conferences/start",
            json.dumps({"space": space, "recording_size_bytes": -1}).encode(),
        ),
        ("GET", "nothing", None),
        ("PUT", "state", b"{}"),
    ]
    for method, path, body in cases:
        raw = raw_request(server.base_url, method, "/_emulator/" + path, body=body)
        assert 400 <= raw.status < 500, (path, raw.status)
        assert raw.json()["error"]["message"], path
