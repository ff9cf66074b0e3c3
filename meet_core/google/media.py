"""Checks of one ranged media response (``alt=media`` with ``Range``).

A chunk is accepted only if it starts at the requested offset and its length matches
Content-Range; anything else is a cut or garbled body and the chunk is fetched again from
the same offset.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from meet_core.google.errors import GoogleError
from meet_core.google.retry import TruncatedBody

_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED = re.compile(r"bytes\s+\*/(\d+)")


@dataclass(frozen=True, slots=True)
class Chunk:
    data: bytes
    total: int | None  # size of the whole file; None when the server did not say


def range_header(offset: int, chunk_size: int) -> str:
    return f"bytes={offset}-{offset + chunk_size - 1}"


def unsatisfied_total(headers: Mapping[str, str]) -> int | None:
    """The size in a 416 answer's ``Content-Range: bytes */N``."""
    match = _UNSATISFIED.fullmatch(headers.get("content-range", "").strip())
    return int(match.group(1)) if match else None


def check_chunk(
    status: int, headers: Mapping[str, str], body: bytes, offset: int, chunk_size: int
) -> Chunk:
    """Validate one 200/206 answer for the range starting at ``offset``."""
    if status == 200:
        # The server ignored Range and sent the whole file: only usable from offset 0 and
        # when the file fits in a chunk (else we would hold a whole recording in memory).
        if offset == 0 and len(body) <= chunk_size:
            return Chunk(body, len(body))
        raise GoogleError(
            f"server ignored the Range header (offset {offset}, {len(body)} bytes)",
            status=200,
            reason="noRange",
        )
    match = _RANGE.fullmatch(headers.get("content-range", "").strip())
    if status != 206 or match is None:
        raise TruncatedBody(
            f"HTTP {status} without a usable Content-Range: {headers.get('content-range')!r}"
        )
    first, last = int(match.group(1)), int(match.group(2))
    total = None if match.group(3) == "*" else int(match.group(3))
    if first != offset or last < first or last - first + 1 > chunk_size:
        raise TruncatedBody(
            f"asked for {range_header(offset, chunk_size)}, got bytes {first}-{last}"
        )
    if total is not None and last >= total:
        raise TruncatedBody(f"Content-Range bytes {first}-{last} beyond the file size {total}")
    expected = last - first + 1
    if len(body) != expected:
        kind = "short" if len(body) < expected else "over-long"
        raise TruncatedBody(f"{kind} body: {len(body)} bytes for range {first}-{last}")
    return Chunk(body, total)
