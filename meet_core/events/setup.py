"""``meet-archive events setup``: the Pub/Sub topic Workspace Events publishes to, its
dead-letter topic and the pull subscription the pipeline reads, created where missing.

Idempotent: what exists is read and compared, never changed (a subscription on another
topic is an error an operator must resolve). The one grant only an admin can give is
printed, not attempted: Workspace Events publishes as
``meet-api-event-push@system.gserviceaccount.com``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from meet_core.google import Conflict, GoogleGateway, NotFound, validate

PUBLISHER = "meet-api-event-push@system.gserviceaccount.com"
ACK_DEADLINE_SECONDS = 60
RETENTION = "604800s"  # 7 days, Pub/Sub's longest: a week-long outage loses nothing
MAX_DELIVERY_ATTEMPTS = 10


def dead_letter_topic(topic: str) -> str:
    return topic + "-dead-letter"


def subscription_body(topic: str, dead_letter: str) -> dict[str, Any]:
    return {
        "topic": topic,
        "ackDeadlineSeconds": ACK_DEADLINE_SECONDS,
        "messageRetentionDuration": RETENTION,
        "enableExactlyOnceDelivery": True,
        "deadLetterPolicy": {
            "deadLetterTopic": dead_letter,
            "maxDeliveryAttempts": MAX_DELIVERY_ATTEMPTS,
        },
        "expirationPolicy": {},  # never expires for inactivity
    }


@dataclass
class SetupOutcome:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return (
            [f"created  {name}" for name in self.created]
            + [f"exists   {name}" for name in self.existing]
            + [f"warning  {text}" for text in self.warnings]
        )


class SetupError(ValueError):
    """What exists contradicts the configuration (the message says what to fix)."""


def grant_command(topic: str) -> str:
    project, _, name = topic.removeprefix("projects/").partition("/topics/")
    return (
        f"gcloud pubsub topics add-iam-policy-binding {name} --project={project} "
        f"--member=serviceAccount:{PUBLISHER} --role=roles/pubsub.publisher"
    )


def setup(
    gateway: GoogleGateway, *, topic: str, subscription: str, dead_letter: str | None = None
) -> SetupOutcome:
    outcome = SetupOutcome()
    dlq = validate.topic_name(dead_letter or dead_letter_topic(topic))  # before any change
    validate.topic_name(topic)
    validate.pubsub_subscription(subscription)
    for name in (topic, dlq):
        _ensure_topic(gateway, name, outcome)
    try:
        existing = gateway.get_pubsub_subscription(subscription)
    except NotFound:
        try:
            gateway.create_pubsub_subscription(subscription, subscription_body(topic, dlq))
            outcome.created.append(subscription)
            return outcome
        except Conflict:  # created meanwhile by another run: compare it below
            existing = gateway.get_pubsub_subscription(subscription)
    outcome.existing.append(subscription)
    if existing.get("topic") != topic:
        raise SetupError(
            f"{subscription} exists on topic {existing.get('topic')!r}, not {topic!r}: "
            "delete it or set MEET_EVENTS_SUBSCRIPTION to another name"
        )
    if not existing.get("enableExactlyOnceDelivery"):
        outcome.warnings.append(f"{subscription}: exactly-once delivery is off (ce-id dedupes)")
    if not (existing.get("deadLetterPolicy") or {}).get("deadLetterTopic"):
        outcome.warnings.append(f"{subscription}: no dead-letter topic")
    return outcome


def _ensure_topic(gateway: GoogleGateway, name: str, outcome: SetupOutcome) -> None:
    try:
        gateway.get_topic(name)
        outcome.existing.append(name)
    except NotFound:
        try:
            gateway.create_topic(name)
            outcome.created.append(name)
        except Conflict:
            outcome.existing.append(name)
