"""Drive v3: metadata with checksums, ranged media, export, the change log."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseDownload

from meet_sandbox.emulator import EmulatorServer, SandboxClient

from .conftest import Google, create_space, raw_request

COLLEAGUE = "colleague@example.com"
SIZE = 2 * 1024 * 1024 + 123


def _recorded_file(
    google: Google, sandbox: SandboxClient, size: int = SIZE, transcript: bool = False
) -> dict[str, str]:
    """Play one recorded (and transcribed) conference; returns the Drive ids it produced."""
    space = create_space(google, recording="ON", transcription="ON" if transcript else "OFF")
    sandbox.join(space["meetingCode"], COLLEAGUE, recording_size_bytes=size)
    sandbox.advance(300)
    sandbox.end_conference(space["meetingCode"])
    sandbox.advance(3600)
    record = (
        google.meet.conferenceRecords()
        .list(filter=f'space.name = "{space["name"]}"')
        .execute()["conferenceRecords"][0]
    )
    out = {
        "video": google.meet.conferenceRecords()
        .recordings()
        .list(parent=record["name"])
        .execute()["recordings"][0]["driveDestination"]["file"]
    }
    if transcript:
        (item,) = (
            google.meet.conferenceRecords()
            .transcripts()
            .list(parent=record["name"])
            .execute()["transcripts"]
        )
        out["doc"] = item["docsDestination"]["document"]
    return out


def _get(server: EmulatorServer, token: str, path: str, **headers: str) -> Any:
    return raw_request(
        server.base_url, "GET", path, headers={"Authorization": f"Bearer {token}", **headers}
    )


def test_metadata_defaults_and_fields(google: Google, sandbox: SandboxClient) -> None:
    file_id = _recorded_file(google, sandbox)["video"]
    default = google.drive.files().get(fileId=file_id).execute()
    assert set(default) == {"kind", "id", "name", "mimeType"}  # Drive v3's default field set
    meta = (
        google.drive.files()
        .get(fileId=file_id, fields="id,size,md5Checksum,sha256Checksum,owners(emailAddress)")
        .execute()
    )
    assert set(meta) == {"id", "size", "md5Checksum", "sha256Checksum", "owners"}
    assert isinstance(meta["size"], str) and int(meta["size"]) == SIZE
    assert meta["owners"] == [{"emailAddress": "organizer@example.com"}]


def test_range_downloads(
    server: EmulatorServer, google: Google, sandbox: SandboxClient, token: str
) -> None:
    file_id = _recorded_file(google, sandbox)["video"]
    path = f"/drive/v3/files/{file_id}?alt=media"
    whole = _get(server, token, path)
    assert whole.status == 200 and len(whole.body) == SIZE
    meta = google.drive.files().get(fileId=file_id, fields="md5Checksum,sha256Checksum").execute()
    assert hashlib.sha256(whole.body).hexdigest() == meta["sha256Checksum"]
    assert hashlib.md5(whole.body).hexdigest() == meta["md5Checksum"]
    for header, start, end in [
        ("bytes=0-99", 0, 100),
        ("bytes=1048570-1048600", 1048570, 1048601),  # across the 1 MiB block boundary
        (f"bytes={SIZE - 10}-", SIZE - 10, SIZE),
        ("bytes=-7", SIZE - 7, SIZE),
        (f"bytes=5-{SIZE + 1000}", 5, SIZE),
    ]:
        part = _get(server, token, path, Range=header)
        assert part.status == 206, header
        assert part.headers["content-range"] == f"bytes {start}-{end - 1}/{SIZE}"
        assert part.body == whole.body[start:end]
    for header in (f"bytes={SIZE}-", f"bytes={SIZE + 5}-{SIZE + 9}", "bytes=-0"):
        refused = _get(server, token, path, Range=header)
        assert refused.status == 416, header
        assert refused.headers["content-range"] == f"bytes */{SIZE}"
        assert refused.json()["error"]["errors"][0]["reason"] == "requestedRangeNotSatisfiable"
    assert _get(server, token, path, Range="pages=1-2").status == 200  # unknown unit: whole file


def test_chunked_download_with_the_real_client(google: Google, sandbox: SandboxClient) -> None:
    size = 40 * 1024 * 1024 + 17
    file_id = _recorded_file(google, sandbox, size=size)["video"]
    sink, digest = io.BytesIO(), hashlib.sha256()
    downloader = MediaIoBaseDownload(
        sink, google.drive.files().get_media(fileId=file_id), chunksize=16 * 1024 * 1024
    )
    done, chunks = False, 0
    while not done:
        status, done = downloader.next_chunk()
        chunks += 1
    digest.update(sink.getvalue())
    assert chunks == 3 and status.total_size == size
    meta = google.drive.files().get(fileId=file_id, fields="sha256Checksum").execute()
    assert digest.hexdigest() == meta["sha256Checksum"]


def test_export_and_its_refusals(google: Google, sandbox: SandboxClient) -> None:
    ids = _recorded_file(google, sandbox, size=1000, transcript=True)
    text = google.drive.files().export(fileId=ids["doc"], mimeType="text/plain").execute()
    assert text.startswith(b"\xef\xbb\xbf") and b"Transcript" in text
    doc = google.drive.files().get(fileId=ids["doc"], fields="mimeType,size,md5Checksum").execute()
    assert doc == {"mimeType": "application/vnd.google-apps.document"}
    cases = [
        (lambda: google.drive.files().get_media(fileId=ids["doc"]), 403, "fileNotDownloadable"),
        (
            lambda: google.drive.files().export(fileId=ids["video"], mimeType="text/plain"),
            403,
            "fileNotExportable",
        ),
        (
            lambda: google.drive.files().export(fileId=ids["doc"], mimeType="image/gif"),
            400,
            "badRequest",
        ),
        (lambda: google.drive.files().get(fileId="1nosuchfile"), 404, "notFound"),
    ]
    for call, status, reason in cases:
        with pytest.raises(HttpError) as caught:
            call().execute()
        assert caught.value.resp.status == status
        assert json.loads(caught.value.content)["error"]["errors"][0]["reason"] == reason


def test_files_of_another_user_are_not_found(
    google: Google, sandbox: SandboxClient, make_clients: Any
) -> None:
    file_id = _recorded_file(google, sandbox, size=10)["video"]
    with pytest.raises(HttpError) as caught:
        make_clients(subject="someone.else@example.com").drive.files().get(fileId=file_id).execute()
    assert caught.value.resp.status == 404


def test_changes_paginate_from_the_start_token(google: Google, sandbox: SandboxClient) -> None:
    start = google.drive.changes().getStartPageToken().execute()["startPageToken"]
    made = [_recorded_file(google, sandbox, size=10, transcript=True) for _ in range(3)]
    expected = [f for ids in made for f in (ids["video"], ids["doc"])]
    seen, token, pages = [], start, 0
    while True:
        result = google.drive.changes().list(pageToken=token, pageSize=4).execute()
        seen += [c["fileId"] for c in result["changes"]]
        pages += 1
        if "newStartPageToken" in result:
            break
        token = result["nextPageToken"]
    assert sorted(seen) == sorted(expected) and pages == 2
    assert (
        google.drive.changes().list(pageToken=result["newStartPageToken"]).execute()["changes"]
        == []
    )


@pytest.mark.parametrize(
    "path",
    [
        "/drive/v3/changes",
        "/drive/v3/changes?pageToken=abc",
        "/drive/v3/changes?pageToken=0",
        "/drive/v3/changes?pageToken=999",
        "/drive/v3/changes?pageToken=1&pageSize=many",
        "/drive/v3/files/1nosuchfile?alt=media",
        "/drive/v3/files/1nosuchfile/export?mimeType=text/plain",
        "/drive/v3/files/FILE?alt=xml",
        "/drive/v3/files/FILE?fields=id,(size",
        "/drive/v3/files/FILE?fields=sizeBytes",
        "/drive/v3/changes?pageToken=1&fields=changes(file(id,colour))",
        "/drive/v3/files/FILE/export",
    ],
)
def test_garbage_gets_drive_errors(
    server: EmulatorServer, google: Google, sandbox: SandboxClient, token: str, path: str
) -> None:
    file_id = _recorded_file(google, sandbox, size=10)["video"]
    raw = _get(server, token, path.replace("FILE", file_id))
    assert raw.status in (400, 404)
    error = raw.json()["error"]
    assert error["code"] == raw.status and error["errors"][0]["reason"] and error["message"]
