"""The emulator without the HTTP socket: routing, auth, scopes, partial responses, the log."""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from . import calendar_v3, control, drive_v3, events_v1, identity, meet_v2, pubsub_v1
from .accounts import public_key_entry
from .auth import authenticate, issue_token, require_scopes
from .context import Context
from .discovery import document, methods
from .errors import ApiError
from .faults import Faults
from .fields import Selection, apply_fields, check_fields, parse_fields
from .simulation import World
from .store import Store
from .wire import Request, Response, json_response

Handler = Callable[[Context, Request], Response]


class Route:
    def __init__(
        self, http_method: str, pattern: str, method_id: str, handler: Callable[..., Response]
    ) -> None:
        self.http_method = http_method
        self.regex = re.compile(pattern)
        self.method_id = method_id
        self.api = method_id.split(".", 1)[0]
        self.handler = handler


def _routes() -> list[Route]:
    table: list[tuple[str, str, str, Callable[..., Response]]] = [
        *calendar_v3.ROUTES,
        *meet_v2.ROUTES,
        *drive_v3.ROUTES,
        *identity.ROUTES,
        *events_v1.ROUTES,
        *pubsub_v1.ROUTES,
    ]
    return [Route(*row) for row in table]


class Emulator:
    """Everything the HTTP layer calls; thread-safe."""

    def __init__(
        self,
        state_file: Path | None = None,
        service_accounts: Iterable[Path | str] = (),
        organizer_domain: str = "example.com",
    ) -> None:
        self.store = Store(state_file)
        self.organizer_domain = organizer_domain.lower()
        self.world = World(self.store, self.organizer_domain)
        self.ctx = Context(self.store, self.world, self.organizer_domain)
        self.faults = Faults()
        self.log: deque[dict[str, Any]] = deque(
            maxlen=int(self.store.settings["request_log_limit"])
        )
        self.routes = _routes()
        for path in service_accounts:
            self.register_service_account(path)

    # ----- service accounts -------------------------------------------------------------

    def register_service_account(self, path: Path | str) -> str:
        email, entry = public_key_entry(path)
        with self.store.lock:
            self.store.state["service_accounts"][email] = entry
            self.store.mark_dirty()
        self.store.save()
        return email

    # ----- routing ----------------------------------------------------------------------

    def classify(self, method: str, path: str) -> tuple[str, str, Route | None, dict[str, str]]:
        """(api, method id, route, path parameters) of a request; api "" if unknown."""
        if path.startswith("/_emulator/") or path == "/_emulator":
            return "control", "control", None, {}
        if path in ("/token", "/oauth2/v4/token") and method == "POST":
            return "token", "token", None, {}
        for route in self.routes:
            if route.http_method != method:
                continue
            match = route.regex.fullmatch(path)
            if match:
                return (
                    route.api,
                    route.method_id,
                    route,
                    {k: unquote(v) for k, v in match.groupdict().items()},
                )
        api = (
            "calendar"
            if path.startswith("/calendar/")
            else "drive"
            if path.startswith("/drive/")
            else "people"
            if path.startswith("/v1/people")
            else "directory"
            if path.startswith("/admin/directory/")
            else "pubsub"
            if path.startswith("/v1/projects/")
            else "workspaceevents"
            if path.startswith(("/v1/subscriptions", "/v1/operations"))
            else "meet"
        )
        return api, "", None, {}

    # ----- dispatch ---------------------------------------------------------------------

    def dispatch(self, request: Request, route: Route | None) -> Response:
        if request.api == "control":
            return control.handle(self, request)
        try:
            if request.api == "token":
                return issue_token(self.store, request, self.organizer_domain)
            if route is None:
                raise ApiError(404, "Not Found", "notFound")
            request.token = authenticate(self.store, request)
            require_scopes(request.token, route.method_id)
            selection = self._selection(request, route)
            if route.api == "drive":
                with self.store.lock:
                    self.world.materialize(self.ctx.now())
                response = route.handler(
                    self.ctx, request
                )  # locks itself: checksums may take seconds
            else:
                with self.store.lock:
                    self.world.materialize(self.ctx.now())
                    response = route.handler(self.ctx, request)
            if selection is not None and response.json_value is not None and not response.media:
                response = json_response(
                    apply_fields(response.json_value, selection), response.status
                )
            return response
        except ApiError as error:
            return error_response(error, request.api)
        finally:
            self.store.save()

    @staticmethod
    def _selection(request: Request, route: Route) -> Selection | None:
        """The parsed `fields` parameter, checked against the method's response schema."""
        text = request.arg("fields")
        if not text:
            return None
        selection = parse_fields(text)
        response_schema = methods(route.api)[route.method_id].get("response")
        if response_schema:
            check_fields(selection, response_schema, document(route.api)["schemas"], text)
        return selection

    def record(
        self, request: Request, response: Response | None, fault: str | None, started: float
    ) -> None:
        entry: dict[str, Any] = {
            "time": time.time(),
            "http_method": request.method,
            "path": request.path,
            "api": request.api,
            "method_id": request.method_id,
            "status": response.status if response is not None else None,
            "fault": fault,
            "duration_ms": round((time.time() - started) * 1000, 2),
        }
        if (
            response is not None
            and request.api
            in ("calendar", "meet", "drive", "people", "directory", "workspaceevents", "pubsub")
            and self.store.settings["record_response_bodies"]
            and response.json_value is not None
        ):
            entry["response"] = response.json_value
        self.log.append(entry)


def error_response(error: ApiError, api: str) -> Response:
    body = error.body(api)
    headers = {"Content-Type": "application/json; charset=UTF-8", **error.headers}
    return Response(
        status=error.code,
        headers=headers,
        body=json.dumps(body, indent=2).encode(),
        json_value=body,
    )
