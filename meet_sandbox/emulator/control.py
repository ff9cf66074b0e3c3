"""The sandbox's own API under `/_emulator/` (no auth, never faulted). See docs/emulator.md."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import ids
from .clock import rfc3339
from .errors import ApiError
from .event_bus import render_subscription
from .faults import FaultSpecError
from .meet_resources import render_record
from .store import DEFAULT_SETTINGS
from .wire import Request, Response, json_response

if TYPE_CHECKING:
    from .app import Emulator


MAX_ADVANCE = 100 * 366 * 86400
TRANSCRIPT_FORMATS = ("google_doc", "text")


class ControlError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _body(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    try:
        value = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise ControlError(400, "malformed JSON body") from None
    if not isinstance(value, dict):
        raise ControlError(400, "expected a JSON object")
    return value


def _text(body: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ControlError(400, f"{name}: expected a non-empty string")
    return value


def _space(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    ref = _text(body, "space")
    space = emu.world.find_space(ref or "")
    if space is None:
        raise ControlError(404, f"unknown space {ref!r}")
    return space


def _size(body: dict[str, Any]) -> int | None:
    size = body.get("recording_size_bytes")
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= 1 << 40:
        raise ControlError(400, "recording_size_bytes: expected a whole number of bytes (up to 1 TiB)")
    return size


# ----- handlers ------------------------------------------------------------------------------


def state(emu: Emulator, request: Request, body: dict[str, Any]) -> Any:
    snapshot = emu.store.snapshot()
    snapshot.pop("tokens", None)  # bearer secrets stay out of dumps
    snapshot["now"] = rfc3339(emu.ctx.now())
    return snapshot


def requests(emu: Emulator, request: Request, body: dict[str, Any]) -> Any:
    if request.method == "DELETE":
        emu.log.clear()
        return {}
    return {"requests": list(emu.log)}


def invitations(emu: Emulator, request: Request, body: dict[str, Any]) -> Any:
    return {"invitations": list(emu.store.state["invitations"])}


def reset(emu: Emulator, request: Request, body: dict[str, Any]) -> Any:
    emu.store.reset()
    emu.faults.clear()
    emu.log.clear()
    return {}


def clock(emu: Emulator, request: Request, body: dict[str, Any]) -> Any:
    return {"now": rfc3339(emu.ctx.now()), "offset_seconds": emu.store.clock.offset}


def advance(emu: Emulator, request: Request, body: dict[str, Any]) -> Any:
    seconds = body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise ControlError(400, "seconds: expected a number")
    if not 0 <= seconds <= MAX_ADVANCE:  # also keeps timestamps within datetime's range
        raise ControlError(400, f"seconds: expected a number between 0 and {MAX_ADVANCE}")
    emu.store.clock.advance(float(seconds))
    emu.store.mark_dirty()
    emu.world.materialize(emu.ctx.now())
    return clock(emu, request, body)


SCOPE_PREFIX = "https://www.googleapis.com/auth/"


def settings(emu: Emulator, request: Request, body: dict[str, Any]) -> Any:
    current = emu.store.settings
    if request.method == "GET":
        return dict(current)
    for key, value in body.items():
        if key not in DEFAULT_SETTINGS:
            raise ControlError(400, f"unknown setting {key!r}")
        expected = type(DEFAULT_SETTINGS[key])
        ok = isinstance(value, expected) or (expected is float and isinstance(value, int))
        if isinstance(value, bool) != (expected is bool) or not ok:
            raise ControlError(400, f"{key}: expected {expected.__name__}")
        if expected in (int, float) and value < 0:
            raise ControlError(400, f"{key}: expected a value >= 0")
        if key == "withheld_scopes":
            if not all(isinstance(v, str) and v.startswith(SCOPE_PREFIX) for v in value):
                raise ControlError(400, f"{key}: expected a list of {SCOPE_PREFIX}… scopes")
        elif expected is list and not all(isinstance(v, str) and "@" in v for v in value):
            raise ControlError(400, f"{key}: expected a list of email addresses")
        if key.endswith("_rate") and value > 1:
            raise ControlError(400, f"{key}: expected a fraction between 0 and 1")
        if key == "transcript_format" and value not in TRANSCRIPT_FORMATS:
            raise ControlError(400, f"{key}: expected one of {', '.join(TRANSCRIPT_FORMATS)}")
    body = {k: [v.lower() for v in val] if isinstance(val, list) else val for k, val in body.items()}
    current.update(body)
    emu.store.mark_dirty()
    return dict(current)


def service_accounts(emu: Emulator, request: Request, body: dict[str, Any]) -> Any:
    if request.method == "POST":
        path = _text(body, "path")
        try:
            email = emu.register_service_account(path or "")
        except (OSError, ValueError, KeyError) as exc:
            raise ControlError(400, f"cannot read a service account from {path!r}: {exc}") from None
        return {"client_email": email}
    return {"service_accounts": sorted(emu.store.state["service_accounts"])}


def users(emu: Emulator, request: Request, body: dict[str, Any]) -> Any:
    """Meet names signed-in users `users/{id}`; the sandbox tells which email that is."""
    emails = {p["email"] for p in emu.store.state["participants"].values() if p["email"]}
    asked = request.arg("email")
    if asked:
        emails = {asked.lower()}
    return {"users": {email: f"users/{ids.user_id(email)}" for email in sorted(emails)}}


def start_conference(emu: Emulator, request: Request, body: dict[str, Any]) -> Any:
    record = emu.world.start_conference(_space(emu, body), emu.ctx.now(), _size(body))
    return render_record(record, emu.world.ttl)


def end_conference(emu: Emulator, request: Request, body: dict[str, Any]) -> Any:
    name = _text(body, "conference_record", required=False)
    if name:
        record = emu.world.live_record(name, emu.ctx.now())
        if record is None:
            raise ControlError(404, f"unknown conference record {name!r}")
    else:
        space = _space(emu, body)
        record = emu.world.active_record(space)
        if record is None:
            raise ControlError(409, f"space {space['meeting_code']} has no active conference")
    emu.world.end_conference(record, emu.ctx.now())
    return render_record(record, emu.world.ttl)


def join(emu: Emulator, request: Request, body: dict[str, Any]) -> Any:
    space = _space(emu, body)
    size = _size(body)
    if size is not None and emu.world.active_record(space) is None:
        emu.world.start_conference(space, emu.ctx.now(), size)
    record, participant, session = emu.world.join(
        space,
        body.get("kind", "signedinUser"),
        _text(body, "email", required=False),
        _text(body, "display_name", required=False),
        emu.ctx.now(),
    )
    return {
        "conference_record": record["name"],
        "participant": participant["name"],
        "session": session["name"],
        "recording": record["active_recording"],
        "transcript": record["active_transcript"],
    }


def leave(emu: Emulator, request: Request, body: dict[str, Any]) -> Any:
    name = _text(body, "participant", required=False)
    if name:
        participant = emu.store.state["participants"].get(name)
        if participant is None:
            raise ControlError(404, f"unknown participant {name!r}")
    else:
        participant = emu.world.find_present(
            _space(emu, body),
            _text(body, "email", required=False),
            _text(body, "display_name", required=False),
        )
    record_name = participant["name"].split("/participants/")[0]
    emu.world.leave(participant, emu.ctx.now())
    record = emu.store.state["conference_records"][record_name]
    return {"conference_record": record_name, "conference_ended": record["end"] is not None}


def _artifact(artifact: str, on: bool) -> Callable[[Emulator, Request, dict[str, Any]], Any]:
    def handler(emu: Emulator, request: Request, body: dict[str, Any]) -> Any:
        by = _text(body, "by", required=False)
        record = emu.world.set_artifact(_space(emu, body), artifact, on, by, emu.ctx.now())
        return {"conference_record": record["name"], artifact: record[f"active_{artifact}"]}

    return handler


SUSPENSION_REASONS = (
    "USER_SCOPE_REVOKED",
    "APP_SCOPE_REVOKED",
    "RESOURCE_DELETED",
    "USER_AUTHORIZATION_FAILURE",
    "APP_AUTHORIZATION_FAILURE",
    "ENDPOINT_PERMISSION_DENIED",
    "ENDPOINT_NOT_FOUND",
    "ENDPOINT_RESOURCE_EXHAUSTED",
    "OTHER",
)


def event_counts(emu: Emulator, request: Request, body: dict[str, Any]) -> Any:
    """Per event type: published, dropped (never published) and duplicated events."""
    return {"counts": emu.store.state.get("event_counts", {})}


def suspend_subscription(emu: Emulator, request: Request, body: dict[str, Any]) -> Any:
    """Suspend a Workspace Events subscription (by name, or the one of a user's email), as
    Google does when the user's authorization fails; a `suspended` lifecycle event follows."""
    reason = _text(body, "reason", required=False) or "USER_AUTHORIZATION_FAILURE"
    if reason not in SUSPENSION_REASONS:
        raise ControlError(400, f"reason: expected one of {', '.join(SUSPENSION_REASONS)}")
    subscriptions = emu.store.state["ws_subscriptions"]
    name = _text(body, "subscription", required=False)
    if name:
        record = subscriptions.get(name)
    else:
        email = (_text(body, "user") or "").lower()
        record = next((r for r in subscriptions.values() if r["subject"] == email), None)
    if record is None:
        raise ControlError(404, f"no such subscription ({name or body.get('user')!r})")
    if record["state"] != "ACTIVE":
        raise ControlError(409, f"{record['name']} is {record['state']}, not ACTIVE")
    emu.world.events.suspend(record, reason, emu.ctx.now())
    return render_subscription(record)


def faults(emu: Emulator, request: Request, body: dict[str, Any]) -> Any:
    if request.method == "DELETE":
        emu.faults.clear()
    elif request.method == "POST":
        try:
            emu.faults.add(body)
        except FaultSpecError as exc:
            raise ControlError(400, f"invalid fault specification: {exc}") from None
    return {"rules": emu.faults.describe()}


ROUTES: dict[tuple[str, str], Callable[[Emulator, Request, dict[str, Any]], Any]] = {
    ("GET", "state"): state,
    ("GET", "requests"): requests,
    ("DELETE", "requests"): requests,
    ("GET", "invitations"): invitations,
    ("POST", "reset"): reset,
    ("GET", "clock"): clock,
    ("POST", "clock/advance"): advance,
    ("GET", "settings"): settings,
    ("POST", "settings"): settings,
    ("GET", "service_accounts"): service_accounts,
    ("POST", "service_accounts"): service_accounts,
    ("GET", "users"): users,
    ("POST", "conferences/start"): start_conference,
    ("POST", "conferences/end"): end_conference,
    ("POST", "participants/join"): join,
    ("POST", "participants/leave"): leave,
    ("POST", "recordings/start"): _artifact("recording", True),
    ("POST", "recordings/stop"): _artifact("recording", False),
    ("POST", "transcripts/start"): _artifact("transcript", True),
    ("POST", "transcripts/stop"): _artifact("transcript", False),
    ("POST", "subscriptions/suspend"): suspend_subscription,
    ("GET", "events"): event_counts,
    ("GET", "faults"): faults,
    ("POST", "faults"): faults,
    ("DELETE", "faults"): faults,
}


def handle(emu: Emulator, request: Request) -> Response:
    key = (request.method, request.path.removeprefix("/_emulator").strip("/"))
    handler = ROUTES.get(key)
    try:
        if handler is None:
            known = {path for _, path in ROUTES}
            raise ControlError(
                405 if key[1] in known else 404,
                f"no control endpoint {request.method} {request.path}",
            )
        body = _body(request)
        with emu.store.lock:
            result = handler(emu, request, body)
        return json_response(result)
    except ControlError as exc:
        return json_response({"error": {"code": exc.code, "message": exc.message}}, exc.code)
    except ApiError as exc:  # simulation rule broken (e.g. joining twice)
        return json_response({"error": {"code": exc.code, "message": exc.message}}, exc.code)
    finally:
        emu.store.save()
