"""Search answers (JSON in snake_case)."""

from __future__ import annotations

from typing import Any

from msgspec import Struct


class SearchPage(Struct, kw_only=True):
    """Meetings that match, latest first: each with its archived documents, the matching
    transcript lines (speaker, time, text) and a link to its archived objects."""

    items: list[dict[str, Any]]
    count: int
    limit: int
