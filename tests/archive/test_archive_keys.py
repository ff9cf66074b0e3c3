"""object_key and the input validators: pure functions, every garbage shape refused."""

from __future__ import annotations

import pytest

from meet_core.archive import object_key
from meet_core.archive.keys import check_content_type, check_key, check_metadata


def test_builds_key_from_stable_ids() -> None:
    key = object_key("archive/v1", "recordings", "m-42", "abc_DEF-1", "rec-7.mp4")
    assert key == "archive/v1/recordings/m-42/abc_DEF-1/rec-7.mp4"
    assert object_key("", "recordings", "x") == "recordings/x"
    assert object_key("/p/", "x") == "p/x"
    assert check_key(key) == key


@pytest.mark.parametrize(
    "parts",
    [
        (),
        ("",),
        ("a", ""),
        ("..",),
        (".",),
        (".hidden",),
        ("a/b",),
        ("a b",),
        ("tab\t",),
        ("new\nline",),
        ("ünïcode",),
        ("semi;colon",),
        ("x" * 256,),
        (None,),
        (42,),
        (b"bytes",),
    ],
)
def test_garbage_parts_refused(parts: tuple) -> None:
    with pytest.raises(ValueError):
        object_key("prefix", *parts)


@pytest.mark.parametrize("prefix", ["..", "a/../b", "a//b", "a b", None, 7])
def test_garbage_prefix_refused(prefix: object) -> None:
    with pytest.raises(ValueError):
        object_key(prefix, "x")  # type: ignore[arg-type]


def test_key_longer_than_s3_allows_refused() -> None:
    with pytest.raises(ValueError, match="1024"):
        object_key("p", *(["a" * 200] * 6))


@pytest.mark.parametrize("key", ["", "/lead", "trail/", "a//b", "a/../b", "../x", "a\x00b", None, 5, "é"])
def test_check_key_refuses_garbage(key: object) -> None:
    with pytest.raises(ValueError):
        check_key(key)


@pytest.mark.parametrize(
    "metadata",
    [
        {"Upper": "x"},
        {"under_score": "x"},
        {"": "x"},
        {"sha256": "0" * 64},
        {"md5": "0" * 32},
        {"ok": "é"},
        {"ok": "line\nbreak"},
        {"ok": 1},
        {1: "x"},
        {"big": "x" * 2000},
        ["not", "a", "dict"],
        None,
    ],
)
def test_garbage_metadata_refused(metadata: object) -> None:
    with pytest.raises(ValueError):
        check_metadata(metadata, frozenset({"sha256", "md5"}))


def test_good_metadata_passes_unchanged() -> None:
    metadata = {
        "meeting-id": "m-1",
        "drive-file-id": "1AbC_-x",
        "recording-name": "conferenceRecords/a/recordings/b",
    }
    assert check_metadata(metadata, frozenset({"sha256"})) == metadata


@pytest.mark.parametrize(
    "value", ["video/mp4", "text/plain; charset=utf-8", "application/vnd.google-apps.document"]
)
def test_content_types_accepted(value: str) -> None:
    assert check_content_type(value) == value


@pytest.mark.parametrize("value", ["", "video", "video/", "/mp4", "video/mp4\r\nX: y", None, 3])
def test_garbage_content_types_refused(value: object) -> None:
    with pytest.raises(ValueError):
        check_content_type(value)
