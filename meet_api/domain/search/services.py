"""Search requests to meet_core.search, with bad input turned into 400 problems."""

from __future__ import annotations

from typing import Any

from meet_api.domain.search.schemas import SearchPage
from meet_api.lib.problems import ApiProblem, FieldError, validation_problem
from meet_api.lib.state import AppState
from meet_core.search import parse_filters, search


def parsed(raw: dict[str, Any]) -> Any:
    """Validated filters, or a 400 naming the field (the message starts with it)."""
    try:
        return parse_filters({k: v for k, v in raw.items() if v is not None})
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        raise validation_problem([FieldError(field=field if message else "query", message=message or str(exc))],
                                 status=400) from None


def run_search(state: AppState, raw: dict[str, Any], limit: int) -> SearchPage:
    filters = parsed(raw)
    if filters.is_empty():
        raise ApiProblem(400, "give a text or at least one filter", slug="validation-error")
    with state.sessions() as session:
        hits = search(session, filters, limit=limit)
    return SearchPage(items=[hit.to_json() for hit in hits], count=len(hits), limit=limit)
