"""Workspace Events delivery: Meet changes and subscription lifecycle → Pub/Sub messages.

The simulation calls :meth:`EventBus.meet_event` when something happens in a space (the
organizer owns the space); every ACTIVE subscription whose target is the owner and whose
event types include the event gets one CloudEvent (binary mode) on its topic:
attributes ``ce-id``, ``ce-type``, ``ce-source`` (the subscription), ``ce-subject`` (the
space), ``ce-time``, ``ce-specversion``, and data with only the resource's name.

Delivery settings (seeded: the same `event_seed` gives the same drops, duplicates and
delays): `event_latency_seconds`, `event_reorder_seconds`, `event_duplicate_rate`,
`event_drop_rate`. Lifecycle events are never dropped or duplicated.

:meth:`EventBus.tick` runs with every request (after the world's materialization): the
expiration reminders 12 h and 1 h before `expireTime`, then `expired` and the
subscription's deletion, all at their own emulated times.
"""

from __future__ import annotations

import json
import random
from typing import Any

from . import ids, pubsub_v1
from .clock import rfc3339
from .store import Store

MEET = "google.workspace.meet."
LIFECYCLE = "google.workspace.events.subscription.v1."
EXPIRATION_REMINDER = LIFECYCLE + "expirationReminder"
EXPIRED = LIFECYCLE + "expired"
SUSPENDED = LIFECYCLE + "suspended"
USER_TARGET = "//cloudidentity.googleapis.com/users/"
SOURCE = "//workspaceevents.googleapis.com/"
SPACE_SUBJECT = "//meet.googleapis.com/spaces/"
REMINDERS = (("12h", 12 * 3600.0), ("1h", 3600.0))

# Meet event types the emulator emits, and the data key naming the resource.
MEET_EVENT_TYPES: dict[str, str] = {
    MEET + "conference.v2.started": "conferenceRecord",
    MEET + "conference.v2.ended": "conferenceRecord",
    MEET + "participant.v2.joined": "participantSession",
    MEET + "participant.v2.left": "participantSession",
    MEET + "recording.v2.fileGenerated": "recording",
    MEET + "transcript.v2.fileGenerated": "transcript",
    MEET + "smartNote.v2.fileGenerated": "smartNote",
}


def render_subscription(record: dict[str, Any]) -> dict[str, Any]:
    """The Subscription resource as the API shows it."""
    out: dict[str, Any] = {
        "name": record["name"],
        "uid": record["uid"],
        "targetResource": record["targetResource"],
        "eventTypes": list(record["eventTypes"]),
        "notificationEndpoint": {"pubsubTopic": record["topic"]},
        "state": record["state"],
        "authority": record["authority"],
        "userAuthority": record["authority"],
        "createTime": rfc3339(record["createTime"], digits=6),
        "updateTime": rfc3339(record["updateTime"], digits=6),
        "expireTime": rfc3339(record["expireTime"], digits=6),
        "etag": record["etag"],
    }
    if record.get("suspensionReason"):
        out["suspensionReason"] = record["suspensionReason"]
    return out


class EventBus:
    """Publishes Workspace events into the emulator's Pub/Sub; runs under the store lock."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def state(self) -> dict[str, Any]:
        return self.store.state

    # ----- Meet events ----------------------------------------------------------------

    def meet_event(self, action: str, space: dict[str, Any], resource: str, at: float) -> None:
        """`action` such as ``recording.v2.fileGenerated``; `resource` the resource name."""
        kind = MEET + action
        key = MEET_EVENT_TYPES[kind]
        target = USER_TARGET + ids.user_id(space["owner"])
        for record in sorted(self.state["ws_subscriptions"].values(), key=lambda r: r["name"]):
            if (
                record["targetResource"] != target
                or record["state"] != "ACTIVE"
                or kind not in record["eventTypes"]
                or not record["createTime"] <= at < record["expireTime"]
            ):
                continue
            self._send(
                record,
                kind,
                subject=SPACE_SUBJECT + space["id"],
                data={key: {"name": resource}},
                at=at,
                lifecycle=False,
            )

    # ----- lifecycle ------------------------------------------------------------------

    def suspend(self, record: dict[str, Any], reason: str, at: float) -> None:
        record["state"] = "SUSPENDED"
        record["suspensionReason"] = reason
        record["updateTime"] = at
        record["etag"] = ids.resource_id(12)
        self._lifecycle(record, SUSPENDED, at)
        self.store.mark_dirty()

    def tick(self, now: float) -> None:
        """Reminders and expiry that are due by `now`, each at its own time."""
        subscriptions = self.state["ws_subscriptions"]
        for name in sorted(subscriptions):
            record = subscriptions[name]
            for label, before in REMINDERS:
                at = record["expireTime"] - before
                if label in record["reminders"] or at > now:
                    continue
                record["reminders"].append(label)
                if at >= record["createTime"]:  # a short-lived subscription skips the 12 h one
                    self._lifecycle(record, EXPIRATION_REMINDER, at)
                self.store.mark_dirty()
            if record["expireTime"] <= now:
                self._lifecycle(record, EXPIRED, record["expireTime"])
                del subscriptions[name]  # deleted for good: get answers 404
                self.store.mark_dirty()

    def _lifecycle(self, record: dict[str, Any], kind: str, at: float) -> None:
        subject = SOURCE + record["name"]
        self._send(
            record,
            kind,
            subject=subject,
            data={"subscription": render_subscription(record)},
            at=at,
            lifecycle=True,
        )

    # ----- delivery -------------------------------------------------------------------

    def _send(
        self,
        record: dict[str, Any],
        kind: str,
        *,
        subject: str,
        data: dict[str, Any],
        at: float,
        lifecycle: bool,
    ) -> None:
        settings = self.store.settings
        self.state["event_sequence"] = sequence = int(self.state.get("event_sequence", 0)) + 1
        dice = random.Random(f"{settings['event_seed']}:{sequence}")
        # Every roll happens whatever the outcome, so one setting does not shift the others.
        dropped = dice.random() < float(settings["event_drop_rate"])
        doubled = dice.random() < float(settings["event_duplicate_rate"])
        delays = [dice.random() * float(settings["event_reorder_seconds"]) for _ in range(2)]
        if not lifecycle and dropped:
            return
        attributes = {
            "ce-id": ids.resource_id(24),
            "ce-type": kind,
            "ce-source": SOURCE + record["name"],
            "ce-subject": subject,
            "ce-time": rfc3339(at, digits=6),
            "ce-specversion": "1.0",
            "content-type": "application/json",
        }
        body = json.dumps(data, separators=(",", ":")).encode()
        copies = 2 if doubled and not lifecycle else 1
        latency = float(settings["event_latency_seconds"])
        for copy in range(copies):
            published = pubsub_v1.publish(self.store, record["topic"], body, attributes, at + latency + delays[copy])
            if not published and record["topic"] not in self.state["pubsub_topics"]:
                # The topic is gone: Google suspends the subscription (it cannot deliver).
                if record["state"] == "ACTIVE" and not lifecycle:
                    record["state"] = "SUSPENDED"
                    record["suspensionReason"] = "ENDPOINT_NOT_FOUND"
                    record["updateTime"] = at
                return
        self.store.mark_dirty()
