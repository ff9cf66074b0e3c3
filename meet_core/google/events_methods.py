"""Workspace Events v1 (subscriptions and their long-running operations) and People v1
(``people/me``), both impersonating the organizer whose meetings are subscribed to."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from meet_core.google import validate
from meet_core.google.core import GatewayCore
from meet_core.google.errors import GoogleError
from meet_core.google.events_types import MEET_EVENT_TYPES, WorkspaceSubscription

USER_TARGET = "//cloudidentity.googleapis.com/users/"
# subscriptions.create answers with an operation; it is done within seconds at Google.
OPERATION_POLLS = 10
OPERATION_POLL_SECONDS = 0.5


def _ttl(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds < 0:
        raise ValueError(f"ttl must not be negative, got {value!r}")
    return f"{seconds}s"  # 0s: the longest Google allows


def _get_operation(name: str) -> Callable[[Any], Any]:
    return lambda s: s.operations().get(name=name)


class EventsMethods(GatewayCore):
    def user_id(self, *, subject: str | None = None) -> str:
        """The impersonated user's id (``people/{id}`` → ``{id}``): what a Workspace Events
        target ``//cloudidentity.googleapis.com/users/{id}`` names."""
        who = self._subject(subject)
        data = self._execute(
            "people",
            who,
            lambda s: s.people().get(resourceName="people/me", personFields="metadata"),
        )
        name = str(data.get("resourceName", ""))
        if not name.startswith("people/") or name == "people/":
            raise GoogleError(f"people.get: unexpected resourceName {name!r}", reason="badResponse")
        return name.removeprefix("people/")

    def create_subscription(
        self,
        *,
        user_id: str,
        topic: str,
        subject: str | None = None,
        event_types: tuple[str, ...] = MEET_EVENT_TYPES,
        ttl: timedelta = timedelta(0),
    ) -> WorkspaceSubscription:
        """subscriptions.create for every space the user owns, then its operation polled
        to the end. ``ALREADY_EXISTS`` (409) surfaces as :class:`Conflict`."""
        who = self._subject(subject)
        body = {
            "targetResource": USER_TARGET + validate.user_id(user_id),
            "eventTypes": list(event_types),
            "notificationEndpoint": {"pubsubTopic": validate.topic_name(topic)},
            "ttl": _ttl(ttl),
        }
        operation = self._execute(
            "workspaceevents", who, lambda s: s.subscriptions().create(body=body)
        )
        return WorkspaceSubscription.from_json(self._finish(operation, who))

    def get_subscription(self, name: str, *, subject: str | None = None) -> WorkspaceSubscription:
        sub = validate.subscription_name(name)
        who = self._subject(subject)
        return WorkspaceSubscription.from_json(
            self._execute("workspaceevents", who, lambda s: s.subscriptions().get(name=sub))
        )

    def list_subscriptions(
        self, *, subject: str | None = None, event_types: tuple[str, ...] = MEET_EVENT_TYPES
    ) -> list[WorkspaceSubscription]:
        """subscriptions.list; Google requires the filter to name event types."""
        who = self._subject(subject)
        query = " OR ".join(f'event_types:"{t}"' for t in event_types)
        items = self._list_all(
            "workspaceevents",
            who,
            lambda s, token: s.subscriptions().list(filter=query, pageSize=100, pageToken=token),
            "subscriptions",
        )
        return [WorkspaceSubscription.from_json(item) for item in items]

    def renew_subscription(
        self, name: str, *, subject: str | None = None, ttl: timedelta = timedelta(0)
    ) -> WorkspaceSubscription:
        """subscriptions.patch of ``ttl`` only (0: the longest Google allows)."""
        sub = validate.subscription_name(name)
        who = self._subject(subject)
        body = {"ttl": _ttl(ttl)}
        operation = self._execute(
            "workspaceevents",
            who,
            lambda s: s.subscriptions().patch(name=sub, updateMask="ttl", body=body),
        )
        return WorkspaceSubscription.from_json(self._finish(operation, who))

    def reactivate_subscription(
        self, name: str, *, subject: str | None = None
    ) -> WorkspaceSubscription:
        sub = validate.subscription_name(name)
        who = self._subject(subject)
        operation = self._execute(
            "workspaceevents", who, lambda s: s.subscriptions().reactivate(name=sub, body={})
        )
        return WorkspaceSubscription.from_json(self._finish(operation, who))

    def delete_subscription(self, name: str, *, subject: str | None = None) -> None:
        sub = validate.subscription_name(name)
        who = self._subject(subject)
        operation = self._execute(
            "workspaceevents",
            who,
            lambda s: s.subscriptions().delete(name=sub, allowMissing=True),
        )
        self._finish(operation, who)

    def _finish(self, operation: dict[str, Any], subject: str) -> dict[str, Any]:
        """Poll ``operations.get`` until done; the response, or the operation's error."""
        for poll in range(OPERATION_POLLS):
            if operation.get("done"):
                error = operation.get("error")
                if error:
                    raise GoogleError(
                        f"operation {operation.get('name')}: {error.get('message', error)}",
                        reason=str(error.get("code", "operationFailed")),
                    )
                response = operation.get("response") or {}
                response.pop("@type", None)
                return dict(response)
            name = str(operation.get("name", ""))
            if not name.startswith("operations/"):
                raise GoogleError(f"unexpected operation {name!r}", reason="badResponse")
            if poll:  # the first look goes at once: Google's are usually done by then
                time.sleep(OPERATION_POLL_SECONDS)
            operation = self._execute("workspaceevents", subject, _get_operation(name))
        raise GoogleError("operation did not finish in time", reason="operationTimeout")
