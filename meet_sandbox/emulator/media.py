"""Deterministic recording bytes, generated on the fly and never held whole in memory.

One 1 MiB pseudo-random base block is made once per process. Block ``i`` of a file is a
16-byte header (file seed, block index) followed by the base block rotated by an offset
derived from both, so every block of every file differs while serving costs no more than a
memoryview slice. Sizes up to many GiB stream at memory speed.
"""

from __future__ import annotations

import hashlib
import random
import struct
import threading
from collections.abc import Iterator

BLOCK = 1024 * 1024
HEADER = 16
_BASE = random.Random(0x6D656574).randbytes(BLOCK)
_DOUBLED = memoryview(_BASE + _BASE)


def seed_number(seed: str) -> int:
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")


def _block_parts(seed: int, index: int) -> tuple[bytes, memoryview]:
    rotation = (seed + index * 2654435761) % BLOCK
    return struct.pack(">QQ", seed, index), _DOUBLED[rotation : rotation + BLOCK - HEADER]


def iter_range(seed: str, start: int, end: int) -> Iterator[bytes | memoryview]:
    """The bytes [start, end) of the file made from `seed`, in chunks of at most 1 MiB."""
    number = seed_number(seed)
    position = start
    while position < end:
        index, offset = divmod(position, BLOCK)
        header, body = _block_parts(number, index)
        stop = min(BLOCK, offset + end - position)
        if offset < HEADER:
            yield header[offset : min(HEADER, stop)]
        if stop > HEADER:
            yield body[max(offset, HEADER) - HEADER : stop - HEADER]
        position += stop - offset


def read_range(seed: str, start: int, end: int) -> bytes:
    """The same bytes joined (tests, small files)."""
    return b"".join(bytes(chunk) for chunk in iter_range(seed, start, end))


_checksum_locks: dict[str, threading.Lock] = {}
_checksum_guard = threading.Lock()


def checksums(seed: str, size: int) -> tuple[str, str]:
    """(md5, sha256) hex digests of exactly the bytes served for this file."""
    with _checksum_guard:
        lock = _checksum_locks.setdefault(f"{seed}:{size}", threading.Lock())
    with lock:  # one computation per file even if many readers ask at once
        md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
        for chunk in iter_range(seed, 0, size):
            md5.update(chunk)
            sha256.update(chunk)
        return md5.hexdigest(), sha256.hexdigest()
