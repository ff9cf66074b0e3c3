"""ArchiveWriter: stream bytes into S3 under Object Lock, verified end to end.

A stream becomes a single ``put_object`` when it fits in one part, else a multipart upload
whose parts go up concurrently while SHA-256 (and MD5) are computed in order. Nothing is
completed until size and digests match what the source promised, every upload uses
``If-None-Match: *`` so a key never gets a second version, and no ArchivedObject is returned
before its retention has been read back from S3.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from meet_core.archive.client import S3Client, bucket_has_object_lock, error_code
from meet_core.archive.digest import Expected, StreamDigest, combine_crc64nvme, crc64nvme, crc_b64
from meet_core.archive.errors import ArchiveConflict, ArchiveError, ChecksumMismatch
from meet_core.archive.keys import check_bucket, check_content_type, check_key, check_metadata
from meet_core.archive.lock import (
    ArchivePolicy,
    LockState,
    ensure_lock,
    head_version,
    read_legal_hold,
    utc_now_seconds,
    write_legal_hold,
)
from meet_core.archive.multipart import (
    MAX_PART_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    Part,
    PartBody,
    PartUploader,
    abort_stale_uploads,
    abort_upload,
    abort_uploads_of,
    iter_parts,
    prepend,
)
from meet_core.archive.verify import VerifyResult, verify_version

RESERVED_METADATA = frozenset({"sha256", "md5"})


@dataclass(frozen=True, slots=True)
class ArchivedObject:
    bucket: str
    key: str
    version_id: str
    size: int
    sha256_hex: str
    crc64nvme: str | None  # base64, as S3 reports it
    etag: str
    retain_until: datetime | None  # None only on an allowed unlocked bucket
    lock_mode: str | None
    legal_hold: bool
    already_existed: bool

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class ArchiveWriter:
    def __init__(
        self,
        client: S3Client,
        bucket: str,
        policy: ArchivePolicy,
        *,
        part_size: int = 16 * 2**20,
        max_concurrency: int = 4,
    ) -> None:
        if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
            raise ValueError(f"part_size must be between {MIN_PART_SIZE} and {MAX_PART_SIZE}")
        if not 1 <= max_concurrency <= 64:
            raise ValueError("max_concurrency must be between 1 and 64")
        self.client, self.bucket, self.policy = client, check_bucket(bucket), policy
        self.part_size, self.max_concurrency = part_size, max_concurrency
        self.locked = bucket_has_object_lock(client, bucket)
        if not self.locked and not policy.allow_unlocked_bucket:
            raise ArchiveError(f"bucket {bucket!r} has no Object Lock; refusing to archive into it")

    # -- public API --------------------------------------------------------------------

    def archive_stream(
        self,
        key: str,
        chunks: Iterable[bytes],
        *,
        expected_size: int | None,
        expected_sha256: str | None = None,
        expected_md5: str | None = None,
        content_type: str,
        metadata: dict[str, str],
    ) -> ArchivedObject:
        key = check_key(key)
        content_type = check_content_type(content_type)
        user_metadata = check_metadata(metadata, RESERVED_METADATA)
        expected = Expected.parse(expected_size, expected_sha256, expected_md5)
        if expected.sha256 is not None and (existing := self.find_existing(key, expected.sha256)):
            return existing
        started = utc_now_seconds()
        parts = iter_parts(chunks, self._part_size_for(expected.size))
        try:
            lookahead = [next(parts)]  # a list, so parts are dropped once handed over
            following = next(parts, None)
        except Exception as exc:
            raise ArchiveError(f"reading the source of {key!r} failed: {exc!r}") from exc
        if following is None:
            return self._put_single(key, lookahead.pop(), expected, content_type, user_metadata, started)
        if expected.sha256 is None:
            # S3 metadata is fixed when a multipart upload starts, so the SHA-256 must be known.
            raise ArchiveError(f"{key!r} spans several parts: expected_sha256 is required")
        lookahead.append(following)
        del following
        return self._put_multipart(
            key, prepend(lookahead, parts), expected, content_type, user_metadata, started
        )

    def find_existing(self, key: str, expected_sha256: str) -> ArchivedObject | None:
        """The current version at ``key`` if its ``sha256`` metadata matches (its lock made
        to satisfy the policy); None if there is none; ArchiveConflict if it differs."""
        key = check_key(key)
        expected_sha256 = Expected.parse(None, expected_sha256, None).sha256 or ""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise ArchiveError(f"cannot look up {key!r}: {exc}") from exc
        found = head.get("Metadata", {}).get("sha256")
        if found != expected_sha256:
            raise ArchiveConflict(f"{key!r} holds sha256 {found}, not {expected_sha256}")
        return self._finalize(
            key, head.get("VersionId") or "null", head["LastModified"], already_existed=True
        )

    def verify(self, key: str, version_id: str, expected_sha256: str) -> VerifyResult:
        return verify_version(
            self.client, self.bucket, check_key(key), version_id, expected_sha256, self.policy, self.locked
        )

    def set_legal_hold(self, key: str, version_id: str, on: bool) -> None:
        if not self.locked:
            raise ArchiveError(f"bucket {self.bucket!r} has no Object Lock: no legal hold possible")
        write_legal_hold(self.client, self.bucket, check_key(key), version_id, on)

    def abort_stale_uploads(self, prefix: str, older_than: timedelta, *, now: datetime | None = None) -> int:
        return abort_stale_uploads(self.client, self.bucket, prefix, older_than, now=now)

    def abort_uploads_of(self, key: str) -> int:
        """Abort leftover uploads of ``key``; call only while holding that key exclusively."""
        return abort_uploads_of(self.client, self.bucket, key)

    # -- uploads -----------------------------------------------------------------------

    def _part_size_for(self, expected_size: int | None) -> int:
        if expected_size is None or math.ceil(expected_size / self.part_size) <= MAX_PARTS:
            return self.part_size
        mib = 2**20
        return min(MAX_PART_SIZE, math.ceil(expected_size / MAX_PARTS / mib) * mib)

    def _lock_params(self, started: datetime) -> dict[str, Any]:
        if not self.locked:
            return {}
        params: dict[str, Any] = {
            "ObjectLockMode": self.policy.mode,
            "ObjectLockRetainUntilDate": self.policy.retain_until(started),
        }
        if self.policy.legal_hold:
            params["ObjectLockLegalHoldStatus"] = "ON"
        return params

    def _put_single(
        self,
        key: str,
        data: Part,
        expected: Expected,
        content_type: str,
        metadata: dict[str, str],
        started: datetime,
    ) -> ArchivedObject:
        digest = StreamDigest(with_md5=expected.md5 is not None)
        digest.update(data)
        digest.check(expected)  # nothing uploaded yet: a mismatch leaves nothing behind
        crc = crc_b64(crc64nvme(data))
        try:
            answer = self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=PartBody(data),
                ContentType=content_type,
                Metadata=self._metadata(metadata, digest),
                ChecksumAlgorithm="CRC64NVME",
                ChecksumCRC64NVME=crc,
                IfNoneMatch="*",
                **self._lock_params(started),
            )
        except (ClientError, BotoCoreError) as exc:
            if error_code(exc) == "PreconditionFailed":
                return self._existing_or_conflict(key, digest.sha256_hex)
            raise ArchiveError(f"put_object {key!r} failed: {exc}") from exc
        return self._finalize(key, answer.get("VersionId") or "null", started, False, digest.sha256_hex, crc)

    def _put_multipart(
        self,
        key: str,
        parts: Iterator[Part],
        expected: Expected,
        content_type: str,
        metadata: dict[str, str],
        started: datetime,
    ) -> ArchivedObject:
        digest = StreamDigest(with_md5=expected.md5 is not None)
        metadata = {**metadata, "sha256": expected.sha256 or ""}
        if expected.md5:
            metadata["md5"] = expected.md5
        try:
            upload_id = self.client.create_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                ContentType=content_type,
                Metadata=metadata,
                ChecksumAlgorithm="CRC64NVME",
                ChecksumType="FULL_OBJECT",
                **self._lock_params(started),
            )["UploadId"]
        except (ClientError, BotoCoreError) as exc:
            raise ArchiveError(f"create_multipart_upload {key!r} failed: {exc}") from exc
        uploader = PartUploader(self.client, self.bucket, key, upload_id, self.max_concurrency)
        try:
            number = 0
            while True:
                uploader.reserve()  # a slot before the bytes: bounds memory
                data = next(parts, None)
                if data is None:
                    uploader.release()
                    break
                number += 1
                if number > MAX_PARTS:
                    raise ArchiveError(f"{key!r} needs more than {MAX_PARTS} parts")
                digest.update(data)
                if expected.size is not None and digest.size > expected.size:
                    raise ChecksumMismatch(f"stream longer than the expected {expected.size} bytes")
                uploader.submit(number, data)
                del data  # the in-flight upload holds the only reference
            uploaded = uploader.finish()
            digest.check(expected)
            full_crc = crc_b64(combine_crc64nvme([(p.crc64nvme, p.size) for p in uploaded]))
            answer = self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                IfNoneMatch="*",
                MultipartUpload={"Parts": [p.for_complete() for p in uploaded]},
                ChecksumCRC64NVME=full_crc,
                ChecksumType="FULL_OBJECT",
            )
        except BaseException as exc:
            uploader.cancel()
            abort_error = abort_upload(self.client, self.bucket, key, upload_id)
            if abort_error is None and error_code(exc) == "PreconditionFailed":
                return self._existing_or_conflict(key, digest.sha256_hex)
            error = (
                exc
                if isinstance(exc, ArchiveError) or not isinstance(exc, Exception)
                else ArchiveError(f"multipart upload of {key!r} failed (aborted): {exc!r}")
            )
            if abort_error is not None:
                error.add_note(
                    f"abort of upload {upload_id} failed too ({abort_error}); abort_stale_uploads cleans it"
                )
            if error is exc:
                raise
            raise error from exc
        return self._finalize(
            key,
            answer.get("VersionId") or "null",
            started,
            False,
            digest.sha256_hex,
            full_crc,
        )

    @staticmethod
    def _metadata(metadata: dict[str, str], digest: StreamDigest) -> dict[str, str]:
        result = {**metadata, "sha256": digest.sha256_hex}
        if digest.md5_hex is not None:
            result["md5"] = digest.md5_hex
        return result

    def _existing_or_conflict(self, key: str, sha256_hex: str) -> ArchivedObject:
        existing = self.find_existing(key, sha256_hex)
        if existing is None:  # deleted between the precondition and the look-up
            raise ArchiveError(f"{key!r} changed while archiving; retry")
        return existing

    def _finalize(
        self,
        key: str,
        version_id: str,
        reference: datetime,
        already_existed: bool,
        sha256_hex: str | None = None,
        crc: str | None = None,
    ) -> ArchivedObject:
        """Read the version back, make its lock satisfy the policy, and describe it."""
        if self.locked:
            head, lock = ensure_lock(self.client, self.bucket, key, version_id, self.policy, reference)
        else:
            head = head_version(self.client, self.bucket, key, version_id)
            lock = LockState(None, None, False)
        stored_sha = head.get("Metadata", {}).get("sha256")
        if sha256_hex is not None and stored_sha != sha256_hex:
            raise ChecksumMismatch(
                f"{key!r} version {version_id}: stored sha256 {stored_sha} != {sha256_hex}"
            )
        stored_crc = head.get("ChecksumCRC64NVME")
        if crc is not None and stored_crc is not None and stored_crc != crc:
            # Real S3 refuses such an upload; moto does not check, so check here.
            raise ChecksumMismatch(f"{key!r} version {version_id}: S3 CRC64NVME {stored_crc} != {crc}")
        return ArchivedObject(
            bucket=self.bucket,
            key=key,
            version_id=version_id,
            size=int(head["ContentLength"]),
            sha256_hex=stored_sha or "",
            crc64nvme=stored_crc,
            etag=str(head.get("ETag", "")).strip('"'),
            retain_until=lock.retain_until,
            lock_mode=lock.mode,
            legal_hold=lock.legal_hold,
            already_existed=already_existed,
        )


__all__ = ["ArchivePolicy", "ArchivedObject", "ArchiveWriter", "VerifyResult", "read_legal_hold"]
