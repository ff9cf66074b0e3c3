"""Rebuild search documents from the archive itself (``meet-archive search-index rebuild``).

For objects archived before search existed (migration 0010) or before their kind was
indexed (smart notes, text-only transcripts): each searchable object is read back from its
S3 version as a stream, re-hashed, and indexed only when its SHA-256 and size are the ones
the manifest recorded. At most one document is held in memory. One short transaction per
object; the same bytes leave the same row untouched, so running it twice changes nothing.
A document whose search changed is queued for matter collection (a saved search may now
match its meeting).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive.client import S3Client
from meet_core.archive.errors import ArchiveError
from meet_core.audit import append_event
from meet_core.db.models import ArchiveManifestEntry, ManifestState
from meet_core.matters.collect import enqueue_collect
from meet_core.search.index import MAX_DOCUMENT_BYTES, SEARCHABLE_KINDS, index_document

CHUNK = 1 << 20
BATCH = 200
Progress = Callable[[str], None]


@dataclass
class ReindexReport:
    objects: int = 0  # searchable archived objects looked at
    changed: int = 0  # whose search document was written or removed
    unchanged: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def read_verified(client: S3Client, entry: ArchiveManifestEntry) -> bytes:
    """The object version's bytes, streamed and re-hashed; ArchiveError unless they are the
    size and SHA-256 the manifest recorded (or exceed what search indexes)."""
    if not (entry.bucket and entry.object_key and entry.version_id and entry.sha256):
        raise ArchiveError("no S3 object version or SHA-256 recorded")
    return read_document(client, entry.bucket, entry.object_key, entry.version_id, entry.sha256, entry.size)


def read_document(client: S3Client, bucket: str, key: str, version_id: str, sha256: str,
                  size: int | None) -> bytes:
    """An archived version's bytes for search, streamed and re-hashed; ArchiveError unless
    they are ``size`` bytes with ``sha256`` and within what search indexes."""
    if size is not None and size > MAX_DOCUMENT_BYTES:
        raise ArchiveError(f"{size} bytes, over the {MAX_DOCUMENT_BYTES} bytes search indexes")
    digest, parts, read = hashlib.sha256(), [], 0
    try:
        body = client.get_object(Bucket=bucket, Key=key, VersionId=version_id)["Body"]
        try:
            for chunk in body.iter_chunks(CHUNK):
                read += len(chunk)
                if read > MAX_DOCUMENT_BYTES:
                    raise ArchiveError(f"more than {MAX_DOCUMENT_BYTES} bytes, more than search indexes")
                digest.update(chunk)
                parts.append(chunk)
        finally:
            body.close()
    except (ClientError, BotoCoreError) as exc:
        raise ArchiveError(f"cannot read it: {exc}") from exc
    if digest.hexdigest() != sha256 or (size is not None and read != size):
        raise ArchiveError(f"read {read} bytes with SHA-256 {digest.hexdigest()}, archived as "
                           f"{size} bytes {sha256}: not indexed")
    return b"".join(parts)


def _candidates(session: Session, after_id: int, since: datetime | None,
                meeting_id: str | None) -> list[ArchiveManifestEntry]:
    query = select(ArchiveManifestEntry).where(
        ArchiveManifestEntry.id > after_id,
        ArchiveManifestEntry.state == ManifestState.ARCHIVED,
        ArchiveManifestEntry.kind.in_([k.value for k in SEARCHABLE_KINDS]),
    )
    if since is not None:
        query = query.where(ArchiveManifestEntry.archived_at >= since)
    if meeting_id is not None:
        query = query.where(ArchiveManifestEntry.meeting_id == meeting_id)
    # Entries before texts within a batch is not needed: the rule is order-free (index.py).
    rows = list(session.scalars(query.order_by(ArchiveManifestEntry.id).limit(BATCH)))
    session.expunge_all()
    return rows


def rebuild(
    sessions: sessionmaker[Session],
    client: S3Client,
    *,
    since: datetime | None = None,
    meeting_id: str | None = None,
    actor: str,
    progress: Progress = lambda _text: None,
) -> ReindexReport:
    """(Re)build the search documents of every archived transcript and smart note (archived
    on or after ``since``, of ``meeting_id``); failures are reported, never half-written."""
    report = ReindexReport()
    after = 0
    while True:
        with sessions() as session:
            batch = _candidates(session, after, since, meeting_id)
        if not batch:
            break
        for entry in batch:
            after = entry.id
            report.objects += 1
            where = f"{entry.artifact_name} (s3://{entry.bucket}/{entry.object_key} version {entry.version_id})"
            try:
                document = read_verified(client, entry)
                with sessions.begin() as session:
                    changed = index_document(session, entry.id, document)
                    if changed:
                        enqueue_collect(session, [entry.id])
            except (ArchiveError, ValueError) as exc:
                report.failures.append(f"{where}: {exc}")
                progress(f"NOT INDEXED {where}: {exc}")
                continue
            if changed:
                report.changed += 1
            else:
                report.unchanged += 1
        progress(f"{report.objects} object(s): {report.changed} changed, {report.unchanged} unchanged, "
                 f"{len(report.failures)} failed")
    if report.changed or report.failures:
        with sessions.begin() as session:
            append_event(session, actor=actor, action="search.reindexed", entity_type="search",
                         entity_id=meeting_id or "*", payload={
                             "since": since.isoformat() if since else None, "meeting": meeting_id,
                             "objects": report.objects, "changed": report.changed,
                             "failures": report.failures[:20]})
    return report
