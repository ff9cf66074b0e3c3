"""Google Workspace Events API v1: subscriptions (create, get, list, patch, delete,
reactivate) on the target ``//cloudidentity.googleapis.com/users/{id}`` for Meet events,
and the long-running operations that create/patch/delete/reactivate answer.

Rules kept from Google: one subscription per user and target (a second create is
ALREADY_EXISTS); the caller impersonates the subscribed user with `meetings.space.readonly`;
subscriptions without resource data live at most 7 days (`ttl` 0 or absent: 7 days);
`list` needs a filter naming `event_types`; `reactivate` only a SUSPENDED subscription.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from . import ids
from .clock import parse_rfc3339
from .context import Context
from .errors import ApiError, bad_request
from .event_bus import MEET_EVENT_TYPES, USER_TARGET, render_subscription
from .pubsub_v1 import TOPIC, parse_duration
from .schema import clean_body
from .wire import Request, Response, json_response

MAX_LIFETIME = 7 * 86400.0  # without resource data (includeResource false)
MEET_READONLY = "https://www.googleapis.com/auth/meetings.space.readonly"
TYPE_PREFIX = "type.googleapis.com/google.apps.events.subscriptions.v1."
UPDATABLE = {"ttl": "ttl", "expire_time": "expireTime", "event_types": "eventTypes"}
FILTER_TERM = re.compile(r'\s*(?P<field>event_types|target_resource)\s*(?P<op>[:=])\s*"(?P<value>[^"]*)"\s*')
DEFAULT_PAGE, MAX_PAGE = 50, 100


def failed_precondition(message: str) -> ApiError:
    return ApiError(400, message, "failedPrecondition", status="FAILED_PRECONDITION")


def permission_denied(message: str = "The caller does not have permission") -> ApiError:
    return ApiError(403, message, "forbidden", status="PERMISSION_DENIED")


def _require_meet_scope(request: Request) -> None:
    """Meet events on a user target need `meetings.space.readonly` as that user."""
    assert request.token is not None
    if MEET_READONLY not in request.token.scopes:
        raise ApiError(
            403,
            "Request had insufficient authentication scopes.",
            "insufficientPermissions",
            status="PERMISSION_DENIED",
        )


def _caller_target(request: Request) -> str:
    return USER_TARGET + ids.user_id(request.subject)


def _event_types(value: Any, where: str = "subscription.event_types") -> list[str]:
    if not isinstance(value, list) or not value:
        raise bad_request(f"Invalid argument: {where} must list at least one event type.")
    unknown = [t for t in value if t not in MEET_EVENT_TYPES]
    if unknown:
        raise bad_request(
            f"Invalid argument: event type {unknown[0]!r} is not supported for target resource"
            " type //cloudidentity.googleapis.com/users."
        )
    return sorted(set(value), key=value.index)


def _expiry(body: dict[str, Any], now: float) -> float:
    """expireTime from `ttl` or `expire_time` (not both); 0/absent: the longest allowed."""
    if body.get("ttl") is not None and body.get("expireTime") is not None:
        raise bad_request("Invalid argument: set only one of ttl and expire_time.")
    if body.get("expireTime") is not None:
        at = parse_rfc3339(body["expireTime"], "expire_time")
        if at <= now:
            raise bad_request("Invalid argument: expire_time must be in the future.")
        if at > now + MAX_LIFETIME:
            raise bad_request("Invalid argument: expire_time is beyond the maximum of 7 days.")
        return at
    ttl = parse_duration(body["ttl"], "subscription.ttl") if body.get("ttl") is not None else 0
    if ttl > MAX_LIFETIME:
        raise bad_request("Invalid argument: ttl exceeds the maximum of 7 days (604800s).")
    return now + (ttl or MAX_LIFETIME)


def _owned(ctx: Context, request: Request, name: str) -> dict[str, Any] | None:
    """The caller's subscription `name`; None if missing; 403 if another user's."""
    record = ctx.store.state["ws_subscriptions"].get(name)
    if record is not None and record["subject"] != request.subject:
        raise permission_denied()
    return record


def _subscription_name(request: Request) -> str:
    name = request.params["name"]
    if not re.fullmatch(r"subscriptions/[A-Za-z0-9_-]+", name):
        raise bad_request(f"Invalid resource name: {name!r}.")
    return name


def _operation(ctx: Context, request: Request, result: dict[str, Any], metadata: str) -> Response:
    """A long-running operation for `result` (done now or on its first operations.get)."""
    name = "operations/" + ids.resource_id(24)
    pending = bool(ctx.store.settings["subscription_operation_pending"])
    ctx.store.state["ws_operations"][name] = {
        "subject": request.subject,
        "result": result,
        "metadata": metadata,
    }
    ctx.store.mark_dirty()
    return json_response(_render_operation(name, result, metadata, done=not pending))


def _render_operation(name: str, result: dict[str, Any], metadata: str, *, done: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "metadata": {"@type": TYPE_PREFIX + metadata}}
    if done:
        out["done"] = True
        out["response"] = result
    return out


def _as_response(record: dict[str, Any]) -> dict[str, Any]:
    return {"@type": TYPE_PREFIX + "Subscription", **render_subscription(record)}


# ----- methods ---------------------------------------------------------------------------


def create(ctx: Context, request: Request) -> Response:
    _require_meet_scope(request)
    body = clean_body("workspaceevents", "Subscription", request.json(), strict=True)
    validate_only = request.bool_arg("validateOnly")
    target = body.get("targetResource")
    if not isinstance(target, str) or not target:
        raise bad_request("Invalid argument: subscription.target_resource is required.")
    if not target.startswith(USER_TARGET) or not target.removeprefix(USER_TARGET).isdigit():
        raise bad_request(
            f"Invalid argument: target resource {target!r} is not supported; expected"
            " //cloudidentity.googleapis.com/users/{user}."
        )
    if target != _caller_target(request):
        raise permission_denied(
            "The caller does not have permission to view the target resource: impersonate"
            " the user the subscription is for."
        )
    event_types = _event_types(body.get("eventTypes"))
    topic = (body.get("notificationEndpoint") or {}).get("pubsubTopic")
    if not isinstance(topic, str) or not TOPIC.fullmatch(topic):
        raise bad_request(
            "Invalid argument: subscription.notification_endpoint.pubsub_topic must be"
            " projects/{project}/topics/{topic}."
        )
    if (body.get("payloadOptions") or {}).get("includeResource"):
        raise bad_request("Invalid argument: payload_options are only supported for Chat and Drive events.")
    now = ctx.now()
    expire = _expiry(body, now)
    state = ctx.store.state
    for other in state["ws_subscriptions"].values():
        if other["targetResource"] == target and other["subject"] == request.subject:
            raise ApiError(
                409,
                f"Subscription already exists for target resource {target}: {other['name']}.",
                "alreadyExists",
                status="ALREADY_EXISTS",
            )
    if topic not in state["pubsub_topics"]:
        raise ApiError(404, f"Pub/Sub topic {topic} not found.", "notFound")
    record = {
        "name": "subscriptions/meet-" + ids.resource_id(20).lower(),
        "uid": ids.resource_id(32),
        "targetResource": target,
        "eventTypes": event_types,
        "topic": topic,
        "state": "ACTIVE",
        "suspensionReason": None,
        "authority": "users/" + ids.user_id(request.subject),
        "subject": request.subject,
        "createTime": now,
        "updateTime": now,
        "expireTime": expire,
        "etag": ids.resource_id(12),
        "reminders": [],
    }
    if not validate_only:
        state["ws_subscriptions"][record["name"]] = record
    return _operation(ctx, request, _as_response(record), "CreateSubscriptionMetadata")


def get(ctx: Context, request: Request) -> Response:
    _require_meet_scope(request)
    name = _subscription_name(request)
    record = _owned(ctx, request, name)
    if record is None:
        raise ApiError(404, f"Subscription {name} not found.", "notFound")
    return json_response(render_subscription(record))


def _parse_filter(text: str | None) -> tuple[set[str], str | None]:
    """(event types, target resource or None) of `event_types:"a" OR … AND target_resource="t"`."""
    if not text or not text.strip():
        raise bad_request("Invalid argument: filter is required and must name event_types.")
    types: set[str] = set()
    target: str | None = None
    for clause in re.split(r"\s+AND\s+", text.strip()):
        terms = [FILTER_TERM.fullmatch(t) for t in re.split(r"\s+OR\s+", clause.strip("() "))]
        if not all(terms):
            raise bad_request(f"Invalid argument: cannot parse filter {text!r}.")
        fields = {t["field"] for t in terms if t}
        if fields == {"event_types"}:
            types.update(t["value"] for t in terms if t)
        elif fields == {"target_resource"} and len(terms) == 1 and target is None:
            target = terms[0]["value"] if terms[0] else None
        else:
            raise bad_request(f"Invalid argument: cannot parse filter {text!r}.")
    if not types:
        raise bad_request("Invalid argument: filter must name at least one event_types.")
    return types, target


def _page_token(filter_text: str, offset: int) -> str:
    digest = hashlib.sha256(filter_text.encode()).hexdigest()[:8]
    return base64.urlsafe_b64encode(f"{digest}:{offset}".encode()).decode()


def _page_offset(filter_text: str, token: str | None) -> int:
    if not token:
        return 0
    try:
        digest, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if digest == _page_token(filter_text, 0).split(":")[0] or digest:
            value = int(offset)
            if _page_token(filter_text, value) == token and value >= 0:
                return value
    except (ValueError, UnicodeDecodeError):
        pass
    raise bad_request("Invalid argument: page_token is invalid.", location="pageToken")


def list_subscriptions(ctx: Context, request: Request) -> Response:
    _require_meet_scope(request)
    text = request.arg("filter")
    types, target = _parse_filter(text)
    assert text is not None
    size = request.int_arg("pageSize", 0) or DEFAULT_PAGE
    size = min(size, MAX_PAGE)
    offset = _page_offset(text, request.arg("pageToken"))
    matching = [
        r
        for _, r in sorted(ctx.store.state["ws_subscriptions"].items())
        if r["subject"] == request.subject
        and types & set(r["eventTypes"])
        and (target is None or r["targetResource"] == target)
    ]
    page = matching[offset : offset + size]
    out: dict[str, Any] = {"subscriptions": [render_subscription(r) for r in page]}
    if offset + size < len(matching):
        out["nextPageToken"] = _page_token(text, offset + size)
    return json_response(out)


def patch(ctx: Context, request: Request) -> Response:
    _require_meet_scope(request)
    name = _subscription_name(request)
    body = clean_body("workspaceevents", "Subscription", request.json(), strict=True)
    mask_text = request.arg("updateMask")
    if mask_text:
        mask = [m.strip() for m in mask_text.split(",") if m.strip()]
        bad = [m for m in mask if m not in UPDATABLE and m not in UPDATABLE.values()]
        if bad or not mask:
            raise bad_request(
                f"Invalid argument: update_mask path {bad[0] if bad else mask_text!r} cannot be"
                " updated; only ttl, expire_time and event_types can.",
                location="updateMask",
            )
        fields = {UPDATABLE.get(m, m) for m in mask}
    else:
        fields = {f for f in UPDATABLE.values() if body.get(f) is not None}
        if not fields:
            raise bad_request("Invalid argument: nothing to update (ttl, expire_time, event_types).")
    record = _owned(ctx, request, name)
    if record is None:
        raise ApiError(404, f"Subscription {name} not found.", "notFound")
    now = ctx.now()
    changed = dict(record)
    if "eventTypes" in fields:
        changed["eventTypes"] = _event_types(body.get("eventTypes"))
    if "ttl" in fields or "expireTime" in fields:
        chosen = {k: body.get(k) for k in ("ttl", "expireTime") if k in fields}
        changed["expireTime"] = _expiry(chosen, now)
        changed["reminders"] = []  # renewed: the reminders come again before the new expiry
    changed["updateTime"] = now
    changed["etag"] = ids.resource_id(12)
    if not request.bool_arg("validateOnly"):
        record.update(changed)
        ctx.store.mark_dirty()
    return _operation(ctx, request, _as_response(changed), "UpdateSubscriptionMetadata")


def delete(ctx: Context, request: Request) -> Response:
    _require_meet_scope(request)
    name = _subscription_name(request)
    record = _owned(ctx, request, name)
    if record is None:
        if request.bool_arg("allowMissing"):
            return _operation(
                ctx,
                request,
                {"@type": "type.googleapis.com/google.protobuf.Empty"},
                "DeleteSubscriptionMetadata",
            )
        raise ApiError(404, f"Subscription {name} not found.", "notFound")
    etag = request.arg("etag")
    if etag and etag != record["etag"]:
        raise ApiError(409, "The etag does not match the subscription's.", "aborted", status="ABORTED")
    if not request.bool_arg("validateOnly"):
        del ctx.store.state["ws_subscriptions"][name]
        ctx.store.mark_dirty()
    return _operation(
        ctx,
        request,
        {"@type": "type.googleapis.com/google.protobuf.Empty"},
        "DeleteSubscriptionMetadata",
    )


def reactivate(ctx: Context, request: Request) -> Response:
    _require_meet_scope(request)
    name = _subscription_name(request)
    clean_body("workspaceevents", "ReactivateSubscriptionRequest", request.json(required=False), strict=True)
    record = _owned(ctx, request, name)
    if record is None:
        raise ApiError(404, f"Subscription {name} not found.", "notFound")
    if record["state"] != "SUSPENDED":
        raise failed_precondition(
            f"Subscription {name} is {record['state']}: only a SUSPENDED subscription can be reactivated."
        )
    record.update(state="ACTIVE", suspensionReason=None, updateTime=ctx.now(), etag=ids.resource_id(12))
    ctx.store.mark_dirty()
    return _operation(ctx, request, _as_response(record), "ReactivateSubscriptionMetadata")


def get_operation(ctx: Context, request: Request) -> Response:
    name = request.params["name"]
    operation = ctx.store.state["ws_operations"].get(name)
    if operation is None:
        raise ApiError(404, f"Operation {name} not found.", "notFound")
    if operation["subject"] != request.subject:
        raise permission_denied()
    return json_response(_render_operation(name, operation["result"], operation["metadata"], done=True))


ROUTES = [
    ("POST", r"/v1/subscriptions", "workspaceevents.subscriptions.create", create),
    ("GET", r"/v1/subscriptions", "workspaceevents.subscriptions.list", list_subscriptions),
    ("GET", r"/v1/(?P<name>subscriptions/[^/:]+)", "workspaceevents.subscriptions.get", get),
    ("PATCH", r"/v1/(?P<name>subscriptions/[^/:]+)", "workspaceevents.subscriptions.patch", patch),
    (
        "DELETE",
        r"/v1/(?P<name>subscriptions/[^/:]+)",
        "workspaceevents.subscriptions.delete",
        delete,
    ),
    (
        "POST",
        r"/v1/(?P<name>subscriptions/[^/:]+):reactivate",
        "workspaceevents.subscriptions.reactivate",
        reactivate,
    ),
    ("GET", r"/v1/(?P<name>operations/[^/:]+)", "workspaceevents.operations.get", get_operation),
]
