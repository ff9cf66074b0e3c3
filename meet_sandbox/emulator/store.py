"""The emulator's whole state: one JSON-able dict behind one lock, saved atomically."""

from __future__ import annotations

import copy
import json
import os
import threading
from pathlib import Path
from typing import Any

from .clock import Clock

STATE_VERSION = 1
MiB = 1024 * 1024

DEFAULT_SETTINGS: dict[str, Any] = {
    # Calendar answers createRequest "pending" on insert, "success" on the next get.
    "create_request_pending": True,
    # Emulated seconds from the end of a recording / transcript to FILE_GENERATED.
    "recording_ready_delay_seconds": 60.0,
    "transcript_ready_delay_seconds": 90.0,
    "default_recording_size_bytes": MiB,
    # Small pages so that every multi-page code path gets exercised.
    "default_page_size": 10,
    "max_page_size": 100,
    "conference_record_ttl_days": 30,
    # Google ends a conference shortly after the last participant leaves.
    "end_conference_when_empty": True,
    "token_lifetime_seconds": 3600,
    # Keep JSON response bodies in the request log (schema checks, debugging).
    "record_response_bodies": False,
    "request_log_limit": 5000,
    # External accounts whose email people.get shows (the organizer's "other contacts").
    "external_visible_emails": [],
    # Subjects that may read Directory users.get with viewType=admin_view.
    "directory_admins": [],
    # Scopes the Workspace admin has not granted the service account for domain-wide
    # delegation: a delegated token asking for any of them is refused (unauthorized_client).
    "withheld_scopes": [],
    # How Meet writes transcripts to Drive: "google_doc" (export only) or "text" (alt=media).
    "transcript_format": "google_doc",
    # Emulated seconds from the end of a smart-notes session to FILE_GENERATED.
    "smart_notes_ready_delay_seconds": 120.0,
    # Workspace Events delivery into Pub/Sub (docs/emulator.md "Workspace Events and Pub/Sub").
    "event_latency_seconds": 0.0,  # emulated seconds from the change to the Pub/Sub publish
    "event_reorder_seconds": 0.0,  # extra random delay in [0, this): later events may overtake
    "event_duplicate_rate": 0.0,  # fraction of events published twice (same ce-id)
    "event_drop_rate": 0.0,  # fraction of events never published
    "event_seed": 0,  # the delivery dice: same seed, same drops/duplicates/delays
    # subscriptions.create/patch/delete/reactivate answer an operation that is done only on
    # the first operations.get (as Google's usually is), else done at once.
    "subscription_operation_pending": True,
}


def empty_state() -> dict[str, Any]:
    return {
        "version": STATE_VERSION,
        "clock_offset": 0.0,
        "settings": dict(DEFAULT_SETTINGS),
        "service_accounts": {},  # client_email -> {key_id, public_key_pem, path?}
        "tokens": {},  # access token -> {iss, sub, scopes, expires_at}
        "events": {},  # "calendarId/eventId" -> event record
        "spaces": {},  # space id -> space record
        "conference_records": {},  # "conferenceRecords/x" -> record
        "participants": {},
        "sessions": {},
        "recordings": {},
        "transcripts": {},
        "entries": {},
        "smart_notes": {},  # "conferenceRecords/x/smartNotes/y" -> Gemini's notes
        "files": {},  # Drive file id -> file record
        "changes": [],  # Drive change log: [{fileId, time}]
        "invitations": [],
        "counter": 0,
        # Workspace Events v1 and Pub/Sub v1 (events_v1.py, pubsub_v1.py, event_bus.py)
        "ws_subscriptions": {},  # "subscriptions/x" -> subscription record
        "ws_operations": {},  # "operations/x" -> {done_on_get, subject, result}
        "pubsub_topics": {},  # "projects/p/topics/t" -> topic resource
        "pubsub_subscriptions": {},  # "projects/p/subscriptions/s" -> subscription resource
        "pubsub_messages": {},  # subscription name -> {message id -> message record}
        "event_sequence": 0,  # events emitted so far: the delivery dice's input
        "event_counts": {},  # ce-type -> {published, dropped, duplicated}
    }


# Collections newer than some saved states: a state file without them is still version 1.
ADDED_LATER = frozenset(
    {
        "smart_notes",
        "ws_subscriptions",
        "ws_operations",
        "pubsub_topics",
        "pubsub_subscriptions",
        "pubsub_messages",
        "event_sequence",
        "event_counts",
    }
)


class StateFileError(ValueError):
    """The state file cannot be used; the message names it."""


def _load(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StateFileError(f"{path}: not a readable emulator state file ({exc})") from None
    if not isinstance(loaded, dict) or loaded.get("version") != STATE_VERSION:
        raise StateFileError(f"{path}: not an emulator state file of version {STATE_VERSION}")
    missing = set(empty_state()) - set(loaded) - ADDED_LATER
    if missing:
        raise StateFileError(f"{path}: state file lacks {sorted(missing)}")
    return loaded


class Store:
    """State plus lock; `save()` is a no-op without a state file."""

    def __init__(self, state_file: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.state_file = Path(state_file) if state_file else None
        self.state = empty_state()
        if self.state_file and self.state_file.exists():
            loaded = _load(self.state_file)
            self.state.update(loaded)
            self.state["settings"] = {**DEFAULT_SETTINGS, **loaded.get("settings", {})}
        self.clock = Clock(self.state["clock_offset"])
        self.dirty = False

    @property
    def settings(self) -> dict[str, Any]:
        return self.state["settings"]

    def next_number(self) -> int:
        with self.lock:
            self.state["counter"] += 1
            self.dirty = True
            return int(self.state["counter"])

    def mark_dirty(self) -> None:
        self.dirty = True

    def reset(self) -> None:
        with self.lock:
            accounts = self.state["service_accounts"]
            self.state = empty_state()
            self.state["service_accounts"] = accounts  # keys stay: they are on disk too
            self.clock.offset = 0.0
            self.dirty = True

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            self.state["clock_offset"] = self.clock.offset
            return copy.deepcopy(self.state)

    def save(self) -> None:
        """Write the state atomically (temp file + rename) if it changed."""
        if not self.state_file or not self.dirty:
            return
        with self.lock:
            self.state["clock_offset"] = self.clock.offset
            text = json.dumps(self.state, sort_keys=True)
            self.dirty = False
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.state_file.with_name(self.state_file.name + f".{os.getpid()}.tmp")
            tmp.write_text(text)
            os.replace(tmp, self.state_file)
