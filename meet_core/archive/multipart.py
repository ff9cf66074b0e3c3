"""Streaming pieces of a multipart upload: re-chunking, bounded concurrent part uploads,
and the clean-up of uploads left behind by crashes."""

from __future__ import annotations

import io
import queue
import random
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    IncompleteReadError,
)
from botocore.parsers import ResponseParserError

from meet_core.archive.client import S3Client, error_code
from meet_core.archive.digest import crc64nvme, crc_b64
from meet_core.archive.errors import ArchiveError, ChecksumMismatch

MIN_PART_SIZE = 5 * 2**20  # S3's minimum for every part but the last
MAX_PART_SIZE = 5 * 2**30
MAX_PARTS = 10_000
_TRANSIENT_CODES = {"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "Throttling"}


Part = bytes | bytearray  # a part's bytes: a Drive chunk as it came, or a filled bytearray


def iter_parts(chunks: Iterable[bytes], part_size: int) -> Iterator[Part]:
    """Re-cut arbitrary chunks into ``part_size`` pieces (the last may be shorter; an empty
    stream yields one empty piece). Each piece is handed over, never kept: the generator
    holds only the piece it is filling, so a part lives exactly as long as its consumer
    keeps it. A ``bytes`` chunk of exactly ``part_size`` arriving on a part boundary is
    handed over as it is (immutable, so nobody can change it under the upload): with
    source chunks of the part size (Drive ranged reads) no byte is copied here."""
    # Every part is one allocation of the same size (never grown): glibc then serves each
    # from mmap and returns it to the OS on free, instead of fragmenting the heap.
    part, filled = bytearray(part_size), 0
    produced = False
    handover: list[Part] = []  # `yield handover.pop()` leaves no reference in this frame
    for chunk in chunks:
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"stream chunks must be bytes, got {type(chunk).__name__}")
        if filled == 0 and type(chunk) is bytes and len(chunk) == part_size:
            handover.append(chunk)
            del chunk
            produced = True
            yield handover.pop()
            continue
        view = memoryview(chunk).cast("B")
        while view:
            taken = min(part_size - filled, len(view))
            part[filled : filled + taken] = view[:taken]
            filled += taken
            view = view[taken:]
            if filled == part_size:
                handover.append(part)
                part, filled = bytearray(part_size), 0
                produced = True
                yield handover.pop()
    if filled or not produced:
        del part[filled:]
        handover.append(part)
        del part
        yield handover.pop()


def prepend(items: list[Part], rest: Iterator[Part]) -> Iterator[Part]:
    """``items`` then ``rest``, dropping each item once handed over (see iter_parts)."""
    while items:
        yield items.pop(0)
    yield from rest


_END = object()


class Prefetch:
    """Iterate ``chunks`` in a background thread, at most ``depth`` chunks ahead of the
    consumer: the next Drive chunk downloads while this one is hashed and uploaded
    (socket reads and hashlib release the GIL). Nothing is read before the first
    ``next``; the source's exception is raised to the consumer. ``close()`` (always call
    it) stops the thread after the read it is in and closes the source in that thread."""

    def __init__(self, chunks: Iterable[bytes], depth: int = 1) -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self._chunks = chunks
        # A slot is taken before a chunk is read, so at most `depth` chunks exist that
        # the consumer has not taken yet (the one being read included).
        self._slots = threading.Semaphore(depth)
        self._ready: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._finished = False

    def __iter__(self) -> Prefetch:
        return self

    def __next__(self) -> bytes:
        if self._finished:
            raise StopIteration
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="prefetch", daemon=True)
            self._thread.start()
        kind, value = self._ready.get()
        self._slots.release()
        if kind == "chunk":
            return value  # type: ignore[return-value]
        self._finished = True
        if kind == "error":
            raise value  # type: ignore[misc]
        raise StopIteration

    def close(self) -> None:
        self._finished = True
        self._stop.set()
        self._slots.release()  # wake the thread if it waits for a slot
        while not self._ready.empty():  # drop what was read ahead
            self._ready.get_nowait()

    def _run(self) -> None:
        source = iter(self._chunks)
        try:
            while True:
                self._slots.acquire()
                if self._stop.is_set():
                    return
                chunk = next(source, _END)
                if chunk is _END:
                    self._ready.put(("end", None))
                    return
                if self._stop.is_set():  # closed during the read: nobody will take it
                    return
                self._ready.put(("chunk", chunk))
                del chunk
        except BaseException as exc:  # handed to the consumer, raised in its thread
            self._ready.put(("error", exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()


def is_transient(exc: BaseException) -> bool:
    """Worth another try: connection trouble, 5xx, throttling."""
    if isinstance(exc, (ConnectionError, HTTPClientError, IncompleteReadError, ResponseParserError)):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or error_code(exc) in _TRANSIENT_CODES
    return False


class PartBody(io.RawIOBase):
    """A seekable file over one part that never copies it (BytesIO copies a bytearray;
    botocore's signer and retries need seek, http.client reads it in small blocks)."""

    def __init__(self, data: Part) -> None:
        super().__init__()
        self._view = memoryview(data)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> memoryview:
        """A view, not a copy (RawIOBase.read would copy twice per block): what reads the
        body here (urllib3's send loop, the SigV4 payload hash over plain HTTP) only
        passes the block on to sendall or a hash, which take any buffer."""
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._position + size)
        block = self._view[self._position : end]
        self._position = max(self._position, end)
        return block

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), len(self._view) - self._position)
        buffer[:count] = self._view[self._position : self._position + count]
        self._position += count
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def __len__(self) -> int:
        return len(self._view)


@dataclass(frozen=True, slots=True)
class UploadedPart:
    number: int
    etag: str
    crc64nvme: int
    size: int

    def for_complete(self) -> dict[str, object]:
        return {"PartNumber": self.number, "ETag": self.etag, "ChecksumCRC64NVME": crc_b64(self.crc64nvme)}


class PartUploader:
    """Uploads the parts of one multipart upload, at most ``max_concurrency`` at a time.

    Call :meth:`reserve` before producing a part's bytes and :meth:`submit` with them: the
    slot is taken before the bytes exist, so memory stays near part_size x max_concurrency.
    botocore retries each request; on top, a part is retried ``attempts`` times because a
    long archive run can exhaust botocore's retry quota.
    """

    def __init__(
        self, client: S3Client, bucket: str, key: str, upload_id: str, max_concurrency: int, attempts: int = 3
    ) -> None:
        self._client, self._bucket, self._key, self._upload_id = client, bucket, key, upload_id
        self._attempts = attempts
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="s3-part")
        self._futures: list[Future[UploadedPart]] = []
        self._failed = threading.Event()

    def reserve(self) -> None:
        self._raise_if_failed()
        self._slots.acquire()
        self._raise_if_failed()

    def release(self) -> None:
        self._slots.release()

    def submit(self, number: int, data: Part) -> None:
        future = self._pool.submit(self._upload, number, data)
        future.add_done_callback(self._done)
        self._futures.append(future)

    def finish(self) -> list[UploadedPart]:
        """Wait for every part; the first failure is raised."""
        self._pool.shutdown(wait=True)
        self._raise_if_failed()
        return sorted((f.result() for f in self._futures), key=lambda p: p.number)

    def cancel(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _done(self, future: Future[UploadedPart]) -> None:
        if future.cancelled() or future.exception() is not None:
            self._failed.set()
        self._slots.release()

    def _raise_if_failed(self) -> None:
        if not self._failed.is_set():
            return
        for future in self._futures:
            if future.done() and not future.cancelled() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        raise ArchiveError("a part upload was cancelled")

    def _upload(self, number: int, data: Part) -> UploadedPart:
        crc = crc64nvme(data)
        for attempt in range(1, self._attempts + 1):
            try:
                answer = self._client.upload_part(
                    Bucket=self._bucket,
                    Key=self._key,
                    UploadId=self._upload_id,
                    PartNumber=number,
                    Body=PartBody(data),
                    ChecksumAlgorithm="CRC64NVME",
                    ChecksumCRC64NVME=crc_b64(crc),
                )
                break
            except (ClientError, BotoCoreError) as exc:
                if attempt == self._attempts or not is_transient(exc):
                    raise
                time.sleep(random.uniform(0, 0.2 * 2**attempt))  # jittered backoff
        echoed = answer.get("ChecksumCRC64NVME")
        if echoed is not None and echoed != crc_b64(crc):
            raise ChecksumMismatch(f"part {number}: S3 computed CRC64NVME {echoed}, sent {crc_b64(crc)}")
        return UploadedPart(number=number, etag=answer["ETag"], crc64nvme=crc, size=len(data))


def abort_upload(client: S3Client, bucket: str, key: str, upload_id: str) -> BaseException | None:
    """Abort, tolerating an upload that is already gone; return the error if abort failed
    (abort_stale_uploads cleans it up later)."""
    try:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except (ClientError, BotoCoreError) as exc:
        if error_code(exc) == "NoSuchUpload":
            return None
        return exc
    return None


def abort_stale_uploads(
    client: S3Client, bucket: str, prefix: str, older_than: timedelta, *, now: datetime | None = None
) -> int:
    """Abort incomplete multipart uploads under ``prefix`` started before now - older_than.
    Note: moto reports every upload as initiated on 2010-11-10."""
    if older_than < timedelta(0):
        raise ValueError("older_than must not be negative")
    cutoff = (now or datetime.now(UTC)) - older_than
    aborted = 0
    try:
        for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                if upload["Initiated"] < cutoff:
                    error = abort_upload(client, bucket, upload["Key"], upload["UploadId"])
                    if error is not None:
                        raise error
                    aborted += 1
    except (ClientError, BotoCoreError) as exc:
        raise ArchiveError(f"cleaning stale uploads under {prefix!r} failed: {exc}") from exc
    return aborted


def abort_uploads_of(client: S3Client, bucket: str, key: str) -> int:
    """Abort every incomplete multipart upload of exactly ``key`` (left by a killed writer)."""
    aborted = 0
    try:
        for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=key):
            for upload in page.get("Uploads", []):
                if upload["Key"] == key:
                    error = abort_upload(client, bucket, key, upload["UploadId"])
                    if error is not None:
                        raise error
                    aborted += 1
    except (ClientError, BotoCoreError) as exc:
        raise ArchiveError(f"aborting leftover uploads of {key!r} failed: {exc}") from exc
    return aborted
