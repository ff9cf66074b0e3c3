"""The streaming pieces in front of the writer: re-cutting into parts and read-ahead."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator

import pytest

from meet_core.archive import ArchivePolicy, ArchiveWriter, object_key
from meet_core.archive.client import S3Client
from meet_core.archive.multipart import Prefetch, iter_parts

from .helpers import MiB, payload

PART = 5 * MiB


def test_exact_bytes_chunks_become_parts_without_a_copy() -> None:
    chunks = [payload(PART, seed=1), payload(PART, seed=2), payload(100, seed=3)]
    parts = list(iter_parts(iter(chunks), PART))
    assert parts[0] is chunks[0] and parts[1] is chunks[1]
    assert parts[2] == chunks[2]


def test_mutable_or_misaligned_chunks_are_copied() -> None:
    whole = payload(PART, seed=4)
    buffer = bytearray(whole)
    # a part-sized bytes chunk starting mid-part is cut; a bytearray (the caller may reuse
    # it) is copied even on a part boundary
    chunks: list[bytes | bytearray] = [b"x", whole, whole[: PART - 1], buffer]
    parts = list(iter_parts(iter(chunks), PART))
    assert [len(p) for p in parts] == [PART, PART, PART]
    assert b"".join(parts) == b"".join(chunks)
    assert not any(p is c for p in parts for c in chunks)


def test_prefetch_yields_everything_in_order_and_reads_nothing_before_asked() -> None:
    pulled: list[int] = []

    def source() -> Iterator[bytes]:
        for index in range(5):
            pulled.append(index)
            yield bytes([index])

    chunks = Prefetch(source())
    assert pulled == []
    try:
        assert list(chunks) == [bytes([i]) for i in range(5)]
        assert next(chunks, None) is None
    finally:
        chunks.close()


def test_prefetch_reads_at_most_depth_ahead() -> None:
    lock = threading.Lock()
    requested = 0  # chunks the consumer has asked for so far
    lags: list[int] = []

    def source() -> Iterator[bytes]:
        for index in range(50):
            with lock:
                lags.append(index - requested)  # how far ahead this read is
            yield bytes(1000)

    chunks = Prefetch(source(), depth=3)
    try:
        while True:
            with lock:
                requested += 1
            if next(chunks, None) is None:
                break
            hashlib.sha256(bytes(100_000)).digest()  # the consumer is the slower side
    finally:
        chunks.close()
    assert len(lags) == 50
    assert max(lags) == 3 - 1  # reads 0, 1, 2 while the first is asked for


def test_prefetch_raises_the_source_error_in_the_consumer() -> None:
    def source() -> Iterator[bytes]:
        yield b"a"
        raise ConnectionResetError("drive went away")

    chunks = Prefetch(source())
    try:
        assert next(chunks) == b"a"
        with pytest.raises(ConnectionResetError, match="drive went away"):
            next(chunks)
        assert next(chunks, None) is None
    finally:
        chunks.close()


def test_prefetch_close_stops_the_thread_and_closes_the_source() -> None:
    closed = threading.Event()

    def source() -> Iterator[bytes]:
        try:
            while True:
                yield b"chunk"
        finally:
            closed.set()

    chunks = Prefetch(source(), depth=3)
    assert next(chunks) == b"chunk"
    chunks.close()
    assert closed.wait(timeout=10)
    assert next(chunks, None) is None


def test_writer_archives_a_prefetched_stream_of_part_sized_chunks(s3: S3Client, bucket: str) -> None:
    data = payload(3 * PART + 17, seed=9)
    key = object_key("archive", "recordings", "m-1", "cr-1", "prefetched.mp4")
    chunks = Prefetch(data[i : i + PART] for i in range(0, len(data), PART))
    try:
        result = ArchiveWriter(s3, bucket, ArchivePolicy("GOVERNANCE", 1), part_size=PART).archive_stream(
            key,
            chunks,
            expected_size=len(data),
            expected_sha256=hashlib.sha256(data).hexdigest(),
            content_type="video/mp4",
            metadata={},
        )
    finally:
        chunks.close()
    assert s3.get_object(Bucket=bucket, Key=key, VersionId=result.version_id)["Body"].read() == data
    assert result.etag.endswith("-4")
