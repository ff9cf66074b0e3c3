"""Read a pulled Pub/Sub message as the CloudEvent (binary mode) Workspace Events sends.

Pure functions: no database, no Google. A message that is not a readable Workspace event
still yields a :class:`WorkspaceEvent` (kind ``unreadable``), so that it is stored, counted
and acknowledged instead of being redelivered for ever.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from meet_core.google.events_types import PulledMessage
from meet_core.google.types import parse_time

MEET = "google.workspace.meet."
CONFERENCE_STARTED = "google.workspace.meet.conference.v2.started"
CONFERENCE_ENDED = "google.workspace.meet.conference.v2.ended"
PARTICIPANT_JOINED = "google.workspace.meet.participant.v2.joined"
PARTICIPANT_LEFT = "google.workspace.meet.participant.v2.left"
RECORDING_GENERATED = "google.workspace.meet.recording.v2.fileGenerated"
TRANSCRIPT_GENERATED = "google.workspace.meet.transcript.v2.fileGenerated"
SMART_NOTE_GENERATED = "google.workspace.meet.smartNote.v2.fileGenerated"
LIFECYCLE = "google.workspace.events.subscription.v1."
EXPIRATION_REMINDER = LIFECYCLE + "expirationReminder"
EXPIRED = LIFECYCLE + "expired"
SUSPENDED = LIFECYCLE + "suspended"
UNREADABLE = "unreadable"
# The Meet events that need work (a read, a row): the others (joined/left, smart notes)
# are stored already ignored, so they never queue ahead of those that do.
WORK_TYPES = (CONFERENCE_STARTED, CONFERENCE_ENDED, RECORDING_GENERATED, TRANSCRIPT_GENERATED)

# Which key of the event's data names the resource, per event type.
_RESOURCE_KEY = {
    CONFERENCE_STARTED: "conferenceRecord",
    CONFERENCE_ENDED: "conferenceRecord",
    PARTICIPANT_JOINED: "participantSession",
    PARTICIPANT_LEFT: "participantSession",
    RECORDING_GENERATED: "recording",
    TRANSCRIPT_GENERATED: "transcript",
    SMART_NOTE_GENERATED: "smartNote",
}
SPACE_SUBJECT = "//meet.googleapis.com/"
SUBSCRIPTION_SOURCE = "//workspaceevents.googleapis.com/"


@dataclass(frozen=True, slots=True)
class WorkspaceEvent:
    ce_id: str
    type: str
    source: str | None  # the subscription, "//workspaceevents.googleapis.com/subscriptions/…"
    subject: str | None  # the space, "//meet.googleapis.com/spaces/…"
    time: datetime | None
    resource_name: str | None  # "conferenceRecords/…/recordings/…"
    suspension_reason: str | None = None
    error: str | None = None

    @property
    def space_name(self) -> str | None:
        if self.subject and self.subject.startswith(SPACE_SUBJECT + "spaces/"):
            return self.subject.removeprefix(SPACE_SUBJECT)
        return None

    @property
    def subscription_name(self) -> str | None:
        """``subscriptions/…`` of a lifecycle event (its subject), else of the source."""
        for value in (self.subject, self.source):
            if value and value.startswith(SUBSCRIPTION_SOURCE + "subscriptions/"):
                return value.removeprefix(SUBSCRIPTION_SOURCE)
        return None

    @property
    def conference_record(self) -> str | None:
        """``conferenceRecords/{id}``, the head of the resource name."""
        if not self.resource_name or not self.resource_name.startswith("conferenceRecords/"):
            return None
        return "/".join(self.resource_name.split("/")[:2])

    @property
    def is_lifecycle(self) -> bool:
        return self.type.startswith(LIFECYCLE)


def read_message(message: PulledMessage) -> WorkspaceEvent:
    attributes = message.attributes
    ce_id = attributes.get("ce-id", "").strip()
    kind = attributes.get("ce-type", "").strip()
    if not ce_id or not kind or len(ce_id) > 250 or len(kind) > 120:
        # Keyed by Pub/Sub's message id: stored and acknowledged once, never handled.
        return WorkspaceEvent(
            ce_id=f"pubsub:{message.message_id or message.ack_id[:200]}",
            type=UNREADABLE,
            source=None,
            subject=None,
            time=message.publish_time,
            resource_name=None,
            error="message without ce-id or ce-type",
        )
    try:
        time = parse_time(attributes.get("ce-time"))
    except ValueError:
        time = None
    data, error = _data(message.data)
    resource: str | None = None
    key = _RESOURCE_KEY.get(kind)
    if key is not None:
        item = data.get(key)
        name = item.get("name") if isinstance(item, dict) else None
        resource = name if isinstance(name, str) and len(name) <= 300 else None
        if resource is None:
            error = error or f"data has no {key}.name"
    reason = None
    if kind == SUSPENDED:
        subscription = data.get("subscription")
        value = subscription.get("suspensionReason") if isinstance(subscription, dict) else None
        reason = str(value)[:100] if value else None
    return WorkspaceEvent(
        ce_id=ce_id,
        type=kind,
        source=_short(attributes.get("ce-source")),
        subject=_short(attributes.get("ce-subject")),
        time=time or message.publish_time,
        resource_name=resource,
        suspension_reason=reason,
        error=error,
    )


def _short(value: str | None) -> str | None:
    return value[:300] if value else None


def _data(raw: bytes) -> tuple[dict[str, object], str | None]:
    if not raw:
        return {}, None
    try:
        value = json.loads(raw)
    except ValueError:
        return {}, "data is not JSON"
    return (value, None) if isinstance(value, dict) else ({}, "data is not a JSON object")
