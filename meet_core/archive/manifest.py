"""The archive manifest: one row per object to archive, keyed by a stable artifact name.

Rows are registered when the conference harvest sees a recording or transcript, become
ready when Google reports ``FILE_GENERATED``, are claimed (``archiving``) by one transfer at
a time, and end ``archived`` (with everything S3 confirmed) or ``failed`` (with the reason,
tried again after a backoff).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from meet_core.archive import ArchivedObject
from meet_core.audit import append_event
from meet_core.compliance.outbox import enqueue_event
from meet_core.db.models import ArchiveManifestEntry, ArtifactKind, ManifestState
from meet_core.google import Recording, SmartNote, Transcript

FILE_GENERATED = "FILE_GENERATED"
ENTRIES_SUFFIX = "/entries"
MAX_ERROR_LENGTH = 2000
# A claim older than this is taken to belong to a transfer that died with its process.
STALE_CLAIM = timedelta(hours=2)
MAX_BACKOFF = timedelta(hours=6)
RECORDING_KINDS = (ArtifactKind.RECORDING,)
# Documents Meet writes (archived by the archived_transcripts asset): transcripts and
# Gemini's smart notes, which are archived like a transcript's text.
TRANSCRIPT_KINDS = (
    ArtifactKind.TRANSCRIPT_TEXT,
    ArtifactKind.TRANSCRIPT_ENTRIES,
    ArtifactKind.SMART_NOTES,
)


@dataclass(frozen=True, slots=True)
class ArtifactSighting:
    """One object Google has (or will have) for a meeting, as the harvest saw it."""

    artifact_name: str
    kind: ArtifactKind
    google_state: str
    source_id: str | None
    start: datetime | None
    end: datetime | None


def sightings_of_recording(recording: Recording) -> list[ArtifactSighting]:
    return [
        ArtifactSighting(
            recording.name,
            ArtifactKind.RECORDING,
            recording.state,
            recording.drive_file_id,
            recording.start,
            recording.end,
        )
    ]


def sightings_of_transcript(transcript: Transcript) -> list[ArtifactSighting]:
    """A transcript is archived as two objects: the exported text and its structured entries."""
    return [
        ArtifactSighting(
            transcript.name,
            ArtifactKind.TRANSCRIPT_TEXT,
            transcript.state,
            transcript.document_id,
            transcript.start,
            transcript.end,
        ),
        ArtifactSighting(
            transcript.name + ENTRIES_SUFFIX,
            ArtifactKind.TRANSCRIPT_ENTRIES,
            transcript.state,
            transcript.document_id,
            transcript.start,
            transcript.end,
        ),
    ]


def sightings_of_smart_note(note: SmartNote) -> list[ArtifactSighting]:
    """Gemini's smart notes: one object, the Doc exported as text (like a transcript's)."""
    return [
        ArtifactSighting(
            note.name, ArtifactKind.SMART_NOTES, note.state, note.document_id, note.start, note.end
        )
    ]


def register_artifacts(
    session: Session,
    *,
    meeting_id: str,
    conference_record_name: str,
    partition_date: str,
    sightings: Iterable[ArtifactSighting],
) -> int:
    """Insert new rows, refresh Google's view on rows not yet archived; returns how many
    rows were added or changed."""
    changed = 0
    for seen in sightings:
        row = session.scalar(
            select(ArchiveManifestEntry).where(
                ArchiveManifestEntry.artifact_name == seen.artifact_name
            )
        )
        if row is None:
            session.add(
                ArchiveManifestEntry(
                    artifact_name=seen.artifact_name,
                    kind=seen.kind,
                    meeting_id=meeting_id,
                    conference_record_name=conference_record_name,
                    partition_date=partition_date,
                    google_state=seen.google_state,
                    source_id=seen.source_id,
                    artifact_start_time=seen.start,
                    artifact_end_time=seen.end,
                    state=ManifestState.PENDING,
                    attempts=0,
                    legal_hold=False,
                )
            )
            changed += 1
            continue
        if row.state == ManifestState.ARCHIVED:
            continue
        fresh = (seen.google_state, seen.source_id or row.source_id, seen.start, seen.end)
        if (
            row.google_state,
            row.source_id,
            row.artifact_start_time,
            row.artifact_end_time,
        ) != fresh:
            row.google_state, row.source_id, row.artifact_start_time, row.artifact_end_time = fresh
            changed += 1
    session.flush()
    return changed


# --- what is ready, and claiming it -------------------------------------------------------


def retry_backoff(attempts: int, base: timedelta) -> timedelta:
    """Wait before the next try after ``attempts`` failed ones: base, 2·base, 4·base … (≤ 6 h)."""
    if attempts <= 0:
        return timedelta(0)
    return min(MAX_BACKOFF, base * (2 ** min(attempts - 1, 16)))


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        ArchiveManifestEntry.state.in_((ManifestState.PENDING, ManifestState.FAILED)),
        (ArchiveManifestEntry.state == ManifestState.ARCHIVING)
        & (ArchiveManifestEntry.last_attempt_at < now - STALE_CLAIM),
    )


@dataclass(frozen=True, slots=True)
class ReadyArtifact:
    id: int
    artifact_name: str
    kind: str
    partition_date: str
    attempts: int


def ready_artifacts(
    session: Session, *, now: datetime, retry_base: timedelta, limit: int = 5000
) -> list[ReadyArtifact]:
    """Rows Google has files for, not archived, not being archived, past their backoff."""
    rows = session.execute(
        select(
            ArchiveManifestEntry.id,
            ArchiveManifestEntry.artifact_name,
            ArchiveManifestEntry.kind,
            ArchiveManifestEntry.partition_date,
            ArchiveManifestEntry.attempts,
            ArchiveManifestEntry.state,
            ArchiveManifestEntry.last_attempt_at,
        )
        .where(
            ArchiveManifestEntry.state.in_(
                (ManifestState.PENDING, ManifestState.FAILED, ManifestState.ARCHIVING)
            ),
            ArchiveManifestEntry.google_state == FILE_GENERATED,
            _claimable(now),
        )
        .order_by(ArchiveManifestEntry.partition_date, ArchiveManifestEntry.id)
        .limit(limit)
    ).all()
    ready = []
    for row in rows:
        waiting = row.state == ManifestState.FAILED and row.last_attempt_at is not None
        if waiting and now < row.last_attempt_at + retry_backoff(row.attempts, retry_base):
            continue
        ready.append(
            ReadyArtifact(row.id, row.artifact_name, row.kind, row.partition_date, row.attempts)
        )
    return ready


def archive_run_key(partition_date: str, artifacts: Sequence[ReadyArtifact]) -> str:
    """Same artifacts at the same attempt count → same key, so repeated ticks add no run."""
    content = "\n".join(sorted(f"{a.artifact_name}#{a.attempts}" for a in artifacts))
    return f"archive-{partition_date}-{hashlib.sha256(content.encode()).hexdigest()[:16]}"


def partition_rows(
    session: Session, partition_date: str, kinds: Sequence[str], *, now: datetime
) -> list[ArchiveManifestEntry]:
    """Rows of the partition that a run should archive now (no backoff: the run decides)."""
    return list(
        session.scalars(
            select(ArchiveManifestEntry)
            .where(
                ArchiveManifestEntry.partition_date == partition_date,
                ArchiveManifestEntry.kind.in_(kinds),
                ArchiveManifestEntry.google_state == FILE_GENERATED,
                _claimable(now),
            )
            .order_by(ArchiveManifestEntry.id)
        )
    )


def claim(session: Session, row_id: int, *, now: datetime) -> int | None:
    """Take the row for one transfer; returns the attempt number, or None if someone else
    holds it or it is archived already."""
    result = session.execute(
        update(ArchiveManifestEntry)
        .where(ArchiveManifestEntry.id == row_id, _claimable(now))
        .values(
            state=ManifestState.ARCHIVING,
            attempts=ArchiveManifestEntry.attempts + 1,
            last_attempt_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.scalar(
        select(ArchiveManifestEntry.attempts).where(ArchiveManifestEntry.id == row_id)
    )


@dataclass(frozen=True, slots=True)
class DriveFacts:
    """What Google said about the source bytes (None when it gives no checksum)."""

    size: int | None
    md5: str | None
    sha256: str | None


def mark_archived(
    session: Session,
    row_id: int,
    attempt: int,
    stored: ArchivedObject,
    drive: DriveFacts,
    *,
    content_type: str,
    now: datetime,
    actor: str,
) -> bool:
    """Record the archived object and audit it, if this transfer still holds the row."""
    row = session.get(ArchiveManifestEntry, row_id, with_for_update=True)
    if row is None or row.state != ManifestState.ARCHIVING or row.attempts != attempt:
        return False
    row.state = ManifestState.ARCHIVED
    row.last_error = None
    row.bucket, row.object_key, row.version_id = stored.bucket, stored.key, stored.version_id
    row.size, row.sha256, row.s3_checksum = stored.size, stored.sha256_hex, _crc(stored)
    row.drive_size, row.drive_md5, row.drive_sha256 = drive.size, drive.md5, drive.sha256
    row.content_type = content_type
    row.retain_until, row.lock_mode, row.legal_hold = (
        stored.retain_until,
        stored.lock_mode,
        stored.legal_hold,
    )
    row.archived_at = now
    append_event(
        session,
        actor=actor,
        action="artifact.archived",
        entity_type="meeting",
        entity_id=row.meeting_id,
        payload={
            "artifact": row.artifact_name,
            "kind": row.kind,
            "uri": stored.uri,
            "version_id": stored.version_id,
            "size": stored.size,
            "sha256": stored.sha256_hex,
            "s3_checksum": row.s3_checksum,
            "retain_until": stored.retain_until.isoformat() if stored.retain_until else None,
            "lock_mode": stored.lock_mode,
            "legal_hold": stored.legal_hold,
            "already_existed": stored.already_existed,
        },
    )
    if row.kind == ArtifactKind.RECORDING:
        # XOMA hears of it in the same transaction that records it (the outbox pattern).
        enqueue_event(
            session,
            "recording.archived",
            {"meeting_id": row.meeting_id, "artifact": row.artifact_name, "uri": stored.uri,
             "version_id": stored.version_id, "sha256": stored.sha256_hex, "size": stored.size,
             "retain_until": stored.retain_until.isoformat() if stored.retain_until else None},
            dedupe_key=f"recording.archived:{row.artifact_name}",
        )
    return True


def mark_failed(session: Session, row_id: int, attempt: int, error: BaseException) -> bool:
    """Put the reason on the row so the UI, the API and the next tick see it."""
    reason = f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
    result = session.execute(
        update(ArchiveManifestEntry)
        .where(
            ArchiveManifestEntry.id == row_id,
            ArchiveManifestEntry.state == ManifestState.ARCHIVING,
            ArchiveManifestEntry.attempts == attempt,
        )
        .values(state=ManifestState.FAILED, last_error=reason)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def _crc(stored: ArchivedObject) -> str | None:
    return f"CRC64NVME:{stored.crc64nvme}" if stored.crc64nvme else None
