"""Re-read an archived version and prove it: bytes re-hashed (streaming), checksums and
lock compared with what the archive promised. Used by ``meet-archive audit verify``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from awscrt import checksums
from botocore.exceptions import BotoCoreError, ClientError, FlexibleChecksumError

from meet_core.archive.client import S3Client, error_code
from meet_core.archive.digest import crc_b64
from meet_core.archive.errors import ArchiveError
from meet_core.archive.lock import ArchivePolicy, read_legal_hold

_READ_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class VerifyResult:
    key: str
    version_id: str
    ok: bool
    problems: tuple[str, ...]
    size: int | None
    sha256_hex: str | None  # of the bytes actually read back
    crc64nvme: str | None  # as S3 reports it
    lock_mode: str | None
    retain_until: datetime | None
    legal_hold: bool


def verify_version(
    client: S3Client,
    bucket: str,
    key: str,
    version_id: str,
    expected_sha256: str,
    policy: ArchivePolicy,
    locked: bool,
) -> VerifyResult:
    """Problems are reported in the result; only an unreachable S3 raises ArchiveError."""
    problems: list[str] = []
    try:
        head = client.head_object(Bucket=bucket, Key=key, VersionId=version_id, ChecksumMode="ENABLED")
    except (ClientError, BotoCoreError) as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NoSuchVersion", "NotFound", "400"):
            return VerifyResult(
                key, version_id, False, ("object version missing",), None, None, None, None, None, False
            )
        raise ArchiveError(f"cannot read {key!r} version {version_id}: {exc}") from exc

    sha256, crc, size = hashlib.sha256(), 0, 0
    try:
        # botocore also validates S3's full-object CRC while reading (response checksum
        # validation); the CRC is computed here too, to report it and to compare with HEAD.
        body = client.get_object(Bucket=bucket, Key=key, VersionId=version_id)["Body"]
        for chunk in body.iter_chunks(_READ_CHUNK):
            sha256.update(chunk)
            crc = checksums.crc64nvme(chunk, crc)
            size += len(chunk)
    except FlexibleChecksumError as exc:
        problems.append(f"S3 checksum validation failed while reading: {exc}")
    except (ClientError, BotoCoreError) as exc:
        raise ArchiveError(f"cannot read {key!r} version {version_id}: {exc}") from exc

    actual = sha256.hexdigest()
    if actual != expected_sha256.lower():
        problems.append(f"sha256 of the bytes {actual} != expected {expected_sha256}")
    if head.get("Metadata", {}).get("sha256") != actual:
        problems.append(f"sha256 metadata {head.get('Metadata', {}).get('sha256')} != bytes {actual}")
    if size != head.get("ContentLength"):
        problems.append(f"read {size} bytes, S3 reports {head.get('ContentLength')}")
    stored_crc = head.get("ChecksumCRC64NVME")
    if stored_crc is None:
        problems.append("S3 reports no CRC64NVME checksum")
    elif head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT" and stored_crc != crc_b64(crc):
        problems.append(f"CRC64NVME of the bytes {crc_b64(crc)} != S3's {stored_crc}")

    mode, until = head.get("ObjectLockMode"), head.get("ObjectLockRetainUntilDate")
    legal_hold = read_legal_hold(client, bucket, key, version_id) if locked else False
    if locked and not policy.satisfied_by(mode, until, head["LastModified"]):
        problems.append(
            f"retention {mode} until {until} is weaker than {policy.mode} for {policy.retention_days} days"
        )
    if not locked:
        problems.append("bucket has no Object Lock")
    return VerifyResult(
        key=key,
        version_id=version_id,
        ok=not problems,
        problems=tuple(problems),
        size=size,
        sha256_hex=actual,
        crc64nvme=stored_crc,
        lock_mode=mode,
        retain_until=until,
        legal_hold=legal_hold,
    )
