"""Pub/Sub v1 over REST: topics.create/get, subscriptions.create/get, pull, acknowledge,
modifyAckDeadline — the calls the pipeline's events mode makes, on the emulated clock.

Delivery is at-least-once: a pulled message is leased for the subscription's ack deadline
(or what modifyAckDeadline set); unacknowledged when the lease runs out, it is delivered
again with a new ack id. With a dead-letter policy, a message delivered
`maxDeliveryAttempts` times without an ack goes to the dead-letter topic instead.
Only the service account acting as itself may call Pub/Sub here: a token that impersonates
a user is refused (that user holds no Pub/Sub role in the project).
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

from . import ids
from .clock import rfc3339
from .errors import ApiError, bad_request
from .schema import clean_body
from .store import Store
from .wire import Request, Response, json_response

if TYPE_CHECKING:  # the context imports the simulation, which publishes through this module
    from .context import Context

TOPIC = re.compile(r"projects/(?P<project>[^/]+)/topics/(?P<id>[^/]+)")
SUBSCRIPTION = re.compile(r"projects/(?P<project>[^/]+)/subscriptions/(?P<id>[^/]+)")
# Pub/Sub's rule for topic and subscription ids.
RESOURCE_ID = re.compile(r"[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}")
DURATION = re.compile(r"(?P<seconds>\d{1,12})(?:\.(?P<fraction>\d{1,9}))?s")
DEFAULT_ACK_DEADLINE = 10
MAX_ACK_DEADLINE = 600
DEFAULT_RETENTION = 7 * 86400
MIN_RETENTION, MAX_RETENTION = 600, 31 * 86400
DEFAULT_MAX_DELIVERY_ATTEMPTS = 5
EXPIRATION_TTL = "2678400s"  # 31 days without activity: Pub/Sub's default expiration policy
ACK_ID = re.compile(r"EMU(?P<message>\d+)-(?P<attempt>\d+)-[A-Za-z0-9]{8}")


# ----- helpers ---------------------------------------------------------------------------


def already_exists(name: str) -> ApiError:
    short = name.rsplit("/", 1)[-1]
    return ApiError(409, f"Resource already exists in the project (resource={short}).", "conflict")


def not_found(name: str) -> ApiError:
    return ApiError(404, f"Resource not found (resource={name.rsplit('/', 1)[-1]}).", "notFound")


def _check_caller(request: Request) -> None:
    """Pub/Sub is called by the service account as itself, not on a user's behalf."""
    token = request.token
    assert token is not None
    if token.subject != token.issuer.lower():
        raise ApiError(403, "User not authorized to perform this action.", "forbidden")


def _checked_name(value: str, pattern: re.Pattern[str], what: str) -> str:
    match = pattern.fullmatch(value)
    if match is None or not RESOURCE_ID.fullmatch(match["id"]) or match["id"].startswith("goog"):
        raise bad_request(f"Invalid {what} name: ({what}={value}).", location="name")
    return value


def parse_duration(value: Any, where: str) -> float:
    """A protobuf Duration in JSON (``"600s"``, ``"1.5s"``); 400 on anything else."""
    match = DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise bad_request(f"Invalid value at '{where}' ({value!r}): expected a duration like 600s.")
    fraction = match["fraction"] or "0"
    return int(match["seconds"]) + int(fraction) / 10 ** len(fraction)


def _duration_text(seconds: float) -> str:
    return f"{int(seconds)}s" if seconds == int(seconds) else f"{seconds:.9f}".rstrip("0") + "s"


def _integer(value: Any, where: str) -> int:
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"Invalid value at '{where}': expected an integer, got {value!r}.")
    return value


# ----- topics ----------------------------------------------------------------------------


def create_topic(ctx: Context, request: Request) -> Response:
    _check_caller(request)
    name = _checked_name(request.params["name"], TOPIC, "topic")
    body = clean_body("pubsub", "Topic", request.json(required=False), strict=True)
    if body.get("name") not in (None, name):
        raise bad_request("The topic name in the body does not match the one in the URL.")
    topics = ctx.store.state["pubsub_topics"]
    if name in topics:
        raise already_exists(name)
    topic: dict[str, Any] = {"name": name}
    if body.get("labels"):
        topic["labels"] = body["labels"]
    topics[name] = topic
    ctx.store.mark_dirty()
    return json_response(topic)


def get_topic(ctx: Context, request: Request) -> Response:
    _check_caller(request)
    name = _checked_name(request.params["topic"], TOPIC, "topic")
    topic = ctx.store.state["pubsub_topics"].get(name)
    if topic is None:
        raise not_found(name)
    return json_response(topic)


# ----- subscriptions ---------------------------------------------------------------------


def _dead_letter_policy(value: dict[str, Any]) -> dict[str, Any]:
    topic = value.get("deadLetterTopic")
    if not isinstance(topic, str) or not topic:
        raise bad_request("Invalid dead letter policy: deadLetterTopic is required.")
    _checked_name(topic, TOPIC, "topic")
    attempts = _integer(value.get("maxDeliveryAttempts", 0), "subscription.deadLetterPolicy.maxDeliveryAttempts")
    if attempts == 0:
        attempts = DEFAULT_MAX_DELIVERY_ATTEMPTS
    if not 5 <= attempts <= 100:
        raise bad_request("Invalid dead letter policy: maxDeliveryAttempts must be between 5 and 100.")
    return {"deadLetterTopic": topic, "maxDeliveryAttempts": attempts}


def create_subscription(ctx: Context, request: Request) -> Response:
    _check_caller(request)
    name = _checked_name(request.params["name"], SUBSCRIPTION, "subscription")
    body = clean_body("pubsub", "Subscription", request.json(), strict=True)
    if body.get("name") not in (None, name):
        raise bad_request("The subscription name in the body does not match the one in the URL.")
    topic = body.get("topic")
    if not isinstance(topic, str) or not topic:
        raise bad_request(
            'A required argument is missing in the request: (argument="topic").',
            reason="required",
        )
    _checked_name(topic, TOPIC, "topic")
    state = ctx.store.state
    if topic not in state["pubsub_topics"]:
        raise not_found(topic)
    if name in state["pubsub_subscriptions"]:
        raise already_exists(name)
    if (body.get("pushConfig") or {}).get("pushEndpoint"):
        raise bad_request("Push subscriptions are not supported by the emulator: pull only.")
    deadline = _integer(body.get("ackDeadlineSeconds", 0), "subscription.ackDeadlineSeconds")
    deadline = deadline or DEFAULT_ACK_DEADLINE
    if not DEFAULT_ACK_DEADLINE <= deadline <= MAX_ACK_DEADLINE:
        raise bad_request(f"Invalid ack deadline: {deadline}s; it must be between 10 and 600 seconds.")
    retention = DEFAULT_RETENTION
    if body.get("messageRetentionDuration") is not None:
        retention = parse_duration(body["messageRetentionDuration"], "subscription.messageRetentionDuration")
        if not MIN_RETENTION <= retention <= MAX_RETENTION:
            raise bad_request("Invalid message retention duration: it must be between 10 minutes and 31 days.")
    subscription: dict[str, Any] = {
        "name": name,
        "topic": topic,
        "pushConfig": {},
        "ackDeadlineSeconds": deadline,
        "messageRetentionDuration": _duration_text(retention),
        "expirationPolicy": {"ttl": EXPIRATION_TTL},
        "state": "ACTIVE",
    }
    if body.get("deadLetterPolicy"):
        subscription["deadLetterPolicy"] = _dead_letter_policy(body["deadLetterPolicy"])
    for flag in ("enableExactlyOnceDelivery", "retainAckedMessages"):
        if body.get(flag):  # proto3 JSON leaves false booleans out
            subscription[flag] = True
    if body.get("labels"):
        subscription["labels"] = body["labels"]
    state["pubsub_subscriptions"][name] = subscription
    state["pubsub_messages"][name] = {}
    ctx.store.mark_dirty()
    return json_response(subscription)


def _subscription(ctx: Context, request: Request) -> dict[str, Any]:
    name = _checked_name(request.params["subscription"], SUBSCRIPTION, "subscription")
    subscription = ctx.store.state["pubsub_subscriptions"].get(name)
    if subscription is None:
        raise not_found(name)
    return dict(subscription)


def get_subscription(ctx: Context, request: Request) -> Response:
    _check_caller(request)
    return json_response(_subscription(ctx, request))


# ----- publishing (what Workspace Events does) -------------------------------------------


def publish(store: Store, topic: str, data: bytes, attributes: dict[str, str], publish_time: float) -> list[str]:
    """Put one message on `topic` for every subscription attached to it; its message ids
    ([] if the topic has no subscription). Visible to pull from `publish_time` on."""
    state = store.state
    copies = [s for s in state["pubsub_subscriptions"].values() if s["topic"] == topic]
    message_id = str(store.next_number() + 10**15)  # Pub/Sub's ids are decimal strings
    for subscription in copies:
        state["pubsub_messages"].setdefault(subscription["name"], {})[message_id] = {
            "id": message_id,
            "data": base64.b64encode(data).decode(),
            "attributes": dict(attributes),
            "publish_time": publish_time,
            "attempts": 0,
            "ack_id": None,
            "lease_until": None,
        }
    store.mark_dirty()
    return [message_id] if copies else []


# ----- pull, acknowledge, modifyAckDeadline ----------------------------------------------


def _deliverable(ctx: Context, subscription: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """Messages that may be handed out now, oldest publish first; expired ones dropped and
    over-delivered ones moved to the dead-letter topic on the way."""
    messages = ctx.store.state["pubsub_messages"].setdefault(subscription["name"], {})
    retention = parse_duration(subscription["messageRetentionDuration"], "retention")
    policy = subscription.get("deadLetterPolicy")
    ready: list[dict[str, Any]] = []
    for message_id, message in list(messages.items()):
        if message["publish_time"] + retention <= now:
            del messages[message_id]
            continue
        if message["publish_time"] > now:
            continue
        if message["lease_until"] is not None and message["lease_until"] > now:
            continue
        if policy and message["attempts"] >= policy["maxDeliveryAttempts"]:
            if policy["deadLetterTopic"] in ctx.store.state["pubsub_topics"]:
                publish(
                    ctx.store,
                    policy["deadLetterTopic"],
                    base64.b64decode(message["data"]),
                    {
                        **message["attributes"],
                        "CloudPubSubDeadLetterSourceSubscription": subscription["name"].rsplit("/", 1)[-1],
                    },
                    now,
                )
            del messages[message_id]
            continue
        ready.append(message)
    ready.sort(key=lambda m: (m["publish_time"], int(m["id"])))
    return ready


def pull(ctx: Context, request: Request) -> Response:
    _check_caller(request)
    subscription = _subscription(ctx, request)
    body = clean_body("pubsub", "PullRequest", request.json(), strict=True)
    if body.get("maxMessages") is None:
        raise bad_request(
            'A required argument is missing in the request: (argument="max_messages").',
            reason="required",
        )
    most = _integer(body["maxMessages"], "maxMessages")
    if most <= 0:
        raise bad_request("max_messages must be greater than 0.")
    now = ctx.now()
    received: list[dict[str, Any]] = []
    for message in _deliverable(ctx, subscription, now)[:most]:
        message["attempts"] += 1
        message["ack_id"] = f"EMU{message['id']}-{message['attempts']}-{ids.resource_id(8)}"
        message["lease_until"] = now + subscription["ackDeadlineSeconds"]
        item: dict[str, Any] = {
            "ackId": message["ack_id"],
            "message": {
                "data": message["data"],
                "attributes": message["attributes"],
                "messageId": message["id"],
                "publishTime": rfc3339(message["publish_time"], digits=3),
            },
        }
        if "deadLetterPolicy" in subscription:
            item["deliveryAttempt"] = message["attempts"]
        received.append(item)
    ctx.store.mark_dirty()
    return json_response({"receivedMessages": received} if received else {})


def _leased(
    ctx: Context, subscription: dict[str, Any], ack_ids: Any, where: str
) -> list[tuple[str, dict[str, Any] | None]]:
    """(ack id, the message it still leases or None) per ack id; 400 on malformed ids."""
    if not isinstance(ack_ids, list) or not ack_ids:
        raise bad_request(f'A required argument is missing in the request: (argument="{where}").', reason="required")
    messages = ctx.store.state["pubsub_messages"].get(subscription["name"], {})
    now = ctx.now()
    found: list[tuple[str, dict[str, Any] | None]] = []
    for ack_id in ack_ids:
        match = ACK_ID.fullmatch(ack_id) if isinstance(ack_id, str) else None
        if match is None:
            raise bad_request(f"You have passed an invalid ack ID to the service (ack_id={ack_id}).")
        message = messages.get(match["message"])
        current = (
            message is not None
            and message["ack_id"] == ack_id
            and message["lease_until"] is not None
            and message["lease_until"] > now
        )
        found.append((ack_id, message if current else None))
    if subscription.get("enableExactlyOnceDelivery"):
        stale = [ack_id for ack_id, message in found if message is None]
        if stale:  # exactly-once: the caller must learn that its ack did not count
            raise ApiError(
                400,
                "Some acknowledgement ids in the request were invalid. This could be because"
                " the acknowledgement ids have expired or the acknowledgement ids were malformed.",
                "invalid",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "EXACTLY_ONCE_ACKID_FAILURE",
                        "domain": "pubsub.googleapis.com",
                        "metadata": {a: "PERMANENT_FAILURE_INVALID_ACK_ID" for a in stale},
                    }
                ],
            )
    return found


def acknowledge(ctx: Context, request: Request) -> Response:
    _check_caller(request)
    subscription = _subscription(ctx, request)
    body = clean_body("pubsub", "AcknowledgeRequest", request.json(), strict=True)
    messages = ctx.store.state["pubsub_messages"].get(subscription["name"], {})
    for _, message in _leased(ctx, subscription, body.get("ackIds"), "ack_ids"):
        if message is not None:
            messages.pop(message["id"], None)
    ctx.store.mark_dirty()
    return json_response({})


def modify_ack_deadline(ctx: Context, request: Request) -> Response:
    _check_caller(request)
    subscription = _subscription(ctx, request)
    body = clean_body("pubsub", "ModifyAckDeadlineRequest", request.json(), strict=True)
    if body.get("ackDeadlineSeconds") is None:
        raise bad_request(
            'A required argument is missing in the request: (argument="ack_deadline_seconds").',
            reason="required",
        )
    seconds = _integer(body["ackDeadlineSeconds"], "ackDeadlineSeconds")
    if not 0 <= seconds <= MAX_ACK_DEADLINE:
        raise bad_request(f"Invalid ack deadline given: {seconds}; it must be between 0 and 600 seconds.")
    now = ctx.now()
    for _, message in _leased(ctx, subscription, body.get("ackIds"), "ack_ids"):
        if message is not None:
            message["lease_until"] = now + seconds  # 0: redeliverable at once
            if seconds == 0:
                message["ack_id"] = None
    ctx.store.mark_dirty()
    return json_response({})


_P = r"v1/(?P<{0}>projects/[^/:]+/{1}/[^/:]+)"
ROUTES = [
    ("PUT", "/" + _P.format("name", "topics"), "pubsub.projects.topics.create", create_topic),
    ("GET", "/" + _P.format("topic", "topics"), "pubsub.projects.topics.get", get_topic),
    (
        "PUT",
        "/" + _P.format("name", "subscriptions"),
        "pubsub.projects.subscriptions.create",
        create_subscription,
    ),
    (
        "GET",
        "/" + _P.format("subscription", "subscriptions"),
        "pubsub.projects.subscriptions.get",
        get_subscription,
    ),
    (
        "POST",
        "/" + _P.format("subscription", "subscriptions") + ":pull",
        "pubsub.projects.subscriptions.pull",
        pull,
    ),
    (
        "POST",
        "/" + _P.format("subscription", "subscriptions") + ":acknowledge",
        "pubsub.projects.subscriptions.acknowledge",
        acknowledge,
    ),
    (
        "POST",
        "/" + _P.format("subscription", "subscriptions") + ":modifyAckDeadline",
        "pubsub.projects.subscriptions.modifyAckDeadline",
        modify_ack_deadline,
    ),
]
