"""Object Lock policy and the read-back that proves an archived version is protected.

Real S3 applies the retention sent with the upload; moto ignores it on multipart uploads.
Either way the writer reads the lock back and applies ``put_object_retention`` only where
it is missing or short - it never shortens or weakens a lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from meet_core.archive.client import S3Client, error_code
from meet_core.archive.errors import ArchiveError
from meet_core.settings import LOCK_MODES, Settings

# Retention is counted in days from the archive time; an upload that took hours, or an
# object archived by an earlier run, must not be re-extended over those hours.
RETENTION_GRACE = timedelta(days=1)


def utc_now_seconds() -> datetime:
    """Now, in UTC, to the second (S3 stores retain-until dates to the second)."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class ArchivePolicy:
    mode: str
    retention_days: int
    legal_hold: bool = False
    allow_unlocked_bucket: bool = False

    def __post_init__(self) -> None:
        if self.mode not in LOCK_MODES:
            raise ValueError(f"mode: expected one of {LOCK_MODES}, got {self.mode!r}")
        if not isinstance(self.retention_days, int) or not 1 <= self.retention_days <= 36500:
            raise ValueError(f"retention_days: expected 1..36500, got {self.retention_days!r}")

    @classmethod
    def from_settings(cls, settings: Settings, *, legal_hold: bool = False) -> ArchivePolicy:
        return cls(
            mode=settings.object_lock_mode,
            retention_days=settings.retention_days,
            legal_hold=legal_hold,
            allow_unlocked_bucket=settings.allow_unlocked_bucket,
        )

    def retain_until(self, reference: datetime) -> datetime:
        return reference.astimezone(UTC).replace(microsecond=0) + timedelta(days=self.retention_days)

    def satisfied_by(self, mode: str | None, until: datetime | None, reference: datetime) -> bool:
        """Is a lock ``mode``/``until`` at least as strong as this policy asks?"""
        if mode is None or until is None:
            return False
        if self.mode == "COMPLIANCE" and mode != "COMPLIANCE":
            return False
        return until >= self.retain_until(reference) - RETENTION_GRACE


@dataclass(frozen=True, slots=True)
class LockState:
    mode: str | None
    retain_until: datetime | None
    legal_hold: bool


def head_version(client: S3Client, bucket: str, key: str, version_id: str) -> dict[str, Any]:
    try:
        return client.head_object(Bucket=bucket, Key=key, VersionId=version_id, ChecksumMode="ENABLED")
    except (ClientError, BotoCoreError) as exc:
        raise ArchiveError(f"cannot read s3://{bucket}/{key}?versionId={version_id}: {exc}") from exc


def read_legal_hold(client: S3Client, bucket: str, key: str, version_id: str) -> bool:
    try:
        answer = client.get_object_legal_hold(Bucket=bucket, Key=key, VersionId=version_id)
    except (ClientError, BotoCoreError) as exc:
        if error_code(exc) == "NoSuchObjectLockConfiguration":  # never set: off
            return False
        raise ArchiveError(f"cannot read the legal hold of {key!r}: {exc}") from exc
    return answer.get("LegalHold", {}).get("Status") == "ON"


def write_legal_hold(client: S3Client, bucket: str, key: str, version_id: str, on: bool) -> None:
    """Set the legal hold and read it back; raise unless S3 confirms it."""
    try:
        client.put_object_legal_hold(
            Bucket=bucket, Key=key, VersionId=version_id, LegalHold={"Status": "ON" if on else "OFF"}
        )
    except (ClientError, BotoCoreError) as exc:
        raise ArchiveError(f"cannot set the legal hold of {key!r}: {exc}") from exc
    if read_legal_hold(client, bucket, key, version_id) != on:
        raise ArchiveError(f"legal hold of {key!r} version {version_id} not confirmed by S3")


def ensure_lock(
    client: S3Client, bucket: str, key: str, version_id: str, policy: ArchivePolicy, reference: datetime
) -> tuple[dict[str, Any], LockState]:
    """Make the version's lock satisfy ``policy`` (counted from ``reference``) and return the
    head that proves it, read back after any change."""
    head = head_version(client, bucket, key, version_id)
    mode, until = head.get("ObjectLockMode"), head.get("ObjectLockRetainUntilDate")
    if not policy.satisfied_by(mode, until, reference):
        wanted = policy.retain_until(reference)
        retention = {
            # Never weaken: a COMPLIANCE lock stays COMPLIANCE, a later date stays later.
            "Mode": "COMPLIANCE" if mode == "COMPLIANCE" else policy.mode,
            "RetainUntilDate": max(until, wanted) if until is not None else wanted,
        }
        try:
            client.put_object_retention(Bucket=bucket, Key=key, VersionId=version_id, Retention=retention)
        except (ClientError, BotoCoreError) as exc:
            raise ArchiveError(f"cannot set retention on {key!r} version {version_id}: {exc}") from exc
        head = head_version(client, bucket, key, version_id)
        mode, until = head.get("ObjectLockMode"), head.get("ObjectLockRetainUntilDate")
        if not policy.satisfied_by(mode, until, reference):
            raise ArchiveError(f"retention of {key!r} version {version_id} not confirmed: {mode} {until}")
    legal_hold = read_legal_hold(client, bucket, key, version_id)
    if policy.legal_hold and not legal_hold:
        write_legal_hold(client, bucket, key, version_id, True)
        legal_hold = True
    retain_until = until.astimezone(UTC) if until is not None else None
    return head, LockState(mode=mode, retain_until=retain_until, legal_hold=legal_hold)
