"""Drive: file metadata, streamed ranged download of recordings, transcript export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, TypeVar

from googleapiclient.errors import HttpError

from meet_core.google import validate
from meet_core.google.core import GatewayCore
from meet_core.google.errors import IncompleteDownload
from meet_core.google.media import Chunk, check_chunk, range_header, unsatisfied_total
from meet_core.google.types import DriveFile

_FILE_FIELDS = "id,name,mimeType,size,md5Checksum,sha256Checksum"
DEFAULT_CHUNK = 8 * 2**20


T_contra = TypeVar("T_contra", contravariant=True)


class SupportsWrite(Protocol[T_contra]):
    """Anything with ``write(data)``: a file, a hashing writer, a multipart uploader."""

    def write(self, data: T_contra, /) -> object: ...


class DriveMethods(GatewayCore):
    def get_file(self, file_id: str, *, subject: str | None = None) -> DriveFile:
        validate.drive_id(file_id)
        data = self._execute(
            "drive",
            self._subject(subject),
            lambda s: s.files().get(fileId=file_id, fields=_FILE_FIELDS, supportsAllDrives=True),
        )
        return DriveFile.from_json(data)

    def export_text(self, document_id: str, *, subject: str | None = None) -> bytes:
        """files.export as text/plain (a Meet transcript is a Google Doc)."""
        validate.drive_id(document_id, "document_id")
        data = self._execute(
            "drive",
            self._subject(subject),
            lambda s: s.files().export(fileId=document_id, mimeType="text/plain"),
            json=False,
        )
        return data if isinstance(data, bytes) else str(data).encode("utf-8")

    def iter_file(
        self,
        file_id: str,
        *,
        subject: str | None = None,
        offset: int = 0,
        chunk_size: int = DEFAULT_CHUNK,
        expected_size: int | None = None,
    ) -> Iterator[bytes]:
        """Yield the file from ``offset`` in verified chunks of at most ``chunk_size`` bytes.

        Only one chunk is in memory at a time. Each chunk is one retried call, so a cut
        body is fetched again from its exact offset, never from the start of the file.
        """
        validate.drive_id(file_id)
        validate.non_negative(offset, "offset")
        validate.positive(chunk_size, "chunk_size")
        if expected_size is not None:
            validate.non_negative(expected_size, "expected_size")
        who = self._subject(subject)
        return self._chunks(file_id, who, offset, chunk_size, expected_size)

    def download_file(
        self,
        file_id: str,
        sink: SupportsWrite[bytes],
        *,
        subject: str | None = None,
        offset: int = 0,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> int:
        """Stream the file into ``sink``; returns the number of bytes written."""
        if not callable(getattr(sink, "write", None)):
            raise ValueError(f"sink must have a write(bytes) method, got {type(sink).__name__}")
        written = 0
        for chunk in self.iter_file(file_id, subject=subject, offset=offset, chunk_size=chunk_size):
            sink.write(chunk)
            written += len(chunk)
            del chunk  # let it go before the next chunk arrives: one chunk in memory, not two
        return written

    def _chunks(
        self, file_id: str, subject: str, offset: int, chunk_size: int, expected_size: int | None
    ) -> Iterator[bytes]:
        position, total = offset, expected_size
        while total is None or position < total:
            chunk = self._fetch_range(file_id, subject, position, chunk_size)
            if chunk.total is not None and total is not None and chunk.total != total:
                raise IncompleteDownload(
                    f"drive file {file_id} is {chunk.total} bytes, expected {total}",
                    method="drive.files.get",
                    reason="sizeMismatch",
                )
            total = chunk.total if chunk.total is not None else total
            data = chunk.data
            del chunk  # hold the bytes once, and only until yielded
            if not data:
                break
            yield data
            position += len(data)
            if total is None and len(data) < chunk_size:
                break  # size unknown: a short final range is the end
            del data
        if total is not None and position != total:
            raise IncompleteDownload(
                f"drive file {file_id}: stream ended at byte {position} of {total}",
                method="drive.files.get",
                reason="incomplete",
            )

    def _fetch_range(self, file_id: str, subject: str, offset: int, chunk_size: int) -> Chunk:
        service = self._service("drive", subject)

        def attempt() -> Chunk:
            request = service.files().get_media(fileId=file_id, supportsAllDrives=True)
            request.headers["range"] = range_header(offset, chunk_size)
            # Byte ranges refer to the stored bytes: no transparent gzip.
            request.headers["accept-encoding"] = "identity"
            seen: dict[str, Any] = {}
            request.add_response_callback(lambda resp: seen.update(resp=resp))
            try:
                body = request.execute(num_retries=0)
            except HttpError as exc:
                size = unsatisfied_total(exc.resp) if exc.resp.status == 416 else None
                if size is not None and offset >= size:
                    return Chunk(b"", size)  # asked at or past the end: nothing left
                raise
            resp = seen["resp"]
            return check_chunk(int(resp.status), resp, body, offset, chunk_size)

        return self._run("drive.files.get", attempt, subject)
