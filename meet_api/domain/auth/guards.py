"""Role guards: a key whose role may not use a route gets a 403 problem (and an audit event)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from meet_api.domain.auth.principal import Principal
from meet_api.lib.problems import ApiProblem
from meet_api.lib.state import app_state
from meet_core.audit import append_event
from meet_core.db.models import Role

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):  # the auth middleware always sets it on guarded routes
        raise ApiProblem(401, "missing credentials")
    return user


def _audit_forbidden(
    connection: ASGIConnection[Any, Any, Any, Any], principal: Principal, why: str
) -> None:
    state = app_state(connection.app)
    with state.sessions.begin() as session:
        append_event(
            session,
            actor=principal.actor,
            action="auth.forbidden",
            entity_type="api_key",
            entity_id=principal.key_id,
            payload=principal.audit_context(
                outcome="forbidden",
                method=connection.scope.get("method"),
                path=connection.url.path,
                reason=why,
            ),
        )


async def forbid(
    connection: ASGIConnection[Any, Any, Any, Any], principal: Principal, why: str
) -> None:
    """Audit the refusal, then raise the 403."""
    await anyio.to_thread.run_sync(_audit_forbidden, connection, principal, why)
    app_state(connection.app).metrics.auth_failures.inc(reason="forbidden")
    raise ApiProblem(403, why, slug="forbidden")


def requires(*roles: Role) -> Guard:
    allowed = frozenset(roles)
    names = ", ".join(sorted(r.value for r in allowed))

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = principal_of(connection)
        if principal.role not in allowed:
            await forbid(
                connection,
                principal,
                f"role {principal.role.value!r} may not do this (needs: {names})",
            )

    guard.__name__ = f"requires_{'_or_'.join(sorted(r.value for r in allowed))}"
    return guard


ANY_ROLE = requires(Role.ADMIN, Role.SERVICE, Role.AUDITOR)
WRITERS = requires(Role.ADMIN, Role.SERVICE)
AUDIT_READERS = requires(Role.ADMIN, Role.AUDITOR)
ADMIN_ONLY = requires(Role.ADMIN)
