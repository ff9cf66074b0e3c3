"""ArchiveWriter.verify: re-read and re-hash archived versions, report every problem."""

from __future__ import annotations

import hashlib

import pytest

from meet_core.archive import ArchivePolicy, ArchiveWriter
from meet_core.archive.client import S3Client

from .helpers import MiB, chunked, payload

PART = 5 * MiB


def archive(w: ArchiveWriter, key: str, data: bytes):  # type: ignore[no-untyped-def]
    return w.archive_stream(
        key,
        chunked(data),
        expected_size=len(data),
        expected_sha256=hashlib.sha256(data).hexdigest(),
        content_type="application/octet-stream",
        metadata={},
    )


@pytest.mark.parametrize("size", [0, 3000, 13 * MiB], ids=["empty", "put", "multipart"])
def test_verify_passes_for_an_archived_version(s3: S3Client, bucket: str, size: int) -> None:
    data = payload(size, seed=size)
    w = ArchiveWriter(s3, bucket, ArchivePolicy("COMPLIANCE", 20, legal_hold=True), part_size=PART)
    result = archive(w, "v/obj", data)
    check = w.verify("v/obj", result.version_id, hashlib.sha256(data).hexdigest())
    assert check.ok and check.problems == ()
    assert (check.size, check.sha256_hex) == (size, hashlib.sha256(data).hexdigest())
    assert (check.lock_mode, check.retain_until, check.legal_hold) == (
        "COMPLIANCE",
        result.retain_until,
        True,
    )
    assert check.crc64nvme == result.crc64nvme


def test_verify_reports_wrong_expected_digest(s3: S3Client, bucket: str) -> None:
    w = ArchiveWriter(s3, bucket, ArchivePolicy("COMPLIANCE", 20))
    result = archive(w, "v/obj", payload(500))
    check = w.verify("v/obj", result.version_id, "0" * 64)
    assert not check.ok and any("expected" in p for p in check.problems)


def test_verify_reports_missing_version(s3: S3Client, bucket: str) -> None:
    w = ArchiveWriter(s3, bucket, ArchivePolicy("COMPLIANCE", 20))
    result = archive(w, "v/obj", payload(500))
    for key, version in (("v/none", result.version_id), ("v/obj", "00000000-0000-0000-0000-000000000000")):
        check = w.verify(key, version, "0" * 64)
        assert not check.ok and check.problems == ("object version missing",)


def test_verify_reports_retention_weaker_than_policy(s3: S3Client, bucket: str) -> None:
    data = payload(500)
    short = ArchiveWriter(s3, bucket, ArchivePolicy("GOVERNANCE", 2))
    result = archive(short, "v/obj", data)
    strict = ArchiveWriter(s3, bucket, ArchivePolicy("COMPLIANCE", 2))
    longer = ArchiveWriter(s3, bucket, ArchivePolicy("GOVERNANCE", 30))
    sha = hashlib.sha256(data).hexdigest()
    assert short.verify("v/obj", result.version_id, sha).ok
    for auditor in (strict, longer):
        check = auditor.verify("v/obj", result.version_id, sha)
        assert not check.ok and any("retention" in p for p in check.problems)


def test_verify_reports_tampered_metadata_and_unlocked_bucket(s3: S3Client, unlocked_bucket: str) -> None:
    """An object someone wrote by hand, claiming a digest its bytes do not have."""
    data = payload(800)
    claimed = hashlib.sha256(b"other bytes").hexdigest()
    version = s3.put_object(
        Bucket=unlocked_bucket,
        Key="v/forged",
        Body=data,
        Metadata={"sha256": claimed},
        ChecksumAlgorithm="CRC64NVME",
    )["VersionId"]
    w = ArchiveWriter(s3, unlocked_bucket, ArchivePolicy("COMPLIANCE", 2, allow_unlocked_bucket=True))
    check = w.verify("v/forged", version, claimed)
    assert not check.ok
    assert check.sha256_hex == hashlib.sha256(data).hexdigest()
    assert any("sha256 of the bytes" in p for p in check.problems)
    assert any("metadata" in p for p in check.problems)
    assert "bucket has no Object Lock" in check.problems


def test_verify_reports_object_without_crc64nvme(s3: S3Client, unlocked_bucket: str) -> None:
    data = payload(800)
    sha = hashlib.sha256(data).hexdigest()
    # Written by another tool with a CRC32 checksum: S3 has no CRC64NVME to compare with.
    version = s3.put_object(
        Bucket=unlocked_bucket, Key="v/crc32", Body=data, Metadata={"sha256": sha}, ChecksumAlgorithm="CRC32"
    )["VersionId"]
    w = ArchiveWriter(s3, unlocked_bucket, ArchivePolicy("COMPLIANCE", 2, allow_unlocked_bucket=True))
    check = w.verify("v/crc32", version, sha)
    assert "S3 reports no CRC64NVME checksum" in check.problems
    assert not any("sha256" in p for p in check.problems)
