"""Unit tests of check_chunk: the verification of one ranged media response."""

from __future__ import annotations

import pytest

from meet_core.google.errors import GoogleError
from meet_core.google.media import check_chunk, range_header, unsatisfied_total
from meet_core.google.retry import TruncatedBody


def test_exact_range_is_accepted() -> None:
    chunk = check_chunk(206, {"content-range": "bytes 10-13/100"}, b"abcd", 10, 4)
    assert (chunk.data, chunk.total) == (b"abcd", 100)


def test_last_short_range_is_accepted() -> None:
    chunk = check_chunk(206, {"content-range": "bytes 96-99/100"}, b"wxyz", 96, 8)
    assert (chunk.data, chunk.total) == (b"wxyz", 100)


def test_unknown_total() -> None:
    assert check_chunk(206, {"content-range": "bytes 0-1/*"}, b"ab", 0, 4).total is None


@pytest.mark.parametrize(
    ("status", "headers", "body", "offset", "size", "match"),
    [
        (206, {"content-range": "bytes 10-13/100"}, b"abc", 10, 4, "short body"),
        (206, {"content-range": "bytes 10-13/100"}, b"abcde", 10, 4, "over-long body"),
        (206, {"content-range": "bytes 11-14/100"}, b"abcd", 10, 4, "asked for bytes=10-13"),
        (206, {"content-range": "bytes 10-20/100"}, b"a" * 11, 10, 4, "asked for"),
        (206, {"content-range": "bytes 98-101/100"}, b"abcd", 98, 4, "beyond the file size"),
        (206, {}, b"abcd", 10, 4, "without a usable Content-Range"),
        (206, {"content-range": "garbage"}, b"abcd", 10, 4, "without a usable Content-Range"),
        (204, {"content-range": "bytes 10-13/100"}, b"", 10, 4, "HTTP 204"),
    ],
)
def test_bad_chunks_are_truncated_bodies(
    status: int, headers: dict[str, str], body: bytes, offset: int, size: int, match: str
) -> None:
    with pytest.raises(TruncatedBody, match=match):
        check_chunk(status, headers, body, offset, size)


def test_whole_file_answer_is_used_only_from_zero_and_when_small() -> None:
    assert check_chunk(200, {}, b"tiny", 0, 8).total == 4
    with pytest.raises(GoogleError, match="ignored the Range"):
        check_chunk(200, {}, b"x" * 9, 0, 8)
    with pytest.raises(GoogleError, match="ignored the Range"):
        check_chunk(200, {}, b"tiny", 2, 8)


def test_helpers() -> None:
    assert range_header(5, 10) == "bytes=5-14"
    assert unsatisfied_total({"content-range": "bytes */42"}) == 42
    assert unsatisfied_total({"content-range": "nonsense"}) is None
    assert unsatisfied_total({}) is None
