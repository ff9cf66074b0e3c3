"""``meet-archive audit verify``: the audit chain, every digest against it and against its
locked S3 object, and archived objects re-hashed against the manifest.

Every mismatch becomes a :class:`VerifyProblem` that names what broke (a sequence number, a
digest number, an S3 URI); the command exits non-zero when there is any.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meet_core.archive import ArchiveError, ArchivePolicy, bucket_has_object_lock
from meet_core.archive.client import S3Client, require_bucket
from meet_core.archive.verify import verify_version
from meet_core.audit import GENESIS_HASH, ChainReport, verify_chain
from meet_core.compliance.digests import DIGEST_FOLDER, content_of_row, parse_document
from meet_core.compliance.objects import ArchivedRef, current_version_problem
from meet_core.compliance.progress import Progress
from meet_core.db.models import ArchiveManifestEntry, AuditDigest, AuditEvent, ManifestState


@dataclass(frozen=True, slots=True)
class VerifyProblem:
    area: str  # "chain", "digest", "object", "s3"
    subject: str
    message: str

    def describe(self) -> str:
        return f"{self.area.upper()} {self.subject}: {self.message}"


@dataclass
class VerificationReport:
    chain: ChainReport | None = None
    digests: int = 0
    undigested_events: int = 0
    objects_checked: int = 0
    objects_archived: int = 0
    problems: list[VerifyProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [self.chain.describe()] if self.chain else []
        out.append(
            f"digests: {self.digests} checked, "
            f"{self.undigested_events} event(s) after the last digest"
        )
        out.append(f"archived objects: {self.objects_checked} of {self.objects_archived} re-hashed")
        out += [p.describe() for p in self.problems]
        out.append("VERIFIED" if self.ok else f"FAILED: {len(self.problems)} problem(s)")
        return out


class Verifier:
    def __init__(
        self,
        session: Session,
        client_factory: Callable[[], S3Client],
        policy: ArchivePolicy,
        *,
        bucket: str,
        prefix: str,
        progress: bool = True,
        s3_configured: bool = True,
    ) -> None:
        self.session, self.policy, self.bucket, self.prefix = (
            session,
            policy,
            bucket,
            prefix.strip("/"),
        )
        self.s3_configured = s3_configured  # without digests, look for orphans only if S3 is set up
        self._client_factory = client_factory
        self._client: S3Client | None = None
        self._locked: dict[str, bool] = {}
        self.progress = progress
        self.report = VerificationReport()

    @property
    def client(self) -> S3Client:
        """Made on first use, and checked then: an unreachable S3 raises S3Unavailable
        instead of turning every object into a "problem"."""
        if self._client is None:
            client = self._client_factory()
            require_bucket(client, self.bucket)
            self._client = client
        return self._client

    def problem(self, area: str, subject: str, message: str) -> None:
        self.report.problems.append(VerifyProblem(area, subject, message))

    # -- the chain ---------------------------------------------------------------------

    def check_chain(self) -> None:
        chain = verify_chain(self.session)
        self.report.chain = chain
        if not chain.ok:
            self.problem("chain", f"seq {chain.broken_seq}", chain.problem or "broken")

    # -- digests -----------------------------------------------------------------------

    def check_digests(self) -> None:
        rows = list(self.session.scalars(select(AuditDigest).order_by(AuditDigest.number)))
        self.report.digests = len(rows)
        wanted = {s for r in rows for s in (r.first_seq, r.last_seq)}
        events = (
            {
                e.seq: e
                for e in self.session.execute(
                    select(AuditEvent.seq, AuditEvent.hash, AuditEvent.prev_hash).where(
                        AuditEvent.seq.in_(wanted)
                    )
                )
            }
            if wanted
            else {}
        )
        counts = dict(
            self.session.execute(
                select(AuditDigest.number, func.count(AuditEvent.seq))
                .outerjoin(
                    AuditEvent, AuditEvent.seq.between(AuditDigest.first_seq, AuditDigest.last_seq)
                )
                .group_by(AuditDigest.number)
            ).all()
        )
        previous_hash, previous_last = GENESIS_HASH, 0
        for expected_number, row in enumerate(rows, 1):
            name = f"{row.number} (s3://{row.bucket}/{row.object_key})"
            if row.number != expected_number:
                self.problem(
                    "digest", str(expected_number), "missing from compliance_digests (row deleted?)"
                )
            self._check_digest_row(row, name, previous_hash, previous_last, events)
            if counts.get(row.number, 0) != row.event_count:
                self.problem(
                    "digest",
                    name,
                    f"covers {row.event_count} events, the chain holds "
                    f"{counts.get(row.number, 0)} in seq {row.first_seq}..{row.last_seq} "
                    "(events deleted or added)",
                )
            previous_hash, previous_last = row.digest_hash, row.last_seq
        head = self.session.scalar(select(func.max(AuditEvent.seq))) or 0
        self.report.undigested_events = max(0, head - previous_last)
        self._check_orphan_digest_objects(rows)

    def _check_digest_row(
        self,
        row: AuditDigest,
        name: str,
        previous_hash: str,
        previous_last: int,
        events: dict[int, Any],
    ) -> None:
        try:
            content = content_of_row(row)
        except ValueError as exc:
            self.problem("digest", name, f"row is malformed: {exc}")
            return
        if content.digest_hash != row.digest_hash:
            self.problem("digest", name, "row content does not match its digest_hash (row edited)")
        if row.previous_digest_hash != previous_hash:
            self.problem("digest", name, "previous_digest_hash does not match the previous digest")
        if row.first_seq != previous_last + 1:
            self.problem(
                "digest", name, f"starts at seq {row.first_seq}, expected {previous_last + 1}"
            )
        last, first = events.get(row.last_seq), events.get(row.first_seq)
        if last is None or first is None:
            self.problem(
                "digest",
                name,
                f"audit events {row.first_seq}..{row.last_seq} are missing from the chain",
            )
        else:
            if last.hash != row.last_hash:
                self.problem(
                    "digest",
                    name,
                    f"audit event seq {row.last_seq} has hash {last.hash}, "
                    f"the digest says {row.last_hash} (chain rewritten, or this digest altered)",
                )
            if first.prev_hash != row.first_prev_hash:
                self.problem(
                    "digest",
                    name,
                    f"audit event seq {row.first_seq} does not start from the digested hash",
                )
        self._check_digest_object(row, name, content.digest_hash)

    def _check_digest_object(self, row: AuditDigest, name: str, row_hash: str) -> None:
        try:
            body = self.client.get_object(
                Bucket=row.bucket, Key=row.object_key, VersionId=row.version_id
            )["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            self.problem("digest", name, f"object version {row.version_id} cannot be read: {exc}")
            return
        try:
            stored, claimed = parse_document(body)
        except ValueError as exc:
            self.problem("digest", name, f"object is not a valid digest: {exc}")
            return
        if claimed != stored.digest_hash:
            self.problem(
                "digest", name, "object content does not match its own digest_hash (object edited)"
            )
        if stored.digest_hash != row_hash or stored != content_of_row(row):
            self.problem("digest", name, "object and compliance_digests row disagree")
        self._check_current_and_lock(
            ArchivedRef(0, row.bucket, row.object_key, row.version_id, None, None, None),
            "digest",
            name,
        )

    def _check_current_and_lock(self, ref: ArchivedRef, area: str, name: str) -> None:
        try:
            if (problem := current_version_problem(self.client, ref)) is not None:
                self.problem(area, name, problem)
            head = self.client.head_object(Bucket=ref.bucket, Key=ref.key, VersionId=ref.version_id)
        except (ClientError, BotoCoreError, ArchiveError) as exc:
            self.problem(area, name, f"cannot read the object's lock: {exc}")
            return
        mode, until = head.get("ObjectLockMode"), head.get("ObjectLockRetainUntilDate")
        if not self.policy.satisfied_by(mode, until, head["LastModified"]):
            self.problem(area, name, f"retention {mode} until {until} is weaker than the policy")

    def _check_orphan_digest_objects(self, rows: list[AuditDigest]) -> None:
        recorded = {(r.bucket, r.object_key) for r in rows}
        buckets = {r.bucket for r in rows} | (
            {self.bucket} if rows or self.s3_configured else set()
        )
        folder = "/".join(p for p in (self.prefix, DIGEST_FOLDER) if p) + "/"
        for bucket in sorted(buckets):
            try:
                pages = self.client.get_paginator("list_object_versions").paginate(
                    Bucket=bucket, Prefix=folder
                )
                keys = {
                    v["Key"]
                    for page in pages
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                }
            except (ClientError, BotoCoreError) as exc:
                if rows or bucket != self.bucket:
                    self.problem(
                        "s3", f"s3://{bucket}/{folder}", f"cannot list digest objects: {exc}"
                    )
                continue
            for key in sorted(keys - {k for b, k in recorded if b == bucket}):
                self.problem(
                    "digest",
                    f"s3://{bucket}/{key}",
                    "digest object has no row in compliance_digests (row deleted?)",
                )

    # -- archived objects --------------------------------------------------------------

    def check_objects(self, *, sample: int | None, rng: random.Random | None = None) -> None:
        m = ArchiveManifestEntry
        ids = list(
            self.session.scalars(
                select(m.id).where(m.state == ManifestState.ARCHIVED).order_by(m.id)
            )
        )
        self.report.objects_archived = len(ids)
        if sample is not None and sample < len(ids):
            ids = sorted((rng or random.SystemRandom()).sample(ids, sample))
        bar = Progress("re-hashing archived objects", len(ids)) if self.progress and ids else None
        for chunk in _chunks(ids, 500):
            for row in self.session.execute(
                select(
                    m.id,
                    m.artifact_name,
                    m.bucket,
                    m.object_key,
                    m.version_id,
                    m.size,
                    m.sha256,
                    m.s3_checksum,
                )
                .where(m.id.in_(chunk))
                .order_by(m.id)
            ):
                self._check_object(row)
                self.report.objects_checked += 1
                if bar:
                    bar.advance()
        if bar:
            bar.close()

    def _check_object(self, row: Any) -> None:
        ref = ArchivedRef(
            row.id,
            row.bucket or "",
            row.object_key or "",
            row.version_id or "",
            row.size,
            row.sha256,
            row.s3_checksum,
        )
        name = f"{ref.uri} ({row.artifact_name})"
        if not (ref.bucket and ref.key and ref.version_id and ref.sha256):
            self.problem(
                "object", name, "manifest row is archived but lacks its S3 location or SHA-256"
            )
            return
        try:
            if ref.bucket not in self._locked:
                self._locked[ref.bucket] = bucket_has_object_lock(self.client, ref.bucket)
            result = verify_version(
                self.client,
                ref.bucket,
                ref.key,
                ref.version_id,
                ref.sha256,
                self.policy,
                self._locked[ref.bucket],
            )
            current = current_version_problem(self.client, ref)
        except ArchiveError as exc:
            self.problem("object", name, f"cannot be read: {exc}")
            return
        problems = list(result.problems)
        if result.size is not None and ref.size is not None and result.size != ref.size:
            problems.append(f"{result.size} bytes, the manifest says {ref.size}")
        if current is not None:
            problems.append(current)
        for problem in problems:
            self.problem("object", name, problem)


def _chunks(values: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def verify_everything(
    session: Session,
    client_factory: Callable[[], S3Client],
    policy: ArchivePolicy,
    *,
    bucket: str,
    prefix: str,
    sample: int | None,
    progress: bool = True,
    s3_configured: bool = True,
    rng: random.Random | None = None,
) -> VerificationReport:
    """Chain, digests and objects (``sample=None``: every archived object)."""
    verifier = Verifier(
        session,
        client_factory,
        policy,
        bucket=bucket,
        prefix=prefix,
        progress=progress,
        s3_configured=s3_configured,
    )
    verifier.check_chain()
    verifier.check_digests()
    verifier.check_objects(sample=sample, rng=rng)
    return verifier.report
