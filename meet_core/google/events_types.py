"""Typed results of Workspace Events, People and Pub/Sub calls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from meet_core.google.types import parse_time

# The Meet events the pipeline subscribes to (lifecycle events come without asking).
MEET_EVENT_TYPES: tuple[str, ...] = (
    "google.workspace.meet.conference.v2.started",
    "google.workspace.meet.conference.v2.ended",
    "google.workspace.meet.participant.v2.joined",
    "google.workspace.meet.participant.v2.left",
    "google.workspace.meet.recording.v2.fileGenerated",
    "google.workspace.meet.transcript.v2.fileGenerated",
)


@dataclass(frozen=True, slots=True)
class WorkspaceSubscription:
    """A Workspace Events subscription (``subscriptions/…``)."""

    name: str
    target_resource: str
    event_types: tuple[str, ...]
    state: str  # ACTIVE, SUSPENDED, DELETED, STATE_UNSPECIFIED
    suspension_reason: str | None
    expire_time: datetime | None
    topic: str | None
    etag: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WorkspaceSubscription:
        endpoint = data.get("notificationEndpoint") or {}
        reason = data.get("suspensionReason")
        return cls(
            name=str(data["name"]),
            target_resource=str(data.get("targetResource", "")),
            event_types=tuple(str(t) for t in data.get("eventTypes") or ()),
            state=str(data.get("state", "STATE_UNSPECIFIED")),
            suspension_reason=(
                str(reason) if reason and reason != "ERROR_TYPE_UNSPECIFIED" else None
            ),
            expire_time=parse_time(data.get("expireTime")),
            topic=endpoint.get("pubsubTopic") if isinstance(endpoint, Mapping) else None,
            etag=data.get("etag") if isinstance(data.get("etag"), str) else None,
        )


@dataclass(frozen=True, slots=True)
class PulledMessage:
    """One Pub/Sub message as pulled: ``ack_id`` acknowledges this delivery only."""

    ack_id: str
    message_id: str
    attributes: Mapping[str, str]
    data: bytes
    publish_time: datetime | None
    delivery_attempt: int | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PulledMessage:
        import base64
        import binascii

        message = data.get("message") or {}
        raw = message.get("data") or ""
        try:
            body = base64.b64decode(raw, validate=True) if raw else b""
        except (binascii.Error, ValueError):
            body = b""  # kept as an unreadable event, not a crash of the whole pull
        attempt = data.get("deliveryAttempt")
        return cls(
            ack_id=str(data["ackId"]),
            message_id=str(message.get("messageId", "")),
            attributes={str(k): str(v) for k, v in (message.get("attributes") or {}).items()},
            data=body,
            publish_time=parse_time(message.get("publishTime")),
            delivery_attempt=attempt if isinstance(attempt, int) else None,
        )
