"""Pub/Sub v1 over REST, as the service account itself (no domain-wide delegation):
pull, acknowledge, modifyAckDeadline, and topic/subscription set-up."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from meet_core.google import validate
from meet_core.google.core import GatewayCore
from meet_core.google.events_types import PulledMessage
from meet_core.google.transport import SELF

MAX_PULL = 1000  # Pub/Sub's own ceiling for maxMessages
ACK_BATCH = 1000  # ackIds per acknowledge call


def _acknowledge(sub: str, body: dict[str, Any]) -> Callable[[Any], Any]:
    return lambda s: s.projects().subscriptions().acknowledge(subscription=sub, body=body)


def _modify(sub: str, body: dict[str, Any]) -> Callable[[Any], Any]:
    return lambda s: s.projects().subscriptions().modifyAckDeadline(subscription=sub, body=body)


class PubSubMethods(GatewayCore):
    def pull(self, subscription: str, *, max_messages: int = 100) -> list[PulledMessage]:
        """One synchronous pull (returns at once, possibly empty)."""
        sub = validate.pubsub_subscription(subscription)
        count = validate.positive(max_messages, "max_messages")
        body = {"maxMessages": min(count, MAX_PULL), "returnImmediately": True}
        data = self._execute(
            "pubsub",
            SELF,
            lambda s: s.projects().subscriptions().pull(subscription=sub, body=body),
        )
        return [PulledMessage.from_json(item) for item in data.get("receivedMessages") or ()]

    def acknowledge(self, subscription: str, ack_ids: Sequence[str]) -> None:
        sub = validate.pubsub_subscription(subscription)
        ids = list(ack_ids)
        for start in range(0, len(ids), ACK_BATCH):
            body = {"ackIds": ids[start : start + ACK_BATCH]}
            self._execute("pubsub", SELF, _acknowledge(sub, body))

    def modify_ack_deadline(
        self, subscription: str, ack_ids: Sequence[str], seconds: int
    ) -> None:
        """0 seconds hands the messages back for redelivery at once."""
        sub = validate.pubsub_subscription(subscription)
        deadline = validate.non_negative(seconds, "seconds")
        ids = list(ack_ids)
        for start in range(0, len(ids), ACK_BATCH):
            body = {"ackIds": ids[start : start + ACK_BATCH], "ackDeadlineSeconds": deadline}
            self._execute("pubsub", SELF, _modify(sub, body))

    def get_topic(self, topic: str) -> dict[str, Any]:
        name = validate.topic_name(topic)
        return dict(
            self._execute("pubsub", SELF, lambda s: s.projects().topics().get(topic=name))
        )

    def create_topic(self, topic: str) -> dict[str, Any]:
        """topics.create; an existing topic surfaces as :class:`Conflict`."""
        name = validate.topic_name(topic)
        return dict(
            self._execute(
                "pubsub", SELF, lambda s: s.projects().topics().create(name=name, body={})
            )
        )

    def get_pubsub_subscription(self, subscription: str) -> dict[str, Any]:
        sub = validate.pubsub_subscription(subscription)
        return dict(
            self._execute(
                "pubsub", SELF, lambda s: s.projects().subscriptions().get(subscription=sub)
            )
        )

    def create_pubsub_subscription(self, subscription: str, body: dict[str, Any]) -> dict[str, Any]:
        """subscriptions.create (a PUT with the subscription's settings)."""
        sub = validate.pubsub_subscription(subscription)
        return dict(
            self._execute(
                "pubsub",
                SELF,
                lambda s: s.projects().subscriptions().create(name=sub, body=body),
            )
        )
