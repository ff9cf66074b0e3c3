"""What happens inside Meet: conferences, participants, recordings, transcripts, Drive files.

All functions here run under the store lock and take the emulated time `now`. Rules:

* A conference starts when someone joins a space without an active conference (or when the
  sandbox starts one) and ends when the sandbox ends it, the API ends it, or (by default)
  the last participant leaves.
* A recording runs while the conference wants one (space auto recording ON, or started by
  a member of the organizer's domain) AND a signed-in member of the organizer's domain is
  present. It ends with the conference or when stopped; starting again makes a new one.
* An ended recording becomes FILE_GENERATED `recording_ready_delay_seconds` later, when its
  Drive file appears (with a Drive change). Transcripts follow the same rules with a Docs file.
* Conference records disappear `conference_record_ttl_days` after they end; Drive files stay.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from . import ids
from .errors import ApiError
from .event_bus import EventBus
from .store import Store

DAY = 86400.0
RECORDING_MIME = "video/mp4"
DOC_MIME = "application/vnd.google-apps.document"
TEXT_MIME = "text/plain"  # transcripts when the setting transcript_format is "text"
# state collection -> the segment in Meet's resource names
SEGMENTS = {"recordings": "recordings", "transcripts": "transcripts", "smart_notes": "smartNotes"}
# artifact -> (state collection, Drive file title suffix)
ARTIFACTS = {
    "recording": ("recordings", "Recording"),
    "transcript": ("transcripts", "Transcript"),
    "smart_notes": ("smart_notes", "Notes by Gemini"),
}
KINDS = ("signedinUser", "anonymousUser", "phoneUser")


class SimulationError(ApiError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message, "invalid")


def default_space_config() -> dict[str, Any]:
    return {
        "accessType": "TRUSTED",
        "entryPointAccess": "ALL",
        "moderation": "OFF",
        "attendanceReportGenerationType": "DO_NOT_GENERATE",
        "artifactConfig": {
            "recordingConfig": {"autoRecordingGeneration": "OFF"},
            "transcriptionConfig": {"autoTranscriptionGeneration": "OFF"},
            "smartNotesConfig": {"autoSmartNotesGeneration": "OFF"},
        },
    }


class World:
    """The Meet/Drive side of the emulator state."""

    def __init__(self, store: Store, organizer_domain: str) -> None:
        self.store = store
        self.organizer_domain = organizer_domain.lower()
        self.events = EventBus(store)  # Workspace Events for subscribed space owners

    @property
    def state(self) -> dict[str, Any]:
        return self.store.state

    # ----- spaces ---------------------------------------------------------------------

    def create_space(
        self, owner: str, creator_app: str | None, config: dict[str, Any], now: float
    ) -> dict[str, Any]:
        codes = {space["meeting_code"] for space in self.state["spaces"].values()}
        code = ids.meeting_code()
        while code in codes:
            code = ids.meeting_code()
        space = {
            "id": ids.space_id(),
            "meeting_code": code,
            "owner": owner.lower(),
            "creator_app": creator_app,  # None: made by Calendar, not by an API client
            "config": config,
            "active_conference": None,
            "created": now,
        }
        self.state["spaces"][space["id"]] = space
        self.store.mark_dirty()
        return space

    def find_space(self, ref: str) -> dict[str, Any] | None:
        """A space by `spaces/{id}`, `{id}`, `spaces/{meetingCode}` or `{meetingCode}`."""
        key = ref.removeprefix("spaces/")
        space = self.state["spaces"].get(key)
        if space is not None:
            return space
        code = key.lower()
        for candidate in self.state["spaces"].values():
            if candidate["meeting_code"] == code:
                return candidate
        return None

    # ----- visibility -----------------------------------------------------------------

    @property
    def ttl(self) -> float:
        """Seconds a conference record lives after it ends."""
        return float(self.store.settings["conference_record_ttl_days"]) * DAY

    def expired(self, record: dict[str, Any], now: float) -> bool:
        return record["end"] is not None and now >= record["end"] + self.ttl

    def live_record(self, name: str, now: float) -> dict[str, Any] | None:
        record = self.state["conference_records"].get(name)
        if record is None or self.expired(record, now):
            return None
        return record

    # ----- conferences ----------------------------------------------------------------

    def start_conference(
        self, space: dict[str, Any], now: float, size: int | None = None
    ) -> dict[str, Any]:
        if space["active_conference"]:
            raise SimulationError(
                409, f"Space {space['meeting_code']} already has an active conference."
            )
        name = f"conferenceRecords/{ids.resource_id(20)}"
        record = {
            "name": name,
            "space": space["id"],
            "start": now,
            "end": None,
            "recording_wanted": None,  # None: follow the space's auto-recording setting
            "transcript_wanted": None,
            "active_recording": None,
            "active_transcript": None,
            "recording_size_bytes": int(
                size or self.store.settings["default_recording_size_bytes"]
            ),
        }
        self.state["conference_records"][name] = record
        space["active_conference"] = name
        self.events.meet_event("conference.v2.started", space, name, now)
        self.store.mark_dirty()
        return record

    def end_conference(self, record: dict[str, Any], now: float) -> None:
        if record["end"] is not None:
            raise SimulationError(409, f"{record['name']} has already ended.")
        for participant in self._participants(record):
            if participant["active_session"]:
                self._close_session(participant, now)
        for artifact in ARTIFACTS:
            self._stop_artifact(record, artifact, now)
        record["end"] = now
        space = self.state["spaces"][record["space"]]
        if space["active_conference"] == record["name"]:
            space["active_conference"] = None
        self.events.meet_event("conference.v2.ended", space, record["name"], now)
        self.store.mark_dirty()

    def active_record(self, space: dict[str, Any]) -> dict[str, Any] | None:
        name = space["active_conference"]
        return self.state["conference_records"][name] if name else None

    # ----- participants ---------------------------------------------------------------

    def _participants(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        prefix = record["name"] + "/participants/"
        return [p for name, p in self.state["participants"].items() if name.startswith(prefix)]

    def may_record(self, participant: dict[str, Any]) -> bool:
        email = participant.get("email") or ""
        return (
            participant["kind"] == "signedinUser"
            and email.rsplit("@", 1)[-1] == self.organizer_domain
        )

    def join(
        self,
        space: dict[str, Any],
        kind: str,
        email: str | None,
        display_name: str | None,
        now: float,
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        if kind not in KINDS:
            raise SimulationError(400, f"kind must be one of {', '.join(KINDS)}")
        if kind == "signedinUser":
            if not email or "@" not in email:
                raise SimulationError(400, "a signedinUser needs an email")
            email = email.lower()
            display_name = display_name or email.split("@", 1)[0].replace(".", " ").title()
        elif not display_name:
            raise SimulationError(400, f"an {kind} needs a display_name")
        record = self.active_record(space) or self.start_conference(space, now)
        participant = self._find_participant(record, kind, email, display_name)
        if participant is None:
            participant = {
                "name": f"{record['name']}/participants/{ids.resource_id(18)}",
                "kind": kind,
                "email": email if kind == "signedinUser" else None,
                "display_name": display_name,
                "earliest_start": now,
                "latest_end": None,
                "active_session": None,
            }
            self.state["participants"][participant["name"]] = participant
        if participant["active_session"]:
            raise SimulationError(409, f"{display_name} is already in the conference.")
        session = {
            "name": f"{participant['name']}/participantSessions/{ids.resource_id(16)}",
            "start": now,
            "end": None,
        }
        self.state["sessions"][session["name"]] = session
        participant["active_session"] = session["name"]
        participant["latest_end"] = None
        self.events.meet_event("participant.v2.joined", space, session["name"], now)
        self._evaluate(record, now)
        self.store.mark_dirty()
        return record, participant, session

    def _find_participant(
        self, record: dict[str, Any], kind: str, email: str | None, display_name: str | None
    ) -> dict[str, Any] | None:
        for participant in self._participants(record):
            if participant["kind"] != kind:
                continue
            if kind == "signedinUser" and participant["email"] == email:
                return participant
            if kind != "signedinUser" and participant["display_name"] == display_name:
                return participant
        return None

    def find_present(
        self, space: dict[str, Any], email: str | None, display_name: str | None
    ) -> dict[str, Any]:
        record = self.active_record(space)
        if record is not None:
            for participant in self._participants(record):
                same = (email and participant["email"] == email.lower()) or (
                    not email and display_name and participant["display_name"] == display_name
                )
                if same and participant["active_session"]:
                    return participant
        raise SimulationError(404, "no such participant in the active conference")

    def leave(self, participant: dict[str, Any], now: float) -> None:
        if not participant["active_session"]:
            raise SimulationError(409, f"{participant['display_name']} is not in the conference.")
        self._close_session(participant, now)
        record = self.state["conference_records"][participant["name"].split("/participants/")[0]]
        present = [p for p in self._participants(record) if p["active_session"]]
        if not present and self.store.settings["end_conference_when_empty"]:
            self.end_conference(record, now)
        self.store.mark_dirty()

    def _close_session(self, participant: dict[str, Any], now: float) -> None:
        session = participant["active_session"]
        self.state["sessions"][session]["end"] = now
        participant["active_session"] = None
        participant["latest_end"] = now
        record = self.state["conference_records"][participant["name"].split("/participants/")[0]]
        space = self.state["spaces"][record["space"]]
        self.events.meet_event("participant.v2.left", space, session, now)

    # ----- recordings and transcripts -------------------------------------------------

    def _auto(self, record: dict[str, Any], artifact: str) -> bool:
        config = self.state["spaces"][record["space"]]["config"].get("artifactConfig", {})
        if artifact == "recording":
            return config.get("recordingConfig", {}).get("autoRecordingGeneration") == "ON"
        if artifact == "smart_notes":
            return config.get("smartNotesConfig", {}).get("autoSmartNotesGeneration") == "ON"
        return config.get("transcriptionConfig", {}).get("autoTranscriptionGeneration") == "ON"

    def _evaluate(self, record: dict[str, Any], now: float) -> None:
        """Start whatever artifact is wanted once someone privileged to record is present."""
        if record["end"] is not None:
            return
        privileged = any(
            self.may_record(p) and p["active_session"] for p in self._participants(record)
        )
        if not privileged:
            return
        for artifact in ARTIFACTS:
            wanted = record.get(f"{artifact}_wanted")
            if wanted is None:
                wanted = self._auto(record, artifact)
            if wanted and not record.get(f"active_{artifact}"):
                self._start_artifact(record, artifact, now)

    def _start_artifact(self, record: dict[str, Any], artifact: str, now: float) -> None:
        collection = ARTIFACTS[artifact][0]
        name = f"{record['name']}/{SEGMENTS[collection]}/{ids.resource_id(20)}"
        item = {
            "name": name,
            "conference": record["name"],
            "start": now,
            "end": None,
            "ready_at": None,
            "file_id": None,
            "size": record["recording_size_bytes"],
        }
        self.state[collection][name] = item
        record[f"active_{artifact}"] = name

    def _stop_artifact(self, record: dict[str, Any], artifact: str, now: float) -> None:
        name = record.get(f"active_{artifact}")
        if not name:
            return
        collection = ARTIFACTS[artifact][0]
        item = self.state[collection][name]
        item["end"] = now
        delay = float(self.store.settings[f"{artifact}_ready_delay_seconds"])
        item["ready_at"] = now + delay
        record[f"active_{artifact}"] = None
        if artifact == "transcript":
            self._write_entries(item, now)

    def set_artifact(
        self, space: dict[str, Any], artifact: str, on: bool, by: str | None, now: float
    ) -> dict[str, Any]:
        """The sandbox presses "start/stop recording" (or transcription) in a live conference."""
        record = self.active_record(space)
        if record is None:
            raise SimulationError(409, f"Space {space['meeting_code']} has no active conference.")
        if on:
            if not by or by.lower().rsplit("@", 1)[-1] != self.organizer_domain:
                raise SimulationError(
                    403, f"only a member of {self.organizer_domain} may start a {artifact}"
                )
            if record[f"active_{artifact}"]:
                raise SimulationError(409, f"a {artifact} is already running")
            record[f"{artifact}_wanted"] = True
            self._evaluate(record, now)
        else:
            if not record[f"active_{artifact}"]:
                raise SimulationError(409, f"no {artifact} is running")
            record[f"{artifact}_wanted"] = False
            self._stop_artifact(record, artifact, now)
        self.store.mark_dirty()
        return record

    # ----- transcript text ------------------------------------------------------------

    def _write_entries(self, transcript: dict[str, Any], now: float) -> None:
        record = self.state["conference_records"][transcript["conference"]]
        spoken: list[tuple[float, float, dict[str, Any], int]] = []
        for participant in self._participants(record):
            prefix = participant["name"] + "/participantSessions/"
            sessions = sorted(
                (s for n, s in self.state["sessions"].items() if n.startswith(prefix)),
                key=lambda s: s["start"],
            )
            for number, session in enumerate(sessions, 1):
                start = max(session["start"], transcript["start"])
                end = min(session["end"] if session["end"] is not None else now, now)
                if end >= start:
                    spoken.append((start, end, participant, number))
        for start, end, participant, number in sorted(spoken, key=lambda s: (s[0], s[2]["name"])):
            name = f"{transcript['name']}/entries/{ids.resource_id(16)}"
            self.state["entries"][name] = {
                "name": name,
                "participant": participant["name"],
                "text": f"Hello, this is {participant['display_name']} (session {number}).",
                "language": "en-US",
                "start": start,
                "end": end,
            }

    def transcript_text(self, transcript: dict[str, Any]) -> str:
        record = self.state["conference_records"][transcript["conference"]]
        space = self.state["spaces"][record["space"]]
        entries = self.entries_of(transcript["name"])
        names = sorted(
            {self.state["participants"][e["participant"]]["display_name"] for e in entries}
        )
        lines = [
            f"{space['meeting_code']} - Transcript",
            "",
            "Attendees",
            ", ".join(names),
            "",
            "Transcript",
            "",
        ]
        for entry in entries:
            offset = int(entry["start"] - transcript["start"])
            lines.append(f"{offset // 3600:02d}:{offset % 3600 // 60:02d}:{offset % 60:02d}")
            speaker = self.state["participants"][entry["participant"]]["display_name"]
            lines.append(f"{speaker}: {entry['text']}")
        # Google Docs' text/plain export starts with a byte order mark and uses CRLF.
        return "\ufeff" + "\r\n".join(lines) + "\r\n"

    def entries_of(self, transcript_name: str) -> list[dict[str, Any]]:
        prefix = transcript_name + "/entries/"
        return sorted(
            (e for n, e in self.state["entries"].items() if n.startswith(prefix)),
            key=lambda e: (e["start"], e["name"]),
        )

    # ----- Drive side -----------------------------------------------------------------

    def materialize(self, now: float) -> None:
        """Produce the Drive files of every artifact whose generation delay has passed."""
        for collection, artifact in ARTIFACTS.values():
            ready = [
                i
                for i in self.state[collection].values()
                if i["ready_at"] is not None and not i["file_id"] and i["ready_at"] <= now
            ]
            for item in sorted(ready, key=lambda i: i["ready_at"]):
                self._create_file(item, artifact)
        self.events.tick(now)  # subscription reminders and expiry due by now

    def _create_file(self, item: dict[str, Any], artifact: str) -> None:
        record = self.state["conference_records"][item["conference"]]
        space = self.state["spaces"][record["space"]]
        stamp = datetime.fromtimestamp(item["start"], UTC).strftime("%Y-%m-%d %H:%M")
        file_id = ids.drive_file_id()
        recording = artifact == "Recording"
        # Meet writes transcripts as Google Docs, or (newer) as plain-text Drive files.
        text = artifact == "Transcript" and self.store.settings["transcript_format"] == "text"
        mime = RECORDING_MIME if recording else TEXT_MIME if text else DOC_MIME
        size = item["size"] if recording else None
        if text:
            size = len(self.transcript_text(item).encode("utf-8"))
        self.state["files"][file_id] = {
            "id": file_id,
            "name": f"{space['meeting_code']} ({stamp} GMT) - {artifact}"
            + (".mp4" if recording else ".txt" if text else ""),
            "mimeType": mime,
            "owner": space["owner"],
            "created": item["ready_at"],
            "size": size,
            "seed": file_id,  # content is a pure function of the id and the size
            "md5": None,
            "sha256": None,
            "source": item["name"],
        }
        item["file_id"] = file_id
        self.state["changes"].append({"fileId": file_id, "time": item["ready_at"]})
        action = {"Recording": "recording", "Transcript": "transcript"}.get(artifact, "smartNote")
        self.events.meet_event(f"{action}.v2.fileGenerated", space, item["name"], item["ready_at"])
        self.store.mark_dirty()

    def document_text(self, source: str) -> str:
        """The text of the Docs/text file made for artifact ``source`` (its resource name)."""
        if "/smartNotes/" in source:
            return self.smart_notes_text(self.state["smart_notes"][source])
        return self.transcript_text(self.state["transcripts"][source])

    def smart_notes_text(self, note: dict[str, Any]) -> str:
        record = self.state["conference_records"][note["conference"]]
        space = self.state["spaces"][record["space"]]
        names = sorted(
            {
                p["display_name"]
                for p in self._participants(record)
                if p["earliest_start"] <= (note["end"] or note["start"])
            }
        )
        minutes = int(((note["end"] or note["start"]) - note["start"]) // 60)
        lines = [
            f"{space['meeting_code']} - Notes by Gemini",
            "",
            "Summary",
            f"{', '.join(names)} met for {minutes} minutes.",
            "",
            "Next steps",
            "No suggested next steps were found for this meeting.",
        ]
        return "\ufeff" + "\r\n".join(lines) + "\r\n"
