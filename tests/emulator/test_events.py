"""Workspace Events v1 and Pub/Sub v1 in the emulator, through the real
google-api-python-client over HTTP: methods, AIP-193 errors, scopes, the Meet events the
simulation emits for subscribed owners, at-least-once redelivery on the emulated clock,
the delivery settings (drop, duplicate, latency, reorder; seeded), lifecycle events and the
control call that suspends a subscription."""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from meet_sandbox.emulator import EmulatorServer, SandboxClient
from meet_sandbox.emulator.client import SandboxError

from .conftest import CALENDAR_EVENTS, ORGANIZER, SPACE_CREATED, Google, create_space
from .events_clients import (
    DEAD_LETTERS,
    MEET_TYPES,
    PULL,
    TOPIC,
    USER_TARGET,
    EventsApis,
    apis,
    events,
    pubsub,
)

COLLEAGUE = "colleague@example.com"
EVENT_FILTER = " OR ".join(f'event_types:"{t}"' for t in MEET_TYPES)
LIFECYCLE = "google.workspace.events.subscription.v1."


@pytest.fixture
def api(key_file: Path, server: EmulatorServer) -> EventsApis:
    made = apis(key_file, server.base_url)
    made.setup()
    return made


def error_of(call: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HttpError) as caught:
        call.execute()
    return caught.value.resp.status, json.loads(caught.value.content)["error"]


def events_of(received: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (
            r["message"]["attributes"]["ce-type"],
            json.loads(base64.b64decode(r["message"]["data"])),
        )
        for r in received
    ]


def meeting(google: Google, sandbox: SandboxClient) -> dict[str, Any]:
    """A recorded meeting of the organizer's space: joined, left, ended, file generated."""
    space = create_space(google, recording="ON")
    joined = sandbox.join(space["name"], ORGANIZER)
    sandbox.leave(space["name"], ORGANIZER)
    sandbox.advance(61)  # past recording_ready_delay_seconds: FILE_GENERATED
    return {"space": space, **joined}


# ----- Workspace Events methods ----------------------------------------------------------


def test_subscription_methods_answer_as_google(api: EventsApis, sandbox: SandboxClient) -> None:
    user = api.user_id()
    body = {
        "targetResource": USER_TARGET + user,
        "eventTypes": MEET_TYPES,
        "notificationEndpoint": {"pubsubTopic": TOPIC},
        "ttl": "0s",
    }
    operation = api.events.subscriptions().create(body=body).execute()
    assert operation["name"].startswith("operations/") and not operation.get("done")
    made = api.finish(operation)
    assert made["state"] == "ACTIVE" and made["targetResource"] == USER_TARGET + user
    assert made["authority"] == f"users/{user}"
    now = sandbox.call("GET", "clock")["now"]
    assert made["expireTime"][:10] > now[:10]  # 7 days on
    subscriptions = api.events.subscriptions()
    assert subscriptions.get(name=made["name"]).execute()["eventTypes"] == MEET_TYPES
    listed = subscriptions.list(filter=EVENT_FILTER).execute()
    assert [s["name"] for s in listed["subscriptions"]] == [made["name"]]
    narrowed = f'event_types:"{MEET_TYPES[0]}" AND target_resource="{USER_TARGET}1"'
    assert subscriptions.list(filter=narrowed).execute() == {"subscriptions": []}

    # a second subscription for the same user and target
    status, error = error_of(subscriptions.create(body=body))
    assert (status, error["status"]) == (409, "ALREADY_EXISTS")

    renewed = api.finish(subscriptions.patch(name=made["name"], updateMask="ttl", body={"ttl": "3600s"}).execute())
    assert renewed["expireTime"] < made["expireTime"]
    fewer = api.finish(
        subscriptions.patch(name=made["name"], updateMask="event_types", body={"eventTypes": MEET_TYPES[:2]}).execute()
    )
    assert fewer["eventTypes"] == MEET_TYPES[:2] and fewer["expireTime"] == renewed["expireTime"]

    status, error = error_of(subscriptions.reactivate(name=made["name"], body={}))
    assert (status, error["status"]) == (400, "FAILED_PRECONDITION")  # ACTIVE, not SUSPENDED

    assert api.finish(subscriptions.delete(name=made["name"]).execute()) == {}
    status, error = error_of(subscriptions.get(name=made["name"]))
    assert (status, error["status"]) == (404, "NOT_FOUND")
    api.finish(subscriptions.delete(name=made["name"], allowMissing=True).execute())
    status, _ = error_of(subscriptions.delete(name=made["name"]))
    assert status == 404
    api.subscribe()  # the target is free again


def test_list_needs_a_filter_naming_event_types(api: EventsApis) -> None:
    subscriptions = api.events.subscriptions()
    for query in (None, "", f'target_resource="{USER_TARGET}1"', "garbage:"):
        call = subscriptions.list() if query is None else subscriptions.list(filter=query)
        status, error = error_of(call)
        assert (status, error["status"]) == (400, "INVALID_ARGUMENT"), query
    status, _ = error_of(subscriptions.list(filter=EVENT_FILTER, pageToken="forged"))
    assert status == 400


def test_each_user_lists_only_their_own(key_file: Path, server: EmulatorServer) -> None:
    names = set()
    for who in (ORGANIZER, COLLEAGUE):
        api = apis(key_file, server.base_url, subject=who)
        if who == ORGANIZER:
            api.setup()
        names.add(api.subscribe()["name"])
    # each user sees only their own subscriptions
    organizer = apis(key_file, server.base_url).events.subscriptions()
    page = organizer.list(filter=EVENT_FILTER, pageSize=1).execute()
    assert len(page["subscriptions"]) == 1 and "nextPageToken" not in page


@pytest.mark.parametrize(
    "change",
    [
        {"eventTypes": []},
        {"eventTypes": ["google.workspace.chat.message.v1.created"]},
        {"targetResource": "//meet.googleapis.com/spaces/abc"},
        {"targetResource": USER_TARGET + "not-a-number"},
        {"notificationEndpoint": {"pubsubTopic": "meet-events"}},
        {"ttl": "8d"},
        {"ttl": "604801s"},
        {"ttl": "60s", "expireTime": "2030-01-01T00:00:00Z"},
        {"expireTime": "2000-01-01T00:00:00Z"},
        {"unknownField": 1},
        {"eventTypes": "google.workspace.meet.conference.v2.started"},
        {"payloadOptions": {"includeResource": True}},
    ],
)
def test_bad_subscription_bodies_are_400(api: EventsApis, change: dict[str, Any]) -> None:
    body = {
        "targetResource": USER_TARGET + api.user_id(),
        "eventTypes": MEET_TYPES,
        "notificationEndpoint": {"pubsubTopic": TOPIC},
        **change,
    }
    status, error = error_of(api.events.subscriptions().create(body=body))
    assert (status, error["status"]) == (400, "INVALID_ARGUMENT")
    assert api.events.subscriptions().list(filter=EVENT_FILTER).execute() == {"subscriptions": []}


def test_bad_patches_are_400_and_change_nothing(api: EventsApis) -> None:
    made = api.subscribe()
    subscriptions = api.events.subscriptions()
    for mask, body in (
        ("notification_endpoint", {"notificationEndpoint": {"pubsubTopic": TOPIC}}),
        ("ttl", {"ttl": "forever"}),
        ("event_types", {"eventTypes": []}),
        (None, {}),
    ):
        call = (
            subscriptions.patch(name=made["name"], updateMask=mask, body=body)
            if mask
            else subscriptions.patch(name=made["name"], body=body)
        )
        status, error = error_of(call)
        assert (status, error["status"]) == (400, "INVALID_ARGUMENT"), mask
    assert subscriptions.get(name=made["name"]).execute() == made


def test_subscriptions_need_meet_readonly_as_the_subscribed_user(
    api: EventsApis, key_file: Path, server: EmulatorServer
) -> None:
    body = {
        "targetResource": USER_TARGET + api.user_id(),
        "eventTypes": MEET_TYPES,
        "notificationEndpoint": {"pubsubTopic": TOPIC},
    }
    for scopes in ([CALENDAR_EVENTS], [SPACE_CREATED]):
        status, error = error_of(events(key_file, server.base_url, scopes).subscriptions().create(body=body))
        assert (status, error["status"]) == (403, "PERMISSION_DENIED"), scopes
    # impersonating someone else than the target's user
    status, error = error_of(events(key_file, server.base_url, subject=COLLEAGUE).subscriptions().create(body=body))
    assert (status, error["status"]) == (403, "PERMISSION_DENIED")
    made = api.subscribe()
    status, _ = error_of(events(key_file, server.base_url, subject=COLLEAGUE).subscriptions().get(name=made["name"]))
    assert status == 403


def test_a_topic_that_does_not_exist_is_refused(key_file: Path, server: EmulatorServer) -> None:
    api = apis(key_file, server.base_url)
    status, error = error_of(
        api.events.subscriptions().create(
            body={
                "targetResource": USER_TARGET + api.user_id(),
                "eventTypes": MEET_TYPES,
                "notificationEndpoint": {"pubsubTopic": TOPIC},
            }
        )
    )
    assert (status, error["status"]) == (404, "NOT_FOUND")


# ----- Pub/Sub methods -------------------------------------------------------------------


def test_pubsub_topics_and_subscriptions(key_file: Path, server: EmulatorServer) -> None:
    client = pubsub(key_file, server.base_url).projects()
    assert client.topics().create(name=TOPIC, body={}).execute() == {"name": TOPIC}
    assert client.topics().get(topic=TOPIC).execute() == {"name": TOPIC}
    status, error = error_of(client.topics().create(name=TOPIC, body={}))
    assert (status, error["status"]) == (409, "ALREADY_EXISTS")
    client.topics().create(name=DEAD_LETTERS, body={}).execute()
    body = {
        "topic": TOPIC,
        "ackDeadlineSeconds": 60,
        "messageRetentionDuration": "86400s",
        "enableExactlyOnceDelivery": True,
        "deadLetterPolicy": {"deadLetterTopic": DEAD_LETTERS, "maxDeliveryAttempts": 10},
    }
    made = client.subscriptions().create(name=PULL, body=body).execute()
    assert made == client.subscriptions().get(subscription=PULL).execute()
    assert (made["topic"], made["ackDeadlineSeconds"], made["messageRetentionDuration"]) == (
        TOPIC,
        60,
        "86400s",
    )
    assert made["enableExactlyOnceDelivery"] is True
    assert made["deadLetterPolicy"] == body["deadLetterPolicy"]
    status, error = error_of(client.subscriptions().create(name=PULL, body=body))
    assert (status, error["status"]) == (409, "ALREADY_EXISTS")
    status, error = error_of(client.subscriptions().get(subscription=PULL + "-x"))
    assert (status, error["status"]) == (404, "NOT_FOUND")
    assert client.subscriptions().pull(subscription=PULL, body={"maxMessages": 5}).execute() == {}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"topic": "projects/emulator-tests/topics/nope"},
        {"topic": "not a topic"},
        {"topic": TOPIC, "ackDeadlineSeconds": 5},
        {"topic": TOPIC, "ackDeadlineSeconds": 601},
        {"topic": TOPIC, "ackDeadlineSeconds": "soon"},
        {"topic": TOPIC, "messageRetentionDuration": "60s"},
        {"topic": TOPIC, "messageRetentionDuration": "a week"},
        {"topic": TOPIC, "deadLetterPolicy": {"maxDeliveryAttempts": 5}},
        {"topic": TOPIC, "deadLetterPolicy": {"deadLetterTopic": TOPIC, "maxDeliveryAttempts": 2}},
        {"topic": TOPIC, "enableExactlyOnceDelivery": "yes"},
        {"topic": TOPIC, "surprise": True},
    ],
)
def test_bad_pubsub_subscription_bodies(key_file: Path, server: EmulatorServer, body: dict[str, Any]) -> None:
    client = pubsub(key_file, server.base_url).projects()
    client.topics().create(name=TOPIC, body={}).execute()
    status, error = error_of(client.subscriptions().create(name=PULL, body=body))
    assert status in (400, 404) and error["status"] in ("INVALID_ARGUMENT", "NOT_FOUND")
    assert error_of(client.subscriptions().get(subscription=PULL))[0] == 404  # nothing made


def test_bad_pull_and_ack_bodies(api: EventsApis) -> None:
    subscriptions = api.pubsub.projects().subscriptions()
    for body in ({}, {"maxMessages": 0}, {"maxMessages": "many"}):
        status, error = error_of(subscriptions.pull(subscription=PULL, body=body))
        assert (status, error["status"]) == (400, "INVALID_ARGUMENT"), body
    for body in ({}, {"ackIds": []}, {"ackIds": ["forged"]}):
        status, _ = error_of(subscriptions.acknowledge(subscription=PULL, body=body))
        assert status == 400, body
    status, _ = error_of(
        subscriptions.modifyAckDeadline(subscription=PULL, body={"ackIds": ["forged"], "ackDeadlineSeconds": 601})
    )
    assert status == 400


def test_pubsub_is_the_service_account_itself_with_the_pubsub_scope(key_file: Path, server: EmulatorServer) -> None:
    # the pubsub scope as itself works (no `sub` in the JWT)
    pubsub(key_file, server.base_url).projects().topics().create(name=TOPIC, body={}).execute()
    wrong_scope = pubsub(key_file, server.base_url, [CALENDAR_EVENTS]).projects()
    status, error = error_of(wrong_scope.topics().get(topic=TOPIC))
    assert (status, error["status"]) == (403, "PERMISSION_DENIED")
    # a token that impersonates a user: that user holds no Pub/Sub role
    from .conftest import credentials

    creds = credentials(key_file, server.base_url, ["https://www.googleapis.com/auth/pubsub"])
    from .events_clients import _build

    delegated = _build("pubsub", "v1", creds, server.base_url).projects()
    status, error = error_of(delegated.topics().get(topic=TOPIC))
    assert (status, error["status"]) == (403, "PERMISSION_DENIED")


# ----- emission --------------------------------------------------------------------------


def test_meet_events_reach_the_topic_as_cloudevents(api: EventsApis, google: Google, sandbox: SandboxClient) -> None:
    made = api.subscribe()
    held = meeting(google, sandbox)
    received = api.pull()
    kinds = [kind for kind, _ in events_of(received)]
    assert kinds == [
        "google.workspace.meet.conference.v2.started",
        "google.workspace.meet.participant.v2.joined",
        "google.workspace.meet.participant.v2.left",
        "google.workspace.meet.conference.v2.ended",
        "google.workspace.meet.recording.v2.fileGenerated",
    ]
    data = dict(events_of(received))
    assert data["google.workspace.meet.conference.v2.started"] == {
        "conferenceRecord": {"name": held["conference_record"]}
    }
    assert data["google.workspace.meet.participant.v2.joined"] == {"participantSession": {"name": held["session"]}}
    assert data["google.workspace.meet.recording.v2.fileGenerated"] == {"recording": {"name": held["recording"]}}
    attributes = received[0]["message"]["attributes"]
    assert attributes["ce-source"] == "//workspaceevents.googleapis.com/" + made["name"]
    assert attributes["ce-subject"] == "//meet.googleapis.com/" + held["space"]["name"]
    assert attributes["ce-specversion"] == "1.0" and attributes["ce-time"].endswith("Z")
    assert len({r["message"]["attributes"]["ce-id"] for r in received}) == len(received)
    api.ack(received)
    assert api.pull() == []


def test_transcripts_and_smart_notes_are_announced_by_name(
    api: EventsApis, google: Google, sandbox: SandboxClient
) -> None:
    api.subscribe(event_types=[*MEET_TYPES, "google.workspace.meet.smartNote.v2.fileGenerated"])
    space = create_space(google, recording="OFF", transcription="ON")
    google.meet.spaces().patch(
        name=space["name"],
        updateMask="config.artifactConfig.smartNotesConfig.autoSmartNotesGeneration",
        body={"config": {"artifactConfig": {"smartNotesConfig": {"autoSmartNotesGeneration": "ON"}}}},
    ).execute()
    sandbox.join(space["meetingCode"], COLLEAGUE)
    sandbox.advance(300)
    sandbox.end_conference(space["meetingCode"])
    sandbox.advance(3600)
    data = dict(events_of(api.pull()))
    record = google.meet.conferenceRecords().list(filter=f'space.name = "{space["name"]}"').execute()
    parent = record["conferenceRecords"][0]["name"]
    (transcript,) = google.meet.conferenceRecords().transcripts().list(parent=parent).execute()["transcripts"]
    (note,) = google.meet.conferenceRecords().smartNotes().list(parent=parent).execute()["smartNotes"]
    assert data["google.workspace.meet.transcript.v2.fileGenerated"] == {"transcript": {"name": transcript["name"]}}
    assert data["google.workspace.meet.smartNote.v2.fileGenerated"] == {"smartNote": {"name": note["name"]}}
    assert "google.workspace.meet.recording.v2.fileGenerated" not in data  # nothing recorded, nothing sent


def test_only_subscribed_owners_and_types_are_emitted(
    key_file: Path, server: EmulatorServer, api: EventsApis, sandbox: SandboxClient
) -> None:
    api.subscribe(event_types=["google.workspace.meet.recording.v2.fileGenerated"])
    from .conftest import clients

    colleague = clients(key_file, server.base_url, subject=COLLEAGUE)
    meeting(colleague, sandbox)  # a space the colleague owns: nobody subscribed to them
    assert api.pull() == []
    meeting(clients(key_file, server.base_url), sandbox)
    kinds = [kind for kind, _ in events_of(api.pull())]
    assert kinds == ["google.workspace.meet.recording.v2.fileGenerated"]


# ----- at-least-once delivery ------------------------------------------------------------


def test_unacknowledged_messages_come_again_after_the_ack_deadline(
    api: EventsApis, google: Google, sandbox: SandboxClient
) -> None:
    api.subscribe()
    meeting(google, sandbox)
    first = api.pull()
    assert first and api.pull() == []  # leased for the 60 s ack deadline
    sandbox.advance(59)
    assert api.pull() == []
    sandbox.advance(2)
    again = api.pull()
    assert [r["message"]["messageId"] for r in again] == [r["message"]["messageId"] for r in first]
    assert {r["ackId"] for r in again}.isdisjoint(r["ackId"] for r in first)
    api.ack(first)  # stale ack ids are ignored without exactly-once
    subscriptions = api.pubsub.projects().subscriptions()
    subscriptions.modifyAckDeadline(
        subscription=PULL, body={"ackIds": [again[0]["ackId"]], "ackDeadlineSeconds": 0}
    ).execute()
    handed_back = api.pull()
    assert [r["message"]["messageId"] for r in handed_back] == [again[0]["message"]["messageId"]]
    api.ack(handed_back + again[1:])
    sandbox.advance(600)
    assert api.pull() == []


def test_exactly_once_refuses_a_stale_ack(
    key_file: Path, server: EmulatorServer, google: Google, sandbox: SandboxClient
) -> None:
    api = apis(key_file, server.base_url)
    api.setup(enableExactlyOnceDelivery=True)
    api.subscribe()
    meeting(google, sandbox)
    first = api.pull(1)
    sandbox.advance(61)
    status, error = error_of(
        api.pubsub.projects().subscriptions().acknowledge(subscription=PULL, body={"ackIds": [first[0]["ackId"]]})
    )
    assert (status, error["status"]) == (400, "INVALID_ARGUMENT")
    assert error["details"][0]["reason"] == "EXACTLY_ONCE_ACKID_FAILURE"
    again = api.pull(1)
    assert again[0]["message"]["messageId"] == first[0]["message"]["messageId"]
    api.ack(again)


def test_dead_letter_after_max_delivery_attempts(
    key_file: Path, server: EmulatorServer, google: Google, sandbox: SandboxClient
) -> None:
    api = apis(key_file, server.base_url)
    api.setup(deadLetterPolicy={"deadLetterTopic": DEAD_LETTERS, "maxDeliveryAttempts": 5})
    dead = PULL + "-dead"
    subscriptions = api.pubsub.projects().subscriptions()
    subscriptions.create(name=dead, body={"topic": DEAD_LETTERS}).execute()
    api.subscribe(event_types=["google.workspace.meet.recording.v2.fileGenerated"])
    meeting(google, sandbox)
    attempts = []
    for _ in range(6):
        attempts += [r.get("deliveryAttempt") for r in api.pull()]
        sandbox.advance(61)
    assert attempts == [1, 2, 3, 4, 5]
    moved = subscriptions.pull(subscription=dead, body={"maxMessages": 5}).execute()
    assert len(moved["receivedMessages"]) == 1


# ----- delivery settings -----------------------------------------------------------------


def _run(sandbox: SandboxClient, api: EventsApis, google: Google, meetings: int) -> list[str]:
    for _ in range(meetings):
        meeting(google, sandbox)
    received = api.pull(1000)
    api.ack(received)
    return [r["message"]["attributes"]["ce-type"] for r in received]


def test_drop_and_duplicate_rates_are_seeded(api: EventsApis, google: Google, sandbox: SandboxClient) -> None:
    api.subscribe()
    everything = _run(sandbox, api, google, 4)
    assert len(everything) == 20  # 5 events a meeting
    sandbox.settings(event_drop_rate=0.3, event_seed=7)
    dropped = _run(sandbox, api, google, 4)
    assert 0 < len(dropped) < 20
    counts = sandbox.call("GET", "events")["counts"]
    assert sum(c["dropped"] for c in counts.values()) == 20 - len(dropped)
    assert sum(c["published"] for c in counts.values()) == 20 + len(dropped)
    sandbox.settings(event_drop_rate=0.0, event_duplicate_rate=1.0)
    doubled = api.pull()
    assert doubled == []
    meeting(google, sandbox)
    received = api.pull(1000)
    ce_ids = Counter(r["message"]["attributes"]["ce-id"] for r in received)
    assert len(ce_ids) == 5 and set(ce_ids.values()) == {2}  # same ce-id, two messages
    assert len({r["message"]["messageId"] for r in received}) == 10


def test_the_same_seed_drops_the_same_events(api: EventsApis, google: Google, sandbox: SandboxClient) -> None:
    def once() -> list[str]:
        sandbox.settings(event_drop_rate=0.5, event_duplicate_rate=0.3, event_seed=14)
        return _run(sandbox, api, google, 3)

    api.subscribe()
    start = sandbox.state()["event_sequence"]
    first = once()
    # replay from the same point of the dice: a fresh emulator state at the same sequence
    sandbox.reset()
    api.setup()
    api.subscribe()
    sandbox.call("POST", "settings", {"event_seed": 14})
    assert sandbox.state()["event_sequence"] == start
    assert once() == first


def test_latency_and_reordering_on_the_emulated_clock(api: EventsApis, google: Google, sandbox: SandboxClient) -> None:
    api.subscribe()
    sandbox.settings(event_latency_seconds=120.0)
    space = create_space(google)
    sandbox.join(space["name"], ORGANIZER)
    assert api.take() == []  # not yet published
    sandbox.advance(120)
    assert [k for k, _ in events_of(api.take())][0].endswith("conference.v2.started")
    sandbox.settings(event_latency_seconds=0.0, event_reorder_seconds=600.0, event_seed=3)
    for _ in range(8):
        sandbox.join(space["name"], COLLEAGUE)
        sandbox.leave(space["name"], COLLEAGUE)
    sandbox.advance(600)
    times = [r["message"]["attributes"]["ce-time"] for r in api.take(1000)]
    assert len(times) == 16 and times != sorted(times)  # later events overtook earlier ones


def test_delivery_settings_refuse_garbage(sandbox: SandboxClient) -> None:
    for values in (
        {"event_drop_rate": 1.5},
        {"event_duplicate_rate": -0.1},
        {"event_latency_seconds": "soon"},
        {"event_seed": 1.5},
        {"event_reorder_seconds": True},
    ):
        with pytest.raises(SandboxError) as caught:
            sandbox.settings(**values)
        assert caught.value.status == 400, values


# ----- lifecycle -------------------------------------------------------------------------


def test_reminders_then_expiry_deletes_the_subscription(api: EventsApis, sandbox: SandboxClient) -> None:
    made = api.subscribe(ttl=f"{14 * 3600}s")
    sandbox.advance(3600)
    assert api.take() == []
    sandbox.advance(3600)  # 12 h before expiry
    reminders = events_of(api.take())
    assert [k for k, _ in reminders] == [LIFECYCLE + "expirationReminder"]
    assert reminders[0][1]["subscription"]["name"] == made["name"]
    sandbox.advance(11 * 3600)
    received = api.take()
    assert [k for k, _ in events_of(received)] == [LIFECYCLE + "expirationReminder"]
    subject = received[0]["message"]["attributes"]["ce-subject"]
    assert subject == "//workspaceevents.googleapis.com/" + made["name"]
    sandbox.advance(3600)
    assert [k for k, _ in events_of(api.take())] == [LIFECYCLE + "expired"]
    status, _ = error_of(api.events.subscriptions().get(name=made["name"]))
    assert status == 404
    api.subscribe()  # recreated after expiry


def test_renewal_postpones_expiry_and_its_reminders(api: EventsApis, sandbox: SandboxClient) -> None:
    made = api.subscribe(ttl="7200s")  # shorter than 12 h: only the 1 h reminder
    sandbox.advance(3600)
    assert [k for k, _ in events_of(api.take())] == [LIFECYCLE + "expirationReminder"]
    api.finish(api.events.subscriptions().patch(name=made["name"], updateMask="ttl", body={"ttl": "0s"}).execute())
    sandbox.advance(2 * 86400)
    assert api.take() == []
    assert api.events.subscriptions().get(name=made["name"]).execute()["state"] == "ACTIVE"


def test_control_suspends_then_reactivate(api: EventsApis, google: Google, sandbox: SandboxClient) -> None:
    made = api.subscribe()
    shown = sandbox.suspend_subscription(user=ORGANIZER, reason="USER_SCOPE_REVOKED")
    assert (shown["state"], shown["suspensionReason"]) == ("SUSPENDED", "USER_SCOPE_REVOKED")
    received = events_of(api.take())
    assert [k for k, _ in received] == [LIFECYCLE + "suspended"]
    assert received[0][1]["subscription"]["suspensionReason"] == "USER_SCOPE_REVOKED"
    got = api.events.subscriptions().get(name=made["name"]).execute()
    assert got["state"] == "SUSPENDED"
    meeting(google, sandbox)
    assert api.take() == []  # a suspended subscription delivers nothing
    back = api.finish(api.events.subscriptions().reactivate(name=made["name"], body={}).execute())
    assert back["state"] == "ACTIVE" and "suspensionReason" not in back
    meeting(google, sandbox)
    assert len(api.take()) == 5


def test_suspend_control_refuses_garbage(api: EventsApis, sandbox: SandboxClient) -> None:
    made = api.subscribe()
    for kwargs, status in (
        ({"subscription": "subscriptions/nope"}, 404),
        ({"user": "nobody@example.com"}, 404),
        ({"subscription": made["name"], "reason": "BORED"}, 400),
    ):
        with pytest.raises(SandboxError) as caught:
            sandbox.suspend_subscription(**kwargs)
        assert caught.value.status == status, kwargs
    sandbox.suspend_subscription(made["name"])
    with pytest.raises(SandboxError) as caught:
        sandbox.suspend_subscription(made["name"])
    assert caught.value.status == 409


# ----- faults ----------------------------------------------------------------------------


def test_faults_apply_to_the_new_apis(api: EventsApis, sandbox: SandboxClient) -> None:
    sandbox.faults(kinds=["503"], apis=["pubsub"], count=1, retry_after=0)
    with pytest.raises(HttpError) as failed:  # the front end's HTML 503
        api.pubsub.projects().subscriptions().pull(subscription=PULL, body={"maxMessages": 1}).execute()
    assert failed.value.resp.status == 503
    assert api.pull() == []  # the next call goes through
    sandbox.faults(kinds=["429"], methods=["workspaceevents.subscriptions.create"], count=1)
    with pytest.raises(HttpError) as caught:
        api.subscribe()
    assert caught.value.resp.status == 429
    assert json.loads(caught.value.content)["error"]["status"] == "RESOURCE_EXHAUSTED"
    api.subscribe()
