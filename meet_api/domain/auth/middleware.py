"""Bearer API-key authentication and the per-key rate limit.

Runs on every route except health and the OpenAPI documents. A missing, malformed, unknown
or revoked key is a 401 problem and an ``auth.failed`` audit event (with the key id when
the token has one, never the secret). A known key is counted against its rate limit,
shared by every API process (:mod:`meet_api.lib.ratelimit`), right after the key lookup;
the ``RateLimit-*`` headers go on every answer, a 429 when the window is used up, a 503
when the count cannot be kept (fail closed).
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from meet_api.domain.auth.principal import Principal
from meet_api.lib.context import current_request_id
from meet_api.lib.problems import ApiProblem
from meet_api.lib.ratelimit import Decision, RateLimitUnavailable
from meet_api.lib.state import AppState, app_state
from meet_core.apikeys import KEY_PATTERN, record_use
from meet_core.audit import append_event
from meet_core.db.models import Role

UNAUTHENTICATED_PREFIXES = ("/health/", "/schema")


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else ""
    return None


def _lookup(state: AppState, token: str) -> tuple[Principal, Decision] | None:
    """The key's principal and its rate-limit decision. On PostgreSQL one statement in
    autocommit (the lookup with the count: :meth:`SharedWindowLimiter.authenticate_and_hit`);
    on SQLite, in one short transaction."""
    with state.reader.begin() as conn:  # commits last_used_at when due, and the count
        found = state.limiter.authenticate_and_hit(conn, token)
        if found is None:
            return None
        key, decision = found
        record_use(conn, key)  # after the count: a request refused 503 leaves no trace
    principal = Principal(
        key_id=key.key_id,
        key_name=key.name,
        role=Role(key.role),
        client_id=key.client_id,
        client_name=key.client_name,
    )
    return principal, decision


def _audit_failure(state: AppState, scope: Scope, reason: str, key_id: str | None) -> None:
    client = scope.get("client")
    with state.sessions.begin() as session:
        append_event(
            session,
            actor=f"api_key:{key_id}" if key_id else "anonymous",
            action="auth.failed",
            entity_type="api_key",
            entity_id=key_id,
            payload={
                "outcome": "unauthenticated",
                "reason": reason,
                "key_id": key_id,
                "request_id": current_request_id(),
                "method": scope.get("method"),
                "path": scope.get("path"),
                "remote": client[0] if client else None,
            },
        )


class ApiKeyAuthMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    @staticmethod
    def should_bypass_for_scope(scope: Scope) -> bool:
        # Health checks, the OpenAPI documents and the root (a pointer to them) are public;
        # everything else needs a key.
        path: str = scope["path"]
        return path == "/" or path.startswith(UNAUTHENTICATED_PREFIXES)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        state = app_state(scope["app"])
        token = _bearer_token(scope)
        try:
            found = await anyio.to_thread.run_sync(_lookup, state, token) if token else None
        except RateLimitUnavailable as exc:
            state.metrics.rate_limit_unavailable.inc()
            raise ApiProblem(
                503,
                "the rate limit cannot be checked right now; retry later",
                slug="rate-limit-unavailable",
                headers={"Retry-After": "5"},
            ) from exc
        if found is None:
            await self._refuse(state, scope, token)
        assert found is not None
        principal, decision = found
        scope["user"], scope["auth"] = principal, principal.key_id
        if not decision.allowed:
            state.metrics.rate_limited.inc()
            raise ApiProblem(
                429,
                f"rate limit of {decision.limit} requests per {decision.window_seconds} s "
                "exceeded for this key",
                slug="rate-limited",
                headers=decision.headers(),
            )
        headers = decision.headers()

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                mutable = MutableScopeHeaders.from_message(message)
                for name, value in headers.items():
                    mutable[name] = value
            await send(message)

        await next_app(scope, receive, send_with_limits)

    @staticmethod
    async def _refuse(state: AppState, scope: Scope, token: str | None) -> Any:
        if token is None:
            reason, detail = "missing", "send 'Authorization: Bearer <api key>'"
        elif token == "":
            reason, detail = "malformed", "the Authorization header must use the Bearer scheme"
        elif KEY_PATTERN.match(token) is None:
            reason, detail = "malformed", "that is not an API key"
        else:
            reason, detail = "unknown_or_revoked", "unknown or revoked API key"
        match = KEY_PATTERN.match(token or "")
        await anyio.to_thread.run_sync(
            _audit_failure, state, scope, reason, match.group(1) if match else None
        )
        state.metrics.auth_failures.inc(reason=reason)
        raise ApiProblem(
            401,
            detail,
            slug="unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="meet-archive"'},
        )
