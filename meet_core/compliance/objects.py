"""Look at archived objects in S3 without reading their bytes: the archived version is
there with the recorded size, SHA-256 metadata, CRC64NVME and a retention no shorter than
the policy, and the key still serves that version (not overwritten, not deleted).

``meet-archive audit verify`` goes further and re-hashes the bytes (meet_core.archive.verify).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from meet_core.archive import ArchiveError, ArchivePolicy
from meet_core.archive.client import S3Client, error_code
from meet_core.compliance.rules import CHECK_CHECKSUM, CHECK_MISSING, CHECK_OK, CHECK_UNLOCKED
from meet_core.db.models import ArchiveManifestEntry, ManifestState, ObjectCheck

MISSING_CODES = ("404", "NoSuchKey", "NoSuchVersion", "NotFound", "400", "405", "MethodNotAllowed")
SEVERITY = (CHECK_MISSING, CHECK_CHECKSUM, CHECK_UNLOCKED)


@dataclass(frozen=True, slots=True)
class ArchivedRef:
    """What the manifest promises about one archived object."""

    manifest_id: int
    bucket: str
    key: str
    version_id: str
    size: int | None
    sha256: str | None
    s3_checksum: str | None  # "CRC64NVME:<base64>"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}?versionId={self.version_id}"


@dataclass(frozen=True, slots=True)
class ObjectLook:
    ref: ArchivedRef
    outcome: str
    problems: tuple[str, ...]

    @property
    def problem(self) -> str | None:
        return "; ".join(self.problems) or None


def _head(client: S3Client, bucket: str, key: str, version_id: str | None) -> dict[str, Any] | None:
    params: dict[str, Any] = {"Bucket": bucket, "Key": key, "ChecksumMode": "ENABLED"}
    if version_id is not None:
        params["VersionId"] = version_id
    try:
        return client.head_object(**params)
    except (ClientError, BotoCoreError) as exc:
        if error_code(exc) in MISSING_CODES:
            return None
        raise ArchiveError(f"cannot read s3://{bucket}/{key}: {exc}") from exc


def current_version_problem(client: S3Client, ref: ArchivedRef) -> str | None:
    """None when the key's current version is the archived one."""
    current = _head(client, ref.bucket, ref.key, None)
    if current is None:
        return "deleted: the key serves nothing (a delete marker hides the archived version)"
    if (current.get("VersionId") or "null") != ref.version_id:
        return (
            f"overwritten: the key serves version {current.get('VersionId')}, "
            f"not the archived {ref.version_id}"
        )
    return None


def look_at(client: S3Client, ref: ArchivedRef, policy: ArchivePolicy) -> ObjectLook:
    """Problems are reported; an S3 that cannot be reached raises ArchiveError."""
    head = _head(client, ref.bucket, ref.key, ref.version_id)
    if head is None:
        return ObjectLook(ref, CHECK_MISSING, (f"archived version {ref.version_id} is missing",))
    found: dict[str, list[str]] = {CHECK_MISSING: [], CHECK_CHECKSUM: [], CHECK_UNLOCKED: []}
    if (problem := current_version_problem(client, ref)) is not None:
        found[CHECK_MISSING].append(problem)
    if ref.size is not None and head.get("ContentLength") != ref.size:
        found[CHECK_CHECKSUM].append(f"size {head.get('ContentLength')} != recorded {ref.size}")
    stored_sha = head.get("Metadata", {}).get("sha256")
    if ref.sha256 and stored_sha != ref.sha256:
        found[CHECK_CHECKSUM].append(f"sha256 metadata {stored_sha} != recorded {ref.sha256}")
    if ref.s3_checksum and ref.s3_checksum.startswith("CRC64NVME:"):
        stored_crc = head.get("ChecksumCRC64NVME")
        if stored_crc != ref.s3_checksum.removeprefix("CRC64NVME:"):
            found[CHECK_CHECKSUM].append(f"CRC64NVME {stored_crc} != recorded {ref.s3_checksum}")
    mode, until = head.get("ObjectLockMode"), head.get("ObjectLockRetainUntilDate")
    if not policy.satisfied_by(mode, until, head["LastModified"]):
        found[CHECK_UNLOCKED].append(
            f"retention {mode} until {until} is weaker than {policy.mode} "
            f"for {policy.retention_days} days"
        )
    problems = tuple(p for kind in SEVERITY for p in found[kind])
    outcome = next((kind for kind in SEVERITY if found[kind]), CHECK_OK)
    return ObjectLook(ref, outcome, problems)


def archived_refs(
    session: Session, *, day: str | None = None, meeting_ids: Sequence[str] | None = None
) -> list[ArchivedRef]:
    m = ArchiveManifestEntry
    query = select(
        m.id, m.bucket, m.object_key, m.version_id, m.size, m.sha256, m.s3_checksum
    ).where(m.state == ManifestState.ARCHIVED)
    if day is not None:
        query = query.where(m.partition_date == day)
    if meeting_ids is not None:
        query = query.where(m.meeting_id.in_(list(meeting_ids)))
    refs = []
    for r in session.execute(query.order_by(m.id)):
        refs.append(
            ArchivedRef(
                r.id,
                r.bucket or "",
                r.object_key or "",
                r.version_id or "",
                r.size,
                r.sha256,
                r.s3_checksum,
            )
        )
    return refs


def look_at_all(
    client: S3Client, refs: Sequence[ArchivedRef], policy: ArchivePolicy, *, workers: int = 8
) -> list[ObjectLook]:
    def one(ref: ArchivedRef) -> ObjectLook:
        if not (ref.bucket and ref.key and ref.version_id):
            return ObjectLook(ref, CHECK_MISSING, ("no S3 location recorded",))
        return look_at(client, ref, policy)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="s3-look") as pool:
        return list(pool.map(one, refs))


def record_looks(session: Session, looks: Sequence[ObjectLook], now: datetime) -> None:
    """Keep the latest look per manifest row in compliance_object_checks."""
    if not looks:
        return
    ids = [look.ref.manifest_id for look in looks]
    session.execute(delete(ObjectCheck).where(ObjectCheck.manifest_id.in_(ids)))
    session.execute(
        insert(ObjectCheck),
        [
            {
                "manifest_id": look.ref.manifest_id,
                "checked_at": now,
                "outcome": look.outcome,
                "problem": look.problem,
            }
            for look in looks
        ],
    )
    session.flush()
