"""Drive methods against the emulator: metadata, verified ranged downloads, export."""

from __future__ import annotations

import hashlib

import pytest

from meet_core.google import GoogleGateway, IncompleteDownload, NotFound, PermissionDenied
from meet_sandbox.emulator import SandboxClient
from tests.google.conftest import api_requests, held_meeting

SIZE = 3 * 2**20 + 12345  # not a multiple of any chunk size used below


class HashingWriter:
    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.hash.update(data)
        self.writes += 1


@pytest.fixture
def artifacts(gateway: GoogleGateway, sandbox: SandboxClient) -> tuple[str, str]:
    """(recording file id, transcript document id) of a held meeting."""
    space = gateway.create_space()
    record = held_meeting(sandbox, space.name, guests=2, size=SIZE)
    [recording] = gateway.list_recordings(record)
    [transcript] = gateway.list_transcripts(record)
    gateway.calls.reset()
    sandbox.call("DELETE", "requests")
    return recording.drive_file_id or "", transcript.document_id or ""


def test_get_file_metadata(gateway: GoogleGateway, artifacts: tuple[str, str]) -> None:
    info = gateway.get_file(artifacts[0])
    assert (info.id, info.mime_type, info.size) == (artifacts[0], "video/mp4", SIZE)
    assert info.name.endswith(".mp4") and len(info.md5 or "") == 32 and len(info.sha256 or "") == 64


def test_download_matches_drive_checksum(
    gateway: GoogleGateway, sandbox: SandboxClient, artifacts: tuple[str, str]
) -> None:
    info = gateway.get_file(artifacts[0])
    sink = HashingWriter()
    chunk = 2**20
    assert gateway.download_file(info.id, sink, chunk_size=chunk) == SIZE
    assert sink.hash.hexdigest() == info.sha256
    chunks = -(-SIZE // chunk)
    assert sink.writes == chunks
    assert (
        gateway.calls["drive.files.get"]
        == len(api_requests(sandbox, "drive.files.get"))
        == 1 + chunks
    )


def test_iter_file_from_an_offset(gateway: GoogleGateway, artifacts: tuple[str, str]) -> None:
    whole = b"".join(gateway.iter_file(artifacts[0], chunk_size=2**21))
    assert len(whole) == SIZE
    offset = SIZE - 777_777
    tail = b"".join(
        gateway.iter_file(artifacts[0], offset=offset, chunk_size=500_000, expected_size=SIZE)
    )
    assert tail == whole[offset:]
    assert (
        list(gateway.iter_file(artifacts[0], offset=SIZE)) == []
    )  # 416 at the very end: nothing left


def test_size_mismatch_and_offset_past_the_end(
    gateway: GoogleGateway, artifacts: tuple[str, str]
) -> None:
    with pytest.raises(IncompleteDownload, match=f"is {SIZE} bytes, expected {SIZE + 1}"):
        list(gateway.iter_file(artifacts[0], expected_size=SIZE + 1))
    with pytest.raises(IncompleteDownload, match="ended at byte"):
        list(gateway.iter_file(artifacts[0], offset=SIZE + 10))


def test_truncated_chunks_are_fetched_again_from_their_offset(
    gateway: GoogleGateway, sandbox: SandboxClient, artifacts: tuple[str, str]
) -> None:
    info = gateway.get_file(artifacts[0])
    sandbox.faults(
        kinds=["truncate"], rate=0.5, seed=7, methods=["drive.files.get"], truncate_fraction=0.3
    )
    sink = HashingWriter()
    chunk = 512 * 1024
    assert gateway.download_file(info.id, sink, chunk_size=chunk) == SIZE
    assert sink.hash.hexdigest() == info.sha256
    media = api_requests(sandbox, "drive.files.get")[1:]
    cut = sum(1 for r in media if r["fault"] == "truncate")
    assert cut >= 2  # the fault really hit
    # Exactly one extra request per cut chunk: nothing was downloaded twice beyond that chunk.
    assert len(media) == -(-SIZE // chunk) + cut == gateway.calls["drive.files.get"] - 1


def test_export_transcript_text(gateway: GoogleGateway, artifacts: tuple[str, str]) -> None:
    text = gateway.export_text(artifacts[1]).decode("utf-8-sig")
    assert "Transcript" in text and "Guest 0" in text and "Organizer" in text


def test_docs_cannot_be_downloaded_and_videos_cannot_be_exported(
    gateway: GoogleGateway, sandbox: SandboxClient, artifacts: tuple[str, str]
) -> None:
    with pytest.raises(PermissionDenied) as info:
        list(gateway.iter_file(artifacts[1]))
    assert info.value.reason == "fileNotDownloadable"
    with pytest.raises(PermissionDenied):
        gateway.export_text(artifacts[0])
    assert gateway.calls.total == len(api_requests(sandbox)) == 2  # neither retried


def test_unknown_file_is_not_found_once(gateway: GoogleGateway, sandbox: SandboxClient) -> None:
    with pytest.raises(NotFound):
        gateway.get_file("1NoSuchFile")
    with pytest.raises(NotFound):
        list(gateway.iter_file("1NoSuchFile"))
    assert gateway.calls["drive.files.get"] == len(api_requests(sandbox, "drive.files.get")) == 2


def test_files_of_another_organizer_are_invisible(
    gateway: GoogleGateway, artifacts: tuple[str, str]
) -> None:
    with pytest.raises(NotFound):
        gateway.get_file(artifacts[0], subject="someone.else@example.com")
