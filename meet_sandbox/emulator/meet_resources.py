"""Meet v2 resources as the API shows them, made from the emulator's internal records."""

from __future__ import annotations

from typing import Any

from . import ids
from .clock import rfc3339


def render_space(space: dict[str, Any]) -> dict[str, Any]:
    code = space["meeting_code"]
    out: dict[str, Any] = {
        "name": f"spaces/{space['id']}",
        "meetingUri": f"https://meet.google.com/{code}",
        "meetingCode": code,
        "config": space["config"],
    }
    if space["active_conference"]:
        out["activeConference"] = {"conferenceRecord": space["active_conference"]}
    return out


def render_record(record: dict[str, Any], ttl: float) -> dict[str, Any]:
    out = {
        "name": record["name"],
        "startTime": rfc3339(record["start"]),
        "space": f"spaces/{record['space']}",
    }
    if record["end"] is not None:
        out["endTime"] = rfc3339(record["end"])
        out["expireTime"] = rfc3339(record["end"] + ttl)
    return out


def render_participant(participant: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": participant["name"],
        "earliestStartTime": rfc3339(participant["earliest_start"]),
    }
    if participant["latest_end"] is not None:
        out["latestEndTime"] = rfc3339(participant["latest_end"])
    if participant["kind"] == "signedinUser":
        # Meet names people by their numeric user id, never by email.
        out["signedinUser"] = {
            "user": f"users/{ids.user_id(participant['email'])}",
            "displayName": participant["display_name"],
        }
    else:
        out[participant["kind"]] = {"displayName": participant["display_name"]}
    return out


def render_session(session: dict[str, Any]) -> dict[str, Any]:
    out = {"name": session["name"], "startTime": rfc3339(session["start"])}
    if session["end"] is not None:
        out["endTime"] = rfc3339(session["end"])
    return out


def artifact_state(item: dict[str, Any]) -> str:
    """STARTED while running, ENDED until its file exists, then FILE_GENERATED."""
    if item["end"] is None:
        return "STARTED"
    return "FILE_GENERATED" if item["file_id"] else "ENDED"


def render_artifact(item: dict[str, Any], transcript: bool) -> dict[str, Any]:
    """A recording, or a transcript (`transcript=True`)."""
    out: dict[str, Any] = {
        "name": item["name"],
        "state": artifact_state(item),
        "startTime": rfc3339(item["start"]),
    }
    if item["end"] is not None:
        out["endTime"] = rfc3339(item["end"])
    file_id = item["file_id"]
    if file_id and transcript:
        out["docsDestination"] = {
            "document": file_id,
            "exportUri": f"https://docs.google.com/document/d/{file_id}/edit?usp=meet_tnfm_calendar",
        }
    elif file_id:
        out["driveDestination"] = {
            "file": file_id,
            "exportUri": f"https://drive.google.com/file/d/{file_id}/view?usp=drive_web",
        }
    return out


def render_entry(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": entry["name"],
        "participant": entry["participant"],
        "text": entry["text"],
        "languageCode": entry["language"],
        "startTime": rfc3339(entry["start"]),
        "endTime": rfc3339(entry["end"]),
    }
