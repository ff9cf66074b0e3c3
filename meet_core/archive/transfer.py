"""Archive one manifest row: Google → S3 as a stream, then the manifest, in short steps.

1. claim the row (short transaction; counts the attempt);
2. stream the bytes from Drive into :class:`ArchiveWriter` (no transaction open): a
   recording in ranged chunks, never whole in memory or on disk; a transcript as its
   exported text or its structured entries as canonical JSON;
3. record the confirmed object and audit it (short transaction), or record the failure
   with its reason so the next tick tries again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive import ArchivedObject, ArchiveWriter, object_key
from meet_core.archive.errors import ArchiveError
from meet_core.archive.manifest import (
    ENTRIES_SUFFIX,
    DriveFacts,
    claim,
    mark_archived,
    mark_failed,
)
from meet_core.archive.multipart import Prefetch
from meet_core.db.models import ArchiveManifestEntry, ArtifactKind, Meeting
from meet_core.google import DriveFile, GoogleGateway, TranscriptEntry
from meet_core.matters.collect import collect_archived, enqueue_collect
from meet_core.search.index import MAX_DOCUMENT_BYTES, index_document
from meet_core.search.reindex import read_document

TEXT_TYPE = "text/plain; charset=utf-8"
JSON_TYPE = "application/json"
GOOGLE_DOC = "application/vnd.google-apps.document"
# Documents read as text: a Google Doc is exported, a plain-text Drive file downloaded.
DOCUMENT_KINDS = (ArtifactKind.TRANSCRIPT_TEXT, ArtifactKind.SMART_NOTES)


@dataclass(frozen=True, slots=True)
class TransferJob:
    """One claimed row, detached from its session."""

    row_id: int
    attempt: int
    artifact_name: str
    kind: str
    meeting_id: str
    conference_record_name: str
    partition_date: str
    source_id: str | None
    organizer_email: str


@dataclass(frozen=True, slots=True)
class TransferResult:
    artifact_name: str
    kind: str
    outcome: str  # "archived", "failed" or "skipped" (claimed elsewhere or done already)
    stored: ArchivedObject | None = None
    error: str | None = None
    seconds: float = 0.0


def key_for(
    prefix: str, kind: str, partition_date: str, meeting_id: str, artifact_name: str
) -> str:
    """The object key, from stable ids only: the day, the meeting, the conference record and
    the Meet artifact id (``conferenceRecords/{c}/recordings/{r}``)."""
    name = artifact_name.removesuffix(ENTRIES_SUFFIX)
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != "conferenceRecords":
        raise ValueError(f"not a Meet artifact name: {artifact_name!r}")
    conference, artifact = parts[1], parts[3]
    if kind == ArtifactKind.RECORDING:
        return object_key(
            prefix, "recordings", partition_date, meeting_id, conference, f"{artifact}.mp4"
        )
    if kind == ArtifactKind.TRANSCRIPT_TEXT:
        return object_key(
            prefix, "transcripts", partition_date, meeting_id, conference, f"{artifact}.txt"
        )
    if kind == ArtifactKind.SMART_NOTES:
        return object_key(
            prefix, "smart_notes", partition_date, meeting_id, conference, f"{artifact}.txt"
        )
    if kind == ArtifactKind.TRANSCRIPT_ENTRIES:
        return object_key(
            prefix,
            "transcripts",
            partition_date,
            meeting_id,
            conference,
            f"{artifact}.entries.json",
        )
    raise ValueError(f"unknown artifact kind {kind!r}")


def entries_document(
    transcript_name: str, document_id: str | None, entries: Iterable[TranscriptEntry]
) -> bytes:
    """Canonical JSON of a transcript's entries: same entries, same bytes, every time."""

    def stamp(moment: datetime | None) -> str | None:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment else None

    items = sorted(entries, key=lambda e: (stamp(e.start) or "", e.name))
    document = {
        "transcript": transcript_name,
        "document_id": document_id,
        "entries": [
            {
                "name": e.name,
                "participant": e.participant,
                "text": e.text,
                "language_code": e.language_code,
                "start_time": stamp(e.start),
                "end_time": stamp(e.end),
            }
            for e in items
        ],
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def _copied(chunks: Iterable[bytes], keep: list[bytes]) -> Iterator[bytes]:
    """Pass the chunks on, keeping a copy while the total stays within MAX_DOCUMENT_BYTES."""
    total, over = 0, False
    for chunk in chunks:
        total += len(chunk)
        if not over and total <= MAX_DOCUMENT_BYTES:
            keep.append(bytes(chunk))
        elif not over:
            keep.clear()
            over = True
        yield chunk


class Archiver:
    """Archives manifest rows; safe to call from several threads at once."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        gateway: GoogleGateway,
        writer: ArchiveWriter,
        *,
        prefix: str,
        clock: Callable[[], datetime],
        actor: str,
    ) -> None:
        self.sessions, self.gateway, self.writer = sessions, gateway, writer
        self.prefix, self.clock, self.actor = prefix, clock, actor

    def archive_row(self, row_id: int) -> TransferResult:
        job = self._claim(row_id)
        if isinstance(job, TransferResult):
            return job
        started = time.monotonic()
        try:
            stored, drive, content_type, searchable = self._transfer(job)
        except Exception as exc:  # every failure is recorded on the row, with its reason
            with self.sessions.begin() as session:
                mark_failed(session, job.row_id, job.attempt, exc)
            return TransferResult(
                job.artifact_name,
                job.kind,
                "failed",
                error=f"{type(exc).__name__}: {exc}",
                seconds=time.monotonic() - started,
            )
        with self.sessions.begin() as session:
            recorded = mark_archived(
                session,
                job.row_id,
                job.attempt,
                stored,
                drive,
                content_type=content_type,
                now=self.clock(),
                actor=self.actor,
            )
            if recorded:
                # Matters collect it (below, or the reconcile if that fails): marked durably.
                enqueue_collect(session, [job.row_id])
            if recorded and searchable is not None:
                # Searchable from the moment it is archived (meet_core.search); a document
                # that cannot be indexed stays archived (`meet-archive search-index rebuild`).
                try:
                    with session.begin_nested():
                        index_document(session, job.row_id, searchable)
                except ValueError:
                    pass
        error = None
        if recorded:
            # Matters whose saved search matches collect the meeting; a held matter puts
            # the new object under legal hold now (meet_core.matters.collect).
            try:
                error = collect_archived(self.sessions, self.writer.client, job.row_id, actor=self.actor)
            except Exception as exc:  # the object is archived: report, and let the next run complete holds
                error = f"matters not updated: {type(exc).__name__}: {exc}"
        outcome = "archived" if recorded else "skipped"
        return TransferResult(
            job.artifact_name,
            job.kind,
            outcome,
            stored=stored,
            error=error,
            seconds=time.monotonic() - started,
        )

    def _claim(self, row_id: int) -> TransferJob | TransferResult:
        with self.sessions.begin() as session:
            attempt = claim(session, row_id, now=self.clock())
            row = session.get(ArchiveManifestEntry, row_id)
            if row is None:
                return TransferResult(f"#{row_id}", "", "skipped", error="no such manifest row")
            if attempt is None:
                return TransferResult(row.artifact_name, row.kind, "skipped")
            organizer = session.scalar(
                select(Meeting.organizer_email).where(Meeting.id == row.meeting_id)
            )
            return TransferJob(
                row_id=row.id,
                attempt=attempt,
                artifact_name=row.artifact_name,
                kind=row.kind,
                meeting_id=row.meeting_id,
                conference_record_name=row.conference_record_name,
                partition_date=row.partition_date,
                source_id=row.source_id,
                organizer_email=organizer or "",
            )

    def _transfer(self, job: TransferJob) -> tuple[ArchivedObject, DriveFacts, str, bytes | None]:
        """The stored object, Drive's facts, the content type and, for a transcript (entries
        or text) or smart notes, the document to index for search."""
        if not job.source_id:
            raise ValueError(f"{job.artifact_name}: Google gave no file for it")
        key = key_for(self.prefix, job.kind, job.partition_date, job.meeting_id, job.artifact_name)
        # The claim makes this key ours: an upload still open on it was left by a writer
        # that died (SIGKILL, lost host) and would otherwise linger until the stale sweep.
        self.writer.abort_uploads_of(key)
        metadata = {
            "meeting-id": job.meeting_id,
            "conference-record": job.conference_record_name,
            "artifact": job.artifact_name,
            "artifact-kind": job.kind,
            "google-file-id": job.source_id,
        }
        if job.kind == ArtifactKind.RECORDING:
            return (*self._recording(job, key, metadata), None)
        if job.kind in DOCUMENT_KINDS:
            return self._document(job, key, metadata)
        entries = self.gateway.list_transcript_entries(
            job.artifact_name.removesuffix(ENTRIES_SUFFIX), subject=job.organizer_email
        )
        data = entries_document(
            job.artifact_name.removesuffix(ENTRIES_SUFFIX), job.source_id, entries
        )
        return (*self._small(key, data, JSON_TYPE, metadata), data)

    def _document(
        self, job: TransferJob, key: str, metadata: dict[str, str]
    ) -> tuple[ArchivedObject, DriveFacts, str, bytes | None]:
        """A transcript or smart notes, by the file's mimeType: Meet writes transcripts as
        Google Docs (files.export as text) or as plain-text Drive files, which export answers
        403 for: those are downloaded with alt=media and checked against Drive's checksums.
        The text read is kept for search (up to MAX_DOCUMENT_BYTES)."""
        assert job.source_id is not None
        info = self.gateway.get_file(job.source_id, subject=job.organizer_email)
        if info.mime_type == GOOGLE_DOC:
            data = self.gateway.export_text(job.source_id, subject=job.organizer_email)
            return (*self._small(key, data, TEXT_TYPE, metadata), data)
        kept: list[bytes] = []
        stored = self._recording(job, key, metadata, info=info, default_type=TEXT_TYPE, keep=kept)
        archived = stored[0]
        if kept or not archived.size:
            return (*stored, b"".join(kept))
        if not archived.already_existed:
            return (*stored, None)  # over what search indexes: _copied dropped its copy
        # An earlier attempt stored these bytes and died before recording them: nothing was
        # downloaded now, so search reads them back from the archive (read_document refuses
        # what is over the limit without reading it).
        read_back: bytes | None
        try:
            read_back = read_document(self.writer.client, archived.bucket, archived.key, archived.version_id,
                                      archived.sha256_hex, archived.size)
        except ArchiveError:
            read_back = None  # archived all the same; `search-index rebuild` retries
        return (*stored, read_back)

    def _recording(
        self,
        job: TransferJob,
        key: str,
        metadata: dict[str, str],
        *,
        info: DriveFile | None = None,
        default_type: str = "video/mp4",
        keep: list[bytes] | None = None,
    ) -> tuple[ArchivedObject, DriveFacts, str]:
        """A binary Drive file (a recording, a plain-text transcript), streamed in chunks
        and checked against Drive's size, MD5 and SHA-256; ``keep`` collects a copy of the
        bytes (emptied past MAX_DOCUMENT_BYTES) for a text document's search index."""
        assert job.source_id is not None
        if info is None:
            info = self.gateway.get_file(job.source_id, subject=job.organizer_email)
        # Chunks of the part size become parts without a copy (iter_parts); the next one
        # downloads while this one is hashed and uploaded.
        source = self.gateway.iter_file(
            job.source_id,
            subject=job.organizer_email,
            chunk_size=self.writer.part_size,
            expected_size=info.size,
        )
        chunks = Prefetch(source if keep is None else _copied(source, keep))
        content_type = info.mime_type or default_type
        try:
            stored = self.writer.archive_stream(
                key,
                chunks,
                expected_size=info.size,
                expected_sha256=info.sha256,
                expected_md5=info.md5,
                content_type=content_type,
                metadata=metadata,
            )
        finally:
            chunks.close()
        return stored, DriveFacts(info.size, info.md5, info.sha256), content_type

    def _small(
        self, key: str, data: bytes, content_type: str, metadata: dict[str, str]
    ) -> tuple[ArchivedObject, DriveFacts, str]:
        """Exported documents: Google gives no checksum, so the hash of what was read is
        the expectation (a re-run that reads different bytes conflicts, never overwrites)."""
        sha256 = hashlib.sha256(data).hexdigest()
        stored = self.writer.archive_stream(
            key,
            [data],
            expected_size=len(data),
            expected_sha256=sha256,
            content_type=content_type,
            metadata=metadata,
        )
        return stored, DriveFacts(len(data), None, None), content_type
