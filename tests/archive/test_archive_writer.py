"""ArchiveWriter against a real moto S3 server over HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from awscrt import checksums
from botocore.exceptions import ClientError

from meet_core.archive import (
    ArchiveConflict,
    ArchiveError,
    ArchivePolicy,
    ArchiveWriter,
    ChecksumMismatch,
    object_key,
)
from meet_core.archive.client import S3Client
from meet_core.archive.digest import crc_b64

from .helpers import MiB, chunked, object_keys, payload, uploads, versions

PART = 5 * MiB
PROVENANCE = {
    "meeting-id": "m-1",
    "conference-record": "cr-1",
    "recording-name": "rec-1",
    "drive-file-id": "f-1",
}


def writer(
    s3: S3Client, bucket: str, mode: str = "COMPLIANCE", days: int = 30, **policy: bool
) -> ArchiveWriter:
    return ArchiveWriter(s3, bucket, ArchivePolicy(mode, days, **policy), part_size=PART, max_concurrency=3)


def archive(w: ArchiveWriter, key: str, data: bytes, **kwargs: object):  # type: ignore[no-untyped-def]
    params: dict[str, object] = {
        "expected_size": len(data),
        "expected_sha256": hashlib.sha256(data).hexdigest(),
        "content_type": "video/mp4",
        "metadata": PROVENANCE,
    }
    params.update(kwargs)
    return w.archive_stream(key, chunked(data), **params)  # type: ignore[arg-type]


def assert_nothing_left(s3: S3Client, bucket: str) -> None:
    assert object_keys(s3, bucket) == []
    assert uploads(s3, bucket) == []


@pytest.mark.parametrize(
    "size",
    [0, 1000, PART - 1, PART, 40 * MiB + 123],
    ids=["empty", "small", "under-part", "one-part", "multi"],
)
def test_round_trip(s3: S3Client, bucket: str, size: int) -> None:
    data = payload(size, seed=size)
    key = object_key("archive", "recordings", "m-1", "cr-1", f"rec-{size}.mp4")
    result = archive(writer(s3, bucket), key, data, expected_md5=hashlib.md5(data).hexdigest())

    stored = s3.get_object(Bucket=bucket, Key=key, VersionId=result.version_id)
    assert stored["Body"].read() == data
    assert result.size == size and not result.already_existed
    assert result.sha256_hex == hashlib.sha256(data).hexdigest() == stored["Metadata"]["sha256"]
    assert stored["Metadata"]["md5"] == hashlib.md5(data).hexdigest()
    assert {k: stored["Metadata"][k] for k in PROVENANCE} == PROVENANCE
    assert stored["ContentType"] == "video/mp4"
    assert result.crc64nvme == crc_b64(checksums.crc64nvme(data))
    parts = -(-size // PART) if size > PART else 1
    assert result.etag.endswith(f"-{parts}") == (parts > 1)
    assert uploads(s3, bucket) == []


@pytest.mark.parametrize("mode", ["COMPLIANCE", "GOVERNANCE"])
@pytest.mark.parametrize("size", [10_000, 12 * MiB], ids=["put", "multipart"])
def test_retention_read_back_as_configured(s3: S3Client, bucket: str, mode: str, size: int) -> None:
    data = payload(size, seed=1)
    before = datetime.now(UTC).replace(microsecond=0)
    result = archive(writer(s3, bucket, mode, days=11), "lock/obj", data)
    after = datetime.now(UTC)

    head = s3.head_object(Bucket=bucket, Key="lock/obj", VersionId=result.version_id)
    assert head["ObjectLockMode"] == result.lock_mode == mode
    assert head["ObjectLockRetainUntilDate"] == result.retain_until
    assert before + timedelta(days=11) <= result.retain_until <= after + timedelta(days=11)


@pytest.mark.parametrize("size", [100, 11 * MiB], ids=["put", "multipart"])
def test_legal_hold_by_policy_and_toggled(s3: S3Client, bucket: str, size: int) -> None:
    w = writer(s3, bucket, "GOVERNANCE", legal_hold=True)
    result = archive(w, "hold/obj", payload(size))

    def status() -> str:
        answer = s3.get_object_legal_hold(Bucket=bucket, Key="hold/obj", VersionId=result.version_id)
        return str(answer["LegalHold"]["Status"])

    assert result.legal_hold and status() == "ON"
    w.set_legal_hold("hold/obj", result.version_id, False)
    assert status() == "OFF"
    w.set_legal_hold("hold/obj", result.version_id, True)
    assert status() == "ON"
    with pytest.raises(ClientError, match="AccessDenied"):  # a legal hold beats the governance bypass
        s3.delete_object(
            Bucket=bucket, Key="hold/obj", VersionId=result.version_id, BypassGovernanceRetention=True
        )


@pytest.mark.parametrize("mode", ["COMPLIANCE", "GOVERNANCE"])
def test_locked_version_refuses_deletion(s3: S3Client, bucket: str, mode: str) -> None:
    result = archive(writer(s3, bucket, mode), "del/obj", payload(12 * MiB))
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=bucket, Key="del/obj", VersionId=result.version_id)
    assert (
        s3.head_object(Bucket=bucket, Key="del/obj", VersionId=result.version_id)["ContentLength"] == 12 * MiB
    )


@pytest.mark.parametrize("size", [1000, 17 * MiB], ids=["put", "multipart"])
@pytest.mark.parametrize(
    "wrong",
    [
        {"expected_sha256": "0" * 64},
        {"expected_size": -1},  # replaced below by size - 1
        {"expected_size": +1},  # replaced below by size + 1
        {"expected_md5": "0" * 32},
    ],
    ids=["sha256", "size-short", "size-long", "md5"],
)
def test_mismatch_aborts_and_leaves_nothing(s3: S3Client, bucket: str, size: int, wrong: dict) -> None:
    data = payload(size, seed=3)
    if "expected_size" in wrong:
        wrong = {"expected_size": size + wrong["expected_size"]}
    with pytest.raises(ChecksumMismatch):
        archive(writer(s3, bucket), "bad/obj", data, **wrong)
    assert_nothing_left(s3, bucket)


@pytest.mark.parametrize("fail_after", [0, 1, 3], ids=["at-start", "after-first-part", "mid-stream"])
def test_source_raising_mid_stream_aborts(s3: S3Client, bucket: str, fail_after: int) -> None:
    def source() -> Iterator[bytes]:
        for index in range(fail_after):
            yield payload(PART, seed=index)
        raise RuntimeError("drive download broke")

    with pytest.raises(ArchiveError) as caught:
        writer(s3, bucket).archive_stream(
            "src/obj",
            source(),
            expected_size=None,
            expected_sha256="a" * 64,
            content_type="video/mp4",
            metadata={},
        )
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert_nothing_left(s3, bucket)


@pytest.mark.parametrize("chunk", ["text", None, 42, [b"nested"]], ids=["str", "none", "int", "list"])
def test_garbage_chunk_aborts(s3: S3Client, bucket: str, chunk: object) -> None:
    def source() -> Iterator[object]:
        yield payload(PART + 10)
        yield chunk

    with pytest.raises(ArchiveError) as caught:
        writer(s3, bucket).archive_stream(
            "src/obj",
            source(),
            expected_size=None,
            expected_sha256="a" * 64,
            content_type="video/mp4",
            metadata={},  # type: ignore[arg-type]
        )
    assert isinstance(caught.value.__cause__, TypeError)
    assert_nothing_left(s3, bucket)


def test_chunks_not_iterable_refused(s3: S3Client, bucket: str) -> None:
    with pytest.raises(ArchiveError):
        writer(s3, bucket).archive_stream(
            "k", 12345, expected_size=None, content_type="video/mp4", metadata={}
        )  # type: ignore[arg-type]
    assert_nothing_left(s3, bucket)


@pytest.mark.parametrize(
    "bad",
    [
        {"expected_size": -5},
        {"expected_size": "10"},
        {"expected_size": True},
        {"expected_sha256": "xyz"},
        {"expected_sha256": "g" * 64},
        {"expected_md5": "0" * 31},
        {"content_type": ""},
        {"content_type": "mp4"},
        {"metadata": {"Bad Name": "x"}},
        {"metadata": {"sha256": "0" * 64}},
        {"metadata": {"note": "naïve"}},
        {"metadata": "meeting=1"},
    ],
)
def test_garbage_arguments_refused_before_any_upload(s3: S3Client, bucket: str, bad: dict) -> None:
    with pytest.raises(ValueError):
        archive(writer(s3, bucket), "args/obj", b"data", **bad)
    assert_nothing_left(s3, bucket)


@pytest.mark.parametrize(
    "key", ["", "a//b", "../etc/passwd", "a/../b", ".hidden", "sp ace", "new\nline", "/lead", None]
)
def test_garbage_keys_refused(s3: S3Client, bucket: str, key: object) -> None:
    w = writer(s3, bucket)
    with pytest.raises(ValueError):
        archive(w, key, b"data")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        w.find_existing(key, "a" * 64)  # type: ignore[arg-type]
    assert_nothing_left(s3, bucket)


def test_multipart_needs_expected_sha256(s3: S3Client, bucket: str) -> None:
    with pytest.raises(ArchiveError, match="expected_sha256"):
        archive(writer(s3, bucket), "nosha/obj", payload(12 * MiB), expected_sha256=None)
    assert_nothing_left(s3, bucket)


@pytest.mark.parametrize("size", [1000, 12 * MiB], ids=["put", "multipart"])
def test_rearchive_same_content_is_idempotent(s3: S3Client, bucket: str, size: int) -> None:
    data = payload(size, seed=9)
    w = writer(s3, bucket)
    first = archive(w, "idem/obj", data)
    again = archive(w, "idem/obj", data)
    without_sha = archive(w, "idem/obj", data, expected_sha256=None) if size < PART else again
    for result in (again, without_sha):
        assert result.already_existed and result.version_id == first.version_id
        assert result.retain_until == first.retain_until and result.sha256_hex == first.sha256_hex
    assert len(versions(s3, bucket, "idem/obj")) == 1


def test_different_content_at_same_key_is_a_conflict(s3: S3Client, bucket: str) -> None:
    w = writer(s3, bucket)
    archive(w, "conf/obj", payload(1000, seed=1))
    for data in (payload(1000, seed=2), payload(12 * MiB, seed=2)):
        with pytest.raises(ArchiveConflict):
            archive(w, "conf/obj", data)
    with pytest.raises(ArchiveConflict):  # the conditional put catches it without an expected sha256
        archive(w, "conf/obj", payload(1000, seed=2), expected_sha256=None)
    assert len(versions(s3, bucket, "conf/obj")) == 1
    assert uploads(s3, bucket) == []


@pytest.mark.parametrize("same_content", [True, False], ids=["same", "different"])
def test_concurrent_writer_is_caught_by_conditional_complete(
    s3: S3Client, bucket: str, same_content: bool
) -> None:
    """Another writer completes the key while our multipart upload is in flight."""
    data = payload(12 * MiB, seed=5)
    other = data if same_content else payload(100, seed=6)
    w = writer(s3, bucket)

    def source() -> Iterator[bytes]:
        yield data[: 6 * MiB]
        archive(w, "race/obj", other)  # the racing writer wins
        yield data[6 * MiB :]

    if same_content:
        result = w.archive_stream(
            "race/obj",
            source(),
            expected_size=len(data),
            expected_sha256=hashlib.sha256(data).hexdigest(),
            content_type="video/mp4",
            metadata={},
        )
        assert result.already_existed
    else:
        with pytest.raises(ArchiveConflict):
            w.archive_stream(
                "race/obj",
                source(),
                expected_size=len(data),
                expected_sha256=hashlib.sha256(data).hexdigest(),
                content_type="video/mp4",
                metadata={},
            )
    assert len(versions(s3, bucket, "race/obj")) == 1
    assert uploads(s3, bucket) == []


def test_find_existing_repairs_missing_retention(s3: S3Client, bucket: str) -> None:
    """A crash between completing an upload and locking it: the next run locks it."""
    data = payload(2000)
    sha = hashlib.sha256(data).hexdigest()
    s3.put_object(Bucket=bucket, Key="crash/obj", Body=data, Metadata={"sha256": sha})
    assert "ObjectLockMode" not in s3.head_object(Bucket=bucket, Key="crash/obj")
    w = writer(s3, bucket, "COMPLIANCE", days=5)
    assert w.find_existing("crash/none", sha) is None
    found = w.find_existing("crash/obj", sha)
    assert found is not None and found.already_existed and found.lock_mode == "COMPLIANCE"
    head = s3.head_object(Bucket=bucket, Key="crash/obj")
    assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"] == found.retain_until
    assert found.retain_until >= head["LastModified"] + timedelta(days=5)


def test_existing_lock_is_strengthened_never_weakened(s3: S3Client, bucket: str) -> None:
    """moto would let the writer shorten a date or downgrade a mode: it must not ask to."""
    data = payload(2000)
    first = archive(writer(s3, bucket, "COMPLIANCE", days=40), "keep/a", data)
    same = archive(writer(s3, bucket, "GOVERNANCE", days=3), "keep/a", data)
    assert (same.lock_mode, same.retain_until) == ("COMPLIANCE", first.retain_until)  # already enough

    short = archive(writer(s3, bucket, "COMPLIANCE", days=3), "keep/b", data)
    longer = archive(writer(s3, bucket, "GOVERNANCE", days=30), "keep/b", data)
    assert longer.lock_mode == "COMPLIANCE"  # the date grows, the mode stays
    assert longer.retain_until is not None and short.retain_until is not None
    assert longer.retain_until >= short.retain_until + timedelta(days=26)

    governed = archive(writer(s3, bucket, "GOVERNANCE", days=40), "keep/c", data)
    stricter = archive(writer(s3, bucket, "COMPLIANCE", days=3), "keep/c", data)
    assert (stricter.lock_mode, stricter.retain_until) == ("COMPLIANCE", governed.retain_until)


def test_unlocked_bucket_refused_unless_allowed(s3: S3Client, unlocked_bucket: str) -> None:
    with pytest.raises(ArchiveError, match="Object Lock"):
        writer(s3, unlocked_bucket)
    w = writer(s3, unlocked_bucket, allow_unlocked_bucket=True)
    data = payload(12 * MiB)
    result = archive(w, "open/obj", data)
    assert result.lock_mode is None and result.retain_until is None and not result.legal_hold
    assert s3.get_object(Bucket=unlocked_bucket, Key="open/obj")["Body"].read() == data
    with pytest.raises(ArchiveError):
        w.set_legal_hold("open/obj", result.version_id, True)


def test_writer_refuses_bad_tuning(s3: S3Client, bucket: str) -> None:
    policy = ArchivePolicy("COMPLIANCE", 1)
    for kwargs in ({"part_size": MiB}, {"part_size": 6 * 2**30}, {"max_concurrency": 0}):
        with pytest.raises(ValueError):
            ArchiveWriter(s3, bucket, policy, **kwargs)  # type: ignore[arg-type]
    for mode, days in (("LEGAL", 1), ("COMPLIANCE", 0), ("GOVERNANCE", 40000)):
        with pytest.raises(ValueError):
            ArchivePolicy(mode, days)


def test_part_size_grows_for_huge_objects(s3: S3Client, bucket: str) -> None:
    """Unit test of one function: S3 allows 10 000 parts, so huge sizes need bigger parts."""
    w = writer(s3, bucket)
    assert w._part_size_for(None) == PART
    assert w._part_size_for(PART * 10_000) == PART
    grown = w._part_size_for(PART * 10_000 + 1)
    assert grown > PART and grown % MiB == 0 and grown * 10_000 >= PART * 10_000 + 1


def test_abort_stale_uploads(s3: S3Client, bucket: str) -> None:
    w = writer(s3, bucket)
    for key in ("stale/a", "stale/b", "other/c"):
        s3.create_multipart_upload(Bucket=bucket, Key=key)
    # moto reports every upload as initiated on 2010-11-10; judge age from that clock.
    initiated = uploads(s3, bucket)[0]["Initiated"]
    assert w.abort_stale_uploads("stale/", timedelta(hours=1), now=initiated + timedelta(minutes=30)) == 0
    assert w.abort_stale_uploads("stale/", timedelta(hours=1)) == 2
    assert [u["Key"] for u in uploads(s3, bucket)] == ["other/c"]
    with pytest.raises(ValueError):
        w.abort_stale_uploads("", timedelta(seconds=-1))
