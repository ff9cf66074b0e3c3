"""The outermost layer of every HTTP exchange, unmatched routes included: request id,
one access-log line, request metrics."""

from __future__ import annotations

import logging
import time
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from meet_api.lib.context import REQUEST_ID, request_id_from_header
from meet_api.lib.metrics import ApiMetrics

access_log = logging.getLogger("meet_api.access")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


async def observe_request(
    scope: Scope, receive: Receive, send: Send, app: ASGIApp, metrics: ApiMetrics
) -> None:
    """Run ``app`` for one HTTP request with its request id set, then log and count it."""
    request_id = request_id_from_header(_header(scope, b"x-request-id"))
    token = REQUEST_ID.set(request_id)
    started = time.perf_counter()
    status = 500

    async def send_with_id(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            MutableScopeHeaders.from_message(message)["X-Request-ID"] = request_id
        await send(message)

    try:
        await app(scope, receive, send_with_id)
    finally:
        elapsed = time.perf_counter() - started
        # The route template, not the path, so that ids do not explode the label space.
        route = scope.get("path_template") or "unmatched"
        method = str(scope.get("method", ""))
        metrics.requests.inc(method=method, route=route, status=str(status))
        metrics.latency.observe(elapsed, method=method, route=route)
        user: Any = scope.get("user")
        access_log.info(
            "%s %s %s",
            method,
            scope.get("path", ""),
            status,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "key_id": getattr(user, "key_id", None),
            },
        )
        REQUEST_ID.reset(token)
