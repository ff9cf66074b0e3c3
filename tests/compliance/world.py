"""Builds a day of meetings directly in the database and S3, the way the pipeline leaves
them: meetings and invitations, conference records and attendance, archive-manifest rows
whose objects really are in a (GOVERNANCE-locked) moto bucket over HTTP."""

from __future__ import annotations

import hashlib
import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive import ArchivePolicy, ArchiveWriter, object_key
from meet_core.archive.client import S3Client
from meet_core.audit import append_event
from meet_core.db.models import (
    ApiClient,
    ArchiveManifestEntry,
    ArtifactKind,
    ConferenceParticipant,
    ConferenceRecord,
    ManifestState,
    Meeting,
    MeetingStatus,
    Participant,
    ParticipantSession,
)

ORGANIZER = "organizer@example.com"
RETENTION_DAYS = 30
POLICY = ArchivePolicy(mode="GOVERNANCE", retention_days=RETENTION_DAYS)
_counter = itertools.count(1)


def at(day: str, hhmm: str) -> datetime:
    return datetime.strptime(f"{day} {hhmm}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


@dataclass
class World:
    sessions: sessionmaker[Session]
    s3: S3Client
    bucket: str
    prefix: str = "meet"
    meetings: dict[str, str] = field(default_factory=dict)  # external id -> meeting id

    @property
    def writer(self) -> ArchiveWriter:
        return ArchiveWriter(self.s3, self.bucket, POLICY)

    def _client_id(self, session: Session) -> str:
        client = session.scalar(select(ApiClient).where(ApiClient.name == "xoma"))
        if client is None:
            client = ApiClient(name="xoma")
            session.add(client)
            session.flush()
        return client.id

    def meeting(
        self,
        external_id: str,
        start: datetime,
        end: datetime,
        status: MeetingStatus,
        guests: int = 2,
        organizer_listed: bool = True,
    ) -> str:
        with self.sessions.begin() as session:
            meeting = Meeting(
                client_id=self._client_id(session),
                external_id=external_id,
                title=f"Meeting {external_id}",
                start_time=start,
                end_time=end,
                timezone="UTC",
                organizer_email=ORGANIZER,
                status=status,
                space_name=f"spaces/{external_id}",
            )
            listed = [Participant(email=ORGANIZER, role="organizer")] if organizer_listed else []
            meeting.participants = listed + [
                Participant(email=f"guest{i}.{external_id}@example.com", role="guest")
                for i in range(guests)
            ]
            session.add(meeting)
            session.flush()
            append_event(
                session,
                actor="test",
                action="meeting.created",
                entity_type="meeting",
                entity_id=meeting.id,
                payload={"external_id": external_id},
            )
            self.meetings[external_id] = meeting.id
            return meeting.id

    def conference(
        self,
        external_id: str,
        start: datetime,
        end: datetime | None,
        *,
        joined: list[tuple[str | None, bool]] = (),
        expire: datetime | None = None,
        synced_at: datetime | None = None,
    ) -> str:
        """``joined``: (email or None for anonymous, invited?) per person."""
        meeting_id = self.meetings[external_id]
        name = f"conferenceRecords/{external_id}-{next(_counter)}"
        with self.sessions.begin() as session:
            record = ConferenceRecord(
                name=name,
                meeting_id=meeting_id,
                space_name=f"spaces/{external_id}",
                start_time=start,
                end_time=end,
                expire_time=expire if expire is not None else (end or start) + timedelta(days=30),
                participant_count=len(joined),
                first_seen_at=start,
                synced_at=synced_at or (end + timedelta(minutes=5) if end else start),
            )
            session.add(record)
            session.flush()
            for index, (email, invited) in enumerate(joined):
                session.add(
                    ConferenceParticipant(
                        name=f"{name}/participants/{index}",
                        conference_record_id=record.id,
                        meeting_id=meeting_id,
                        kind="internal" if invited else "external",
                        email=email,
                        invited=invited,
                        display_name=email or f"anonymous {index}",
                        first_joined_at=start,
                        last_left_at=end,
                        attended_seconds=600,
                        session_count=1,
                        synced_at=start,
                    )
                )
        return name

    def artifact(
        self,
        external_id: str,
        record: str,
        kind: ArtifactKind,
        *,
        archived_at: datetime | None,
        state: ManifestState = ManifestState.ARCHIVED,
        size: int = 2048,
        drive_sha256: str | None = None,
        google_state: str = "FILE_GENERATED",
        start: datetime | None = None,
        end: datetime | None = None,
        data: bytes | None = None,
        artifact_name: str | None = None,
    ) -> int:
        """A manifest row; when archived, its bytes (``data``, else random) are really put in
        S3 under Object Lock."""
        meeting_id = self.meetings[external_id]
        serial = next(_counter)
        artifact_name = artifact_name or f"{record}/{kind.value}s/{serial}"
        values: dict[str, object] = {}
        if state == ManifestState.ARCHIVED:
            data = random.Random(serial).randbytes(size) if data is None else data
            size = len(data)
            sha = hashlib.sha256(data).hexdigest()
            key = object_key(self.prefix, "recordings", external_id, f"{kind.value}-{serial}.bin")
            stored = self.writer.archive_stream(
                key,
                [data],
                expected_size=size,
                expected_sha256=sha,
                content_type="video/mp4",
                metadata={"meeting": meeting_id},
            )
            values = dict(
                bucket=stored.bucket,
                object_key=stored.key,
                version_id=stored.version_id,
                size=stored.size,
                sha256=stored.sha256_hex,
                drive_size=size,
                drive_sha256=drive_sha256 or sha,
                s3_checksum=f"CRC64NVME:{stored.crc64nvme}",
                retain_until=stored.retain_until,
                lock_mode=stored.lock_mode,
                legal_hold=stored.legal_hold,
                archived_at=archived_at,
                content_type="video/mp4",
            )
        with self.sessions.begin() as session:
            row = ArchiveManifestEntry(
                artifact_name=artifact_name,
                kind=kind.value,
                meeting_id=meeting_id,
                conference_record_name=record,
                partition_date=self._day_of(session, meeting_id),
                google_state=google_state,
                artifact_start_time=start,
                artifact_end_time=end,
                state=state.value,
                attempts=1 if state != ManifestState.PENDING else 0,
                **values,
            )
            session.add(row)
            session.flush()
            if state == ManifestState.ARCHIVED:
                append_event(
                    session,
                    actor="test",
                    action="artifact.archived",
                    entity_type="meeting",
                    entity_id=meeting_id,
                    payload={"artifact": artifact_name, "sha256": values["sha256"]},
                )
            return row.id

    @staticmethod
    def _day_of(session: Session, meeting_id: str) -> str:
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None
        return meeting.start_time.strftime("%Y-%m-%d")

    def manifest_row(self, manifest_id: int) -> ArchiveManifestEntry:
        with self.sessions() as session:
            row = session.get(ArchiveManifestEntry, manifest_id)
            assert row is not None
            return row


def add_session(world: World, record: str, index: int, start: datetime, end: datetime | None) -> None:
    """A participant session for the ``index``-th person ``world.conference`` made in
    ``record`` (recording coverage is measured against sessions)."""
    with world.sessions.begin() as session:
        participant = session.scalar(
            select(ConferenceParticipant).where(
                ConferenceParticipant.name == f"{record}/participants/{index}"
            )
        )
        assert participant is not None
        session.add(
            ParticipantSession(
                name=f"{participant.name}/participantSessions/{next(_counter)}",
                participant_id=participant.id,
                start_time=start,
                end_time=end,
                duration_seconds=int((end - start).total_seconds()) if end else None,
            )
        )
