"""Digests of the audit chain, in the manner of CloudTrail log file validation.

Each digest covers the segment of ``audit_events`` appended since the previous digest:
first and last sequence, the hash the segment starts from, the last event's hash (which
commits to every earlier event through the chain), the count, and the previous digest's
hash, so digests form a chain of their own. The JSON document carries its own SHA-256 over
its canonical content; it is written to S3 under Object Lock (retention read back) and
recorded in ``compliance_digests``. Rewriting the database chain afterwards, however
carefully, no longer matches the locked digests.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive import (
    ArchiveConflict,
    ArchivedObject,
    ArchiveError,
    ArchiveWriter,
    object_key,
)
from meet_core.audit import GENESIS_HASH, event_hash, iter_events
from meet_core.db.models import AuditDigest, AuditEvent

DIGEST_FORMAT = "meet-archive-audit-digest/1"
DIGEST_FOLDER = "audit-digests"
HEX = frozenset("0123456789abcdef")


class DigestError(Exception):
    """A digest cannot be written: the chain segment does not verify, or S3 failed."""


def _sha256_hex(value: object, name: str) -> str:
    if not isinstance(value, str) or len(value) != 64 or not set(value) <= HEX:
        raise ValueError(f"{name}: expected 64 lowercase hex digits, got {value!r}")
    return value


def _whole(value: object, name: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name}: expected a whole number >= {minimum}, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class DigestContent:
    number: int
    first_seq: int
    last_seq: int
    event_count: int
    first_prev_hash: str
    last_hash: str
    previous_digest_hash: str
    created_at: str  # ISO 8601 UTC, "Z"
    format: str = DIGEST_FORMAT

    def __post_init__(self) -> None:
        _whole(self.number, "number", 1)
        _whole(self.first_seq, "first_seq", 1)
        _whole(self.last_seq, "last_seq", self.first_seq)
        if _whole(self.event_count, "event_count", 1) != self.last_seq - self.first_seq + 1:
            raise ValueError("event_count does not match first_seq..last_seq")
        for name in ("first_prev_hash", "last_hash", "previous_digest_hash"):
            _sha256_hex(getattr(self, name), name)
        if self.format != DIGEST_FORMAT:
            raise ValueError(f"format: expected {DIGEST_FORMAT!r}, got {self.format!r}")
        try:
            datetime.fromisoformat(self.created_at.replace("Z", "+00:00"))
        except (AttributeError, ValueError):
            raise ValueError(
                f"created_at: expected an ISO 8601 time, got {self.created_at!r}"
            ) from None

    def canonical_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()

    @property
    def digest_hash(self) -> str:
        return hashlib.sha256(self.canonical_bytes()).hexdigest()

    def document(self) -> bytes:
        """What is stored in S3: the content plus its own hash, pretty for people."""
        return (
            json.dumps({**asdict(self), "digest_hash": self.digest_hash}, sort_keys=True, indent=2)
            + "\n"
        ).encode()


def parse_document(data: bytes) -> tuple[DigestContent, str]:
    """(content, the hash the document claims); ValueError for anything malformed."""
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"digest document is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError("digest document is not a JSON object")
    claimed = _sha256_hex(raw.pop("digest_hash", None), "digest_hash")
    expected = {f for f in DigestContent.__dataclass_fields__}
    if set(raw) != expected:
        raise ValueError(f"digest document fields {sorted(raw)} != {sorted(expected)}")
    return DigestContent(**raw), claimed


def digest_key(prefix: str, number: int) -> str:
    return object_key(prefix, DIGEST_FOLDER, f"{number:012d}.json")


def content_of_row(row: AuditDigest) -> DigestContent:
    return DigestContent(
        number=row.number,
        first_seq=row.first_seq,
        last_seq=row.last_seq,
        event_count=row.event_count,
        first_prev_hash=row.first_prev_hash,
        last_hash=row.last_hash,
        previous_digest_hash=row.previous_digest_hash,
        created_at=row.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )


def last_digest(session: Session) -> AuditDigest | None:
    return session.scalar(select(AuditDigest).order_by(AuditDigest.number.desc()).limit(1))


def verify_segment(session: Session, after_seq: int, start_hash: str, last_seq: int) -> None:
    """Recompute the links of events after_seq+1..last_seq; DigestError at the first break."""
    expected_seq, previous = after_seq + 1, start_hash
    for event in iter_events(session, after_seq=after_seq):
        if event.seq > last_seq:
            break
        if event.seq != expected_seq:
            raise DigestError(f"audit chain: expected seq {expected_seq}, found {event.seq}")
        if event.prev_hash != previous or event_hash(event) != event.hash:
            raise DigestError(f"audit chain does not verify at seq {event.seq}; no digest written")
        expected_seq, previous = event.seq + 1, event.hash
    if expected_seq != last_seq + 1:
        raise DigestError(f"audit chain ends at seq {expected_seq - 1}, expected {last_seq}")


def next_digest(session: Session, now: datetime) -> DigestContent | None:
    """The digest of events appended since the last digest, or None if there are none.
    The segment is verified first: a tampered chain is never enshrined in a digest."""
    previous = last_digest(session)
    after_seq = previous.last_seq if previous else 0
    start_hash = previous.last_hash if previous else GENESIS_HASH
    last_seq, count = session.execute(
        select(func.max(AuditEvent.seq), func.count()).where(AuditEvent.seq > after_seq)
    ).one()
    if not count:
        return None
    verify_segment(session, after_seq, start_hash, last_seq)
    last_hash = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == last_seq))
    return DigestContent(
        number=(previous.number + 1) if previous else 1,
        first_seq=after_seq + 1,
        last_seq=last_seq,
        event_count=count,
        first_prev_hash=start_hash,
        last_hash=str(last_hash),
        previous_digest_hash=previous.digest_hash if previous else GENESIS_HASH,
        created_at=now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )


@dataclass(frozen=True, slots=True)
class WrittenDigest:
    content: DigestContent
    uri: str
    version_id: str
    retain_until: datetime | None
    adopted: bool  # found in S3 from an interrupted earlier run, recorded now


def _record(
    sessions: sessionmaker[Session],
    content: DigestContent,
    writer: ArchiveWriter,
    key: str,
    stored: ArchivedObject,
) -> None:
    with sessions.begin() as session:
        session.add(
            AuditDigest(
                number=content.number,
                first_seq=content.first_seq,
                last_seq=content.last_seq,
                event_count=content.event_count,
                first_prev_hash=content.first_prev_hash,
                last_hash=content.last_hash,
                previous_digest_hash=content.previous_digest_hash,
                digest_hash=content.digest_hash,
                created_at=datetime.fromisoformat(content.created_at.replace("Z", "+00:00")),
                bucket=writer.bucket,
                object_key=key,
                version_id=stored.version_id,
                lock_mode=stored.lock_mode,
                retain_until=stored.retain_until,
            )
        )


def _adopt(
    sessions: sessionmaker[Session], writer: ArchiveWriter, key: str, wanted: DigestContent
) -> tuple[DigestContent, ArchivedObject]:
    """The key already holds a digest: an earlier run wrote it and stopped before recording
    it. Record it if it continues the recorded digests and matches the chain, else refuse."""
    try:
        body = writer.client.get_object(Bucket=writer.bucket, Key=key)["Body"].read()
        found, claimed = parse_document(body)
        stored = writer.find_existing(key, hashlib.sha256(body).hexdigest())
    except (ClientError, BotoCoreError, ArchiveError, ValueError) as exc:
        raise DigestError(f"digest {key!r} exists in S3 but cannot be adopted: {exc}") from exc
    if claimed != found.digest_hash or stored is None:
        raise DigestError(f"digest {key!r} in S3 does not match its own hash")
    same_start = (
        found.number,
        found.first_seq,
        found.first_prev_hash,
        found.previous_digest_hash,
    ) == (wanted.number, wanted.first_seq, wanted.first_prev_hash, wanted.previous_digest_hash)
    if not same_start or found.last_seq > wanted.last_seq:
        raise DigestError(f"digest {key!r} in S3 does not continue the recorded digests")
    with sessions() as session:
        last_hash = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == found.last_seq))
    if last_hash != found.last_hash:
        raise DigestError(f"digest {key!r} in S3 disagrees with audit event {found.last_seq}")
    return found, stored


def write_digests(
    sessions: sessionmaker[Session],
    writer: ArchiveWriter,
    *,
    prefix: str,
    now: datetime,
    limit: int = 5,
) -> list[WrittenDigest]:
    """Write the next digest (adopting, first, one that an interrupted run left in S3 without
    its row). Nothing is recorded before S3 confirmed the object and its retention."""
    written: list[WrittenDigest] = []
    for _ in range(limit):
        with sessions() as session:
            content = next_digest(session, now)
        if content is None:
            break
        key = digest_key(prefix, content.number)
        document = content.document()
        adopted = False
        try:
            stored = writer.archive_stream(
                key,
                [document],
                expected_size=len(document),
                expected_sha256=hashlib.sha256(document).hexdigest(),
                content_type="application/json",
                metadata={"digest-number": str(content.number), "digest-hash": content.digest_hash},
            )
        except ArchiveConflict:
            content, stored = _adopt(sessions, writer, key, content)
            adopted = True
        except ArchiveError as exc:
            raise DigestError(f"writing digest {content.number} to S3 failed: {exc}") from exc
        _record(sessions, content, writer, key, stored)
        written.append(
            WrittenDigest(
                content,
                f"s3://{writer.bucket}/{key}",
                stored.version_id,
                stored.retain_until,
                adopted,
            )
        )
        if not adopted:
            break
    return written
