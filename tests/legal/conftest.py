"""Legal-matter fixtures: a fresh migrated database (SQLite and PostgreSQL), a locked bucket
of the shared moto server, and meetings with archived transcripts built by World."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive.client import S3Client
from meet_core.db.models import ArtifactKind, MeetingStatus
from meet_core.search import index_transcript_entries
from tests.compliance.world import World, at


def transcript_document(record: str, lines: list[tuple[str, str, str]]) -> bytes:
    """An entries document as the archiver writes it: (participant name, start, text)."""
    return json.dumps({
        "transcript": f"{record}/transcripts/t1",
        "document_id": "doc",
        "entries": [
            {"name": f"{record}/transcripts/t1/entries/{i}", "participant": who, "text": text,
             "language_code": "en-US", "start_time": start, "end_time": start}
            for i, (who, start, text) in enumerate(lines)
        ],
    }).encode()


class LegalWorld(World):
    def archived_meeting(
        self, external_id: str, day: str, lines: list[str], *, attendees: tuple[str, ...] = ()
    ) -> str:
        """A held meeting with one recording and one transcript (entries) archived and indexed."""
        meeting_id = self.meeting(external_id, at(day, "10:00"), at(day, "11:00"), MeetingStatus.FINISHED)
        record = self.conference(external_id, at(day, "10:00"), at(day, "11:00"),
                                 joined=[(a, False) for a in attendees])
        self.artifact(external_id, record, ArtifactKind.RECORDING, archived_at=at(day, "11:30"))
        entries = self.artifact(external_id, record, ArtifactKind.TRANSCRIPT_ENTRIES,
                                archived_at=at(day, "11:30"), size=512)
        speaker = f"{record}/participants/0"
        document = transcript_document(
            record, [(speaker, f"{day}T10:0{i}:00.000000Z", text) for i, text in enumerate(lines)])
        with self.sessions.begin() as session:
            index_transcript_entries(session, entries, document)
        return meeting_id


@pytest.fixture
def legal(fresh_sessions: sessionmaker[Session], s3: S3Client, bucket: str) -> LegalWorld:
    return LegalWorld(fresh_sessions, s3, bucket)
