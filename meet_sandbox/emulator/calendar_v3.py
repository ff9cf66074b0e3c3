"""Calendar API v3 events, with Meet conferences (served under `/calendar/v3/`)."""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import ids
from .calendar_conference import apply_conference, pending_view
from .clock import parse_rfc3339, rfc3339
from .context import Context
from .errors import ApiError, bad_request, not_found
from .paging import decode_token, encode_token, page
from .schema import clean_body
from .wire import Request, Response, empty_response, json_response

OUTPUT_ONLY = (
    "kind",
    "etag",
    "id",
    "htmlLink",
    "created",
    "updated",
    "creator",
    "organizer",
    "iCalUID",
    "hangoutLink",
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SEND_UPDATES = ("all", "externalOnly", "none")


def _calendar(ctx: Context, request: Request) -> str:
    """The calendar's owner: `primary` is the impersonated user; others must be in the domain."""
    raw = request.params["calendar"]
    calendar = request.subject if raw == "primary" else raw.lower()
    if calendar != request.subject and calendar.rsplit("@", 1)[-1] != ctx.organizer_domain:
        raise not_found()
    return calendar


def _event_key(calendar: str, event_id: str) -> str:
    return f"{calendar}/{event_id}"


def _zone(name: str, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_request(
            f"Invalid time zone definition for {where} time.", location=where
        ) from None


def _instant(when: dict[str, Any], where: str) -> float:
    """Seconds since the epoch of an EventDateTime; 400 with Calendar's reasons on garbage."""
    if not isinstance(when, dict) or not (when.get("dateTime") or when.get("date")):
        raise bad_request(f"Missing {where} time.", reason="required")
    zone = _zone(when["timeZone"], where) if when.get("timeZone") else None
    if when.get("dateTime"):
        text = str(when["dateTime"])
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise bad_request(f"Invalid {where} time.", location=where) from None
        if moment.tzinfo is None:
            if zone is None:
                raise bad_request(
                    f"Missing time zone definition for {where} time.", reason="timeZoneMissing"
                )
            moment = moment.replace(tzinfo=zone)
        return moment.timestamp()
    try:
        return datetime.fromisoformat(str(when["date"]) + "T00:00:00+00:00").timestamp()
    except ValueError:
        raise bad_request(f"Invalid {where} date.", location=where) from None


def _check_times(event: dict[str, Any]) -> None:
    if _instant(event.get("end") or {}, "end") < _instant(event.get("start") or {}, "start"):
        raise bad_request("The specified time range is empty.", reason="timeRangeEmpty")


def _attendees(event: dict[str, Any], organizer: str) -> None:
    seen: set[str] = set()
    out = []
    for attendee in event.get("attendees") or []:
        email = str(attendee.get("email") or "").strip().lower()
        if not _EMAIL.match(email):
            raise bad_request("Invalid attendee email.")
        if email in seen:
            continue
        seen.add(email)
        item = dict(attendee, email=email)
        item.setdefault("responseStatus", "needsAction")
        if email == organizer:
            item.update(organizer=True, self=True, responseStatus="accepted")
        out.append(item)
    if "attendees" in event:
        event["attendees"] = out


# ----- notifications --------------------------------------------------------------------------


def _notify(
    ctx: Context,
    request: Request,
    organizer: str,
    event: dict[str, Any],
    before: list[str],
    after: list[str],
) -> None:
    """Record the e-mails Google would send for sendUpdates=all/externalOnly."""
    mode = request.arg("sendUpdates") or (
        "all" if request.bool_arg("sendNotifications") else "none"
    )
    if mode not in SEND_UPDATES:
        raise bad_request(f"Invalid value '{mode}' for sendUpdates.", location="sendUpdates")
    if mode == "none":
        return
    domain = organizer.rsplit("@", 1)[-1]
    cancelled = event.get("status") == "cancelled"
    for email in sorted(set(before) | set(after)):
        if email == organizer or (mode == "externalOnly" and email.rsplit("@", 1)[-1] == domain):
            continue
        if cancelled or email not in after:
            kind = "cancel"
        elif email not in before:
            kind = "invite"
        else:
            kind = "update"
        ctx.store.state["invitations"].append(
            {
                "time": rfc3339(ctx.now(), digits=3),
                "calendar_id": organizer,
                "event_id": event["id"],
                "recipient": email,
                "kind": kind,
                "summary": event.get("summary", ""),
                "send_updates": mode,
            }
        )


def _emails(event: dict[str, Any]) -> list[str]:
    return [a["email"] for a in event.get("attendees") or [] if a.get("email")]


# ----- handlers -------------------------------------------------------------------------------


def _stamp(ctx: Context, record: dict[str, Any]) -> None:
    event = record["resource"]
    number = ctx.store.next_number()
    record["change"] = number
    event["etag"] = f'"{number}"'
    event["updated"] = rfc3339(ctx.now(), digits=3)


def _finish(ctx: Context, record: dict[str, Any], organizer: str) -> None:
    _attendees(record["resource"], organizer)
    _check_times(record["resource"])
    _stamp(ctx, record)
    ctx.store.mark_dirty()


def _answer(record: dict[str, Any], pending: bool) -> Response:
    event = record["resource"]
    if (
        pending
        and record.get("reveal_pending")
        and "createRequest" in event.get("conferenceData", {})
    ):
        return json_response(pending_view(event))
    return json_response(event)


def insert_event(ctx: Context, request: Request) -> Response:
    calendar = _calendar(ctx, request)
    body = clean_body("calendar", "Event", request.json(), strict=False)
    event_id = body.get("id") or ids.event_id()
    if not ids.is_event_id(event_id):
        raise bad_request("Invalid resource id value.")
    key = _event_key(calendar, event_id)
    state = ctx.store.state
    if key in state["events"]:
        raise ApiError(409, "The requested identifier already exists.", "duplicate")
    wanted_conference = body.pop("conferenceData", None)
    for name in OUTPUT_ONLY:
        body.pop(name, None)
    now = rfc3339(ctx.now(), digits=3)
    event = {
        "kind": "calendar#event",
        "id": event_id,
        "status": "confirmed",
        "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
        "created": now,
        "creator": {"email": calendar, "self": True},
        "organizer": {"email": calendar, "self": True},
        "iCalUID": f"{event_id}@google.com",
        "sequence": 0,
        "reminders": {"useDefault": True},
        "eventType": "default",
        **body,
    }
    event["status"] = (
        body.get("status") if body.get("status") in ("confirmed", "tentative") else "confirmed"
    )
    record: dict[str, Any] = {"calendar": calendar, "resource": event, "space": None}
    if request.int_arg("conferenceDataVersion", 0) == 1:
        apply_conference(ctx, request, record, wanted_conference, calendar)
    _finish(ctx, record, calendar)
    state["events"][key] = record
    _notify(ctx, request, calendar, event, [], _emails(event))
    return _answer(record, pending=True)


def _existing(ctx: Context, request: Request) -> tuple[str, dict[str, Any]]:
    calendar = _calendar(ctx, request)
    record = ctx.store.state["events"].get(_event_key(calendar, request.params["event"]))
    if record is None:
        raise not_found()
    return calendar, record


def get_event(ctx: Context, request: Request) -> Response:
    _, record = _existing(ctx, request)
    record["reveal_pending"] = False  # the conference is ready by the time anyone asks again
    return json_response(record["resource"])


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Google's patch semantics: objects merge, arrays and scalars replace, null clears."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _modify(ctx: Context, request: Request, replace: bool) -> Response:
    calendar, stored = _existing(ctx, request)
    body = clean_body("calendar", "Event", request.json(), strict=False)
    if body.get("id") not in (None, stored["resource"]["id"]):
        raise bad_request("The event id cannot be changed.")
    version = request.int_arg("conferenceDataVersion", 0)
    has_conference = "conferenceData" in body
    wanted_conference = body.pop("conferenceData", None)
    for name in OUTPUT_ONLY + ("sequence",):
        body.pop(name, None)
    # Work on a copy so that a rejected change leaves the event as it was.
    record = dict(stored, resource=copy.deepcopy(stored["resource"]))
    before = _emails(stored["resource"])
    event = record["resource"]
    if replace:
        kept_names = OUTPUT_ONLY + ("status", "sequence", "reminders", "eventType")
        kept = {k: v for k, v in event.items() if k in kept_names}
        if version != 1 and "conferenceData" in event:
            kept["conferenceData"] = event["conferenceData"]
        event.clear()
        event.update(kept)
        event.update(body)
    else:
        _merge(event, body)
    if version == 1 and (replace or has_conference):
        apply_conference(ctx, request, record, wanted_conference, calendar)
    event["sequence"] = int(stored["resource"].get("sequence", 0)) + 1
    _finish(ctx, record, calendar)
    stored.update(record)
    _notify(ctx, request, calendar, event, before, _emails(event))
    return _answer(stored, pending=True)


def patch_event(ctx: Context, request: Request) -> Response:
    return _modify(ctx, request, replace=False)


def update_event(ctx: Context, request: Request) -> Response:
    return _modify(ctx, request, replace=True)


def delete_event(ctx: Context, request: Request) -> Response:
    calendar, record = _existing(ctx, request)
    event = record["resource"]
    if event["status"] == "cancelled":
        raise ApiError(410, "Resource has been deleted", "deleted")
    event["status"] = "cancelled"
    _stamp(ctx, record)
    ctx.store.mark_dirty()
    _notify(ctx, request, calendar, event, _emails(event), _emails(event))
    return empty_response(204)


def _start_of(event: dict[str, Any], name: str) -> float:
    try:
        return _instant(event.get(name) or {}, name)
    except ApiError:
        return 0.0


def list_events(ctx: Context, request: Request) -> Response:
    calendar = _calendar(ctx, request)
    prefix = calendar + "/"
    records = [r for k, r in ctx.store.state["events"].items() if k.startswith(prefix)]
    sync = request.arg("syncToken")
    if sync:
        try:
            since = decode_token(sync, "sync:" + calendar)
        except ApiError:
            raise ApiError(
                410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired"
            ) from None
        records = [r for r in records if r["change"] > since]
    else:
        if not request.bool_arg("showDeleted"):
            records = [r for r in records if r["resource"]["status"] != "cancelled"]
        time_min, time_max = request.arg("timeMin"), request.arg("timeMax")
        if time_min:
            low = parse_rfc3339(time_min, "timeMin")
            records = [r for r in records if _start_of(r["resource"], "end") > low]
        if time_max:
            high = parse_rfc3339(time_max, "timeMax")
            records = [r for r in records if _start_of(r["resource"], "start") < high]
        for parameter, where in (
            ("privateExtendedProperty", "private"),
            ("sharedExtendedProperty", "shared"),
        ):
            for condition in request.args(parameter):
                name, sep, value = condition.partition("=")
                if not sep or not name:
                    raise bad_request(
                        f"Invalid value '{condition}' for {parameter}.", location=parameter
                    )
                records = [
                    r
                    for r in records
                    if (r["resource"].get("extendedProperties") or {}).get(where, {}).get(name)
                    == value
                ]
        text = (request.arg("q") or "").lower()
        if text:
            records = [
                r
                for r in records
                if text
                in (
                    r["resource"].get("summary", "") + " " + r["resource"].get("description", "")
                ).lower()
            ]
    order = request.arg("orderBy")
    if order == "startTime":
        if not request.bool_arg("singleEvents"):
            raise bad_request(
                "The requested ordering is not available for the particular query.",
                location="orderBy",
            )
        records.sort(key=lambda r: (_start_of(r["resource"], "start"), r["resource"]["id"]))
    elif order == "updated":
        records.sort(key=lambda r: r["change"])
    elif order:
        raise bad_request(f"Invalid value '{order}' for orderBy.", location="orderBy")
    else:
        records.sort(key=lambda r: r["change"])
    scope = (
        calendar
        + "?"
        + "&".join(
            f"{k}={v}"
            for k, v in sorted(request.query.items())
            if k not in ("pageToken", "maxResults", "alt", "fields")
        )
    )
    chunk, token = page(
        records, request.arg("pageToken"), ctx.page_size(request, "maxResults"), scope
    )
    out: dict[str, Any] = {
        "kind": "calendar#events",
        "etag": f'"{ctx.store.state["counter"]}"',
        "summary": calendar,
        "updated": rfc3339(ctx.now(), digits=3),
        "timeZone": "UTC",
        "accessRole": "owner",
        "defaultReminders": [],
        "items": [r["resource"] for r in chunk],
    }
    if token:
        out["nextPageToken"] = token
    else:
        out["nextSyncToken"] = encode_token(int(ctx.store.state["counter"]), "sync:" + calendar)
    return json_response(out)


_C = r"/calendar/v3/calendars/(?P<calendar>[^/]+)/events"
ROUTES = [
    ("POST", _C, "calendar.events.insert", insert_event),
    ("GET", _C, "calendar.events.list", list_events),
    ("GET", _C + r"/(?P<event>[^/]+)", "calendar.events.get", get_event),
    ("PATCH", _C + r"/(?P<event>[^/]+)", "calendar.events.patch", patch_event),
    ("PUT", _C + r"/(?P<event>[^/]+)", "calendar.events.update", update_event),
    ("DELETE", _C + r"/(?P<event>[^/]+)", "calendar.events.delete", delete_event),
]
