"""Meet v2: spaces with auto recording/transcription, and the conference data harvested
afterwards (records, participants, sessions, recordings, transcripts, entries)."""

from __future__ import annotations

import re
from typing import Any

from meet_core.google import validate
from meet_core.google.core import GatewayCore
from meet_core.google.types import (
    MeetConferenceRecord,
    MeetParticipant,
    MeetParticipantSession,
    Recording,
    SmartNote,
    Space,
    Transcript,
    TranscriptEntry,
)

# Meet codes ("abc-mnop-xyz") are aliases; conferenceRecords must be filtered by code then.
_MEETING_CODE = re.compile(r"spaces/([a-z]{3}-[a-z]{4}-[a-z]{3})")
_ARTIFACT_MASK = (
    "config.artifactConfig.recordingConfig.autoRecordingGeneration,"
    "config.artifactConfig.transcriptionConfig.autoTranscriptionGeneration"
)


def _on(flag: bool) -> str:
    return "ON" if flag else "OFF"


def _artifact_config(auto_recording: bool, auto_transcription: bool) -> dict[str, Any]:
    return {
        "recordingConfig": {"autoRecordingGeneration": _on(auto_recording)},
        "transcriptionConfig": {"autoTranscriptionGeneration": _on(auto_transcription)},
    }


def _flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be True or False, got {value!r}")
    return value


class MeetMethods(GatewayCore):
    def create_space(
        self,
        *,
        subject: str | None = None,
        access_type: str = "TRUSTED",
        auto_recording: bool = True,
        auto_transcription: bool = True,
    ) -> Space:
        """spaces.create. Not idempotent on Google's side: a retried create whose answer was
        lost leaves an unused space behind (harmless, nobody is invited to it)."""
        validate.access_type(access_type)
        body = {
            "config": {
                "accessType": access_type,
                "artifactConfig": _artifact_config(
                    _flag(auto_recording, "auto_recording"),
                    _flag(auto_transcription, "auto_transcription"),
                ),
            }
        }
        who = self._subject(subject)
        return Space.from_json(self._execute("meet", who, lambda s: s.spaces().create(body=body)))

    def get_space(self, name_or_code: str, *, subject: str | None = None) -> Space:
        name = validate.space_name(name_or_code)
        who = self._subject(subject)
        return Space.from_json(self._execute("meet", who, lambda s: s.spaces().get(name=name)))

    def enable_auto_artifacts(
        self,
        name: str,
        *,
        subject: str | None = None,
        auto_recording: bool = True,
        auto_transcription: bool = True,
    ) -> Space:
        """spaces.patch of just the two auto-generation switches (needs meetings.space.settings
        for spaces that Calendar created)."""
        space = validate.space_name(name)
        body = {
            "config": {
                "artifactConfig": _artifact_config(
                    _flag(auto_recording, "auto_recording"),
                    _flag(auto_transcription, "auto_transcription"),
                )
            }
        }
        who = self._subject(subject)
        data = self._execute(
            "meet",
            who,
            lambda s: s.spaces().patch(name=space, updateMask=_ARTIFACT_MASK, body=body),
        )
        return Space.from_json(data)

    def list_conference_records(
        self, space_name: str, *, subject: str | None = None
    ) -> list[MeetConferenceRecord]:
        name = validate.space_name(space_name)
        code = _MEETING_CODE.fullmatch(name)
        query = f'space.meeting_code = "{code.group(1)}"' if code else f'space.name = "{name}"'
        who = self._subject(subject)
        items = self._list_all(
            "meet",
            who,
            lambda s, token: s.conferenceRecords().list(
                filter=query, pageSize=100, pageToken=token
            ),
            "conferenceRecords",
        )
        return [MeetConferenceRecord.from_json(item) for item in items]

    def list_participants(
        self, record_name: str, *, subject: str | None = None
    ) -> list[MeetParticipant]:
        parent = validate.record_name(record_name)
        items = self._list_all(
            "meet",
            self._subject(subject),
            lambda s, token: (
                s.conferenceRecords()
                .participants()
                .list(parent=parent, pageSize=250, pageToken=token)
            ),
            "participants",
        )
        return [MeetParticipant.from_json(item) for item in items]

    def list_participant_sessions(
        self, participant_name: str, *, subject: str | None = None
    ) -> list[MeetParticipantSession]:
        parent = validate.participant_name(participant_name)
        items = self._list_all(
            "meet",
            self._subject(subject),
            lambda s, token: (
                s.conferenceRecords()
                .participants()
                .participantSessions()
                .list(parent=parent, pageSize=250, pageToken=token)
            ),
            "participantSessions",
        )
        return [MeetParticipantSession.from_json(item) for item in items]

    def list_recordings(self, record_name: str, *, subject: str | None = None) -> list[Recording]:
        parent = validate.record_name(record_name)
        items = self._list_all(
            "meet",
            self._subject(subject),
            lambda s, token: (
                s.conferenceRecords()
                .recordings()
                .list(parent=parent, pageSize=100, pageToken=token)
            ),
            "recordings",
        )
        return [Recording.from_json(item) for item in items]

    def get_conference_record(
        self, record_name: str, *, subject: str | None = None
    ) -> MeetConferenceRecord:
        name = validate.record_name(record_name)
        return MeetConferenceRecord.from_json(
            self._execute(
                "meet", self._subject(subject), lambda s: s.conferenceRecords().get(name=name)
            )
        )

    def get_recording(self, recording_name: str, *, subject: str | None = None) -> Recording:
        """One recording (what a ``recording.fileGenerated`` event names)."""
        name = validate.recording_name(recording_name)
        return Recording.from_json(
            self._execute(
                "meet",
                self._subject(subject),
                lambda s: s.conferenceRecords().recordings().get(name=name),
            )
        )

    def get_transcript(self, transcript_name: str, *, subject: str | None = None) -> Transcript:
        """One transcript (what a ``transcript.fileGenerated`` event names)."""
        name = validate.transcript_name(transcript_name)
        return Transcript.from_json(
            self._execute(
                "meet",
                self._subject(subject),
                lambda s: s.conferenceRecords().transcripts().get(name=name),
            )
        )

    def list_transcripts(self, record_name: str, *, subject: str | None = None) -> list[Transcript]:
        parent = validate.record_name(record_name)
        items = self._list_all(
            "meet",
            self._subject(subject),
            lambda s, token: (
                s.conferenceRecords()
                .transcripts()
                .list(parent=parent, pageSize=100, pageToken=token)
            ),
            "transcripts",
        )
        return [Transcript.from_json(item) for item in items]

    def list_transcript_entries(
        self, transcript_name: str, *, subject: str | None = None
    ) -> list[TranscriptEntry]:
        parent = validate.transcript_name(transcript_name)
        items = self._list_all(
            "meet",
            self._subject(subject),
            lambda s, token: (
                s.conferenceRecords()
                .transcripts()
                .entries()
                .list(parent=parent, pageSize=100, pageToken=token)
            ),
            "transcriptEntries",
        )
        return [TranscriptEntry.from_json(item) for item in items]

    def list_smart_notes(self, record_name: str, *, subject: str | None = None) -> list[SmartNote]:
        """conferenceRecords.smartNotes.list: Gemini's notes, when the space had them on."""
        parent = validate.record_name(record_name)
        items = self._list_all(
            "meet",
            self._subject(subject),
            lambda s, token: (
                s.conferenceRecords()
                .smartNotes()
                .list(parent=parent, pageSize=100, pageToken=token)
            ),
            "smartNotes",
        )
        return [SmartNote.from_json(item) for item in items]
