"""Real google-api-python-client services for the emulator's Workspace Events, People and
Pub/Sub: the first two impersonate a user, Pub/Sub is the service account acting as itself
(no `sub` in its JWT)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.oauth2 import service_account
from googleapiclient.discovery import Resource, build

from .conftest import ORGANIZER, SPACE_READONLY, _signer, credentials

PUBSUB = "https://www.googleapis.com/auth/pubsub"
PROFILE = "https://www.googleapis.com/auth/userinfo.profile"
USER_TARGET = "//cloudidentity.googleapis.com/users/"
TOPIC = "projects/emulator-tests/topics/meet-events"
DEAD_LETTERS = "projects/emulator-tests/topics/meet-events-dead-letters"
PULL = "projects/emulator-tests/subscriptions/meet-pipeline"
MEET_TYPES = [
    "google.workspace.meet.conference.v2.started",
    "google.workspace.meet.conference.v2.ended",
    "google.workspace.meet.participant.v2.joined",
    "google.workspace.meet.participant.v2.left",
    "google.workspace.meet.recording.v2.fileGenerated",
    "google.workspace.meet.transcript.v2.fileGenerated",
]


def _build(api: str, version: str, creds: Any, base_url: str) -> Resource:
    return build(
        api,
        version,
        credentials=creds,
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": base_url + "/"},
    )


def self_credentials(key_file: Path, base_url: str, scopes: list[str]) -> Any:
    """The service account as itself: no subject, so no `sub` claim."""
    text = key_file.read_text()
    info = json.loads(text)
    return service_account.Credentials(
        _signer(text),
        service_account_email=info["client_email"],
        token_uri=base_url + "/token",
        scopes=scopes,
        project_id=info["project_id"],
    )


def pubsub(key_file: Path, base_url: str, scopes: list[str] | None = None) -> Resource:
    creds = self_credentials(key_file, base_url, scopes or [PUBSUB])
    return _build("pubsub", "v1", creds, base_url)


def events(key_file: Path, base_url: str, scopes: list[str] | None = None, subject: str = ORGANIZER) -> Resource:
    creds = credentials(key_file, base_url, scopes or [SPACE_READONLY], subject)
    return _build("workspaceevents", "v1", creds, base_url)


def people(key_file: Path, base_url: str, subject: str = ORGANIZER) -> Resource:
    return _build("people", "v1", credentials(key_file, base_url, [PROFILE], subject), base_url)


@dataclass
class EventsApis:
    pubsub: Resource
    events: Resource
    people: Resource

    def user_id(self) -> str:
        me = self.people.people().get(resourceName="people/me", personFields="metadata")
        return str(me.execute()["resourceName"]).removeprefix("people/")

    def setup(self, **subscription: Any) -> None:
        """The topic, its dead-letter topic and a pull subscription on it."""
        topics = self.pubsub.projects().topics()
        topics.create(name=TOPIC, body={}).execute()
        topics.create(name=DEAD_LETTERS, body={}).execute()
        body = {"topic": TOPIC, "ackDeadlineSeconds": 60, **subscription}
        self.pubsub.projects().subscriptions().create(name=PULL, body=body).execute()

    def subscribe(self, event_types: list[str] | None = None, **extra: Any) -> dict[str, Any]:
        """subscriptions.create for the impersonated user, its operation polled to done."""
        body = {
            "targetResource": USER_TARGET + self.user_id(),
            "eventTypes": event_types or MEET_TYPES,
            "notificationEndpoint": {"pubsubTopic": TOPIC},
            **extra,
        }
        operation = self.events.subscriptions().create(body=body).execute()
        return self.finish(operation)

    def finish(self, operation: dict[str, Any]) -> dict[str, Any]:
        if not operation.get("done"):
            operation = self.events.operations().get(name=operation["name"]).execute()
        assert operation["done"] is True and "error" not in operation
        response = dict(operation["response"])
        response.pop("@type")
        return response

    def pull(self, most: int = 100) -> list[dict[str, Any]]:
        answer = self.pubsub.projects().subscriptions().pull(subscription=PULL, body={"maxMessages": most}).execute()
        return list(answer.get("receivedMessages", []))

    def ack(self, received: list[dict[str, Any]]) -> None:
        body = {"ackIds": [r["ackId"] for r in received]}
        self.pubsub.projects().subscriptions().acknowledge(subscription=PULL, body=body).execute()


def apis(key_file: Path, base_url: str, subject: str = ORGANIZER) -> EventsApis:
    return EventsApis(
        pubsub=pubsub(key_file, base_url),
        events=events(key_file, base_url, subject=subject),
        people=people(key_file, base_url, subject),
    )
