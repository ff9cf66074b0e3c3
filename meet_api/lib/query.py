"""Unknown query parameters are refused, as unknown body fields are.

A misspelt filter (``?compliance=violation``) would otherwise return every meeting, which
looks like an answer. Each route's known names come from Litestar's own view of the
handler (its kwargs model), so the list cannot drift from the signature.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request
from litestar.routes import HTTPRoute

from meet_api.lib.problems import FieldError, validation_problem

_KNOWN = "query_parameters"


def record_query_parameters(app: Litestar) -> None:
    """Note on every route handler of ``/api/`` the query parameters it declares (once, at
    start); the documentation and health routes are left as the framework serves them."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/"):
            continue
        for handler, kwargs_model in route.route_handler_map.values():
            handler.opt[_KNOWN] = frozenset(p.field_alias for p in kwargs_model.expected_query_params)


async def refuse_unknown_query_parameters(request: Request[Any, Any, Any]) -> None:
    """``before_request``: a 400 problem naming every query parameter the route does not take."""
    known: frozenset[str] | None = request.route_handler.opt.get(_KNOWN)
    if known is None or not request.query_params:
        return
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        accepted = ", ".join(sorted(known)) or "none"
        raise validation_problem(
            [FieldError(field=name, message=f"unknown query parameter; this route accepts: {accepted}")
             for name in unknown],
            status=400,
        )
