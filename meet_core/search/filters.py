"""What a search asks for, validated once for every caller (CLI, API, saved searches)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

from meet_core.db.models import ComplianceStatus

MAX_TEXT = 500
MAX_TERMS = 20
_TERM = re.compile(r'"([^"]*)"|(\S+)')
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """A search: text (words ANDed, "quoted phrases" kept whole) and meeting filters.

    ``participant`` matches an invitee or anyone who attended (uninvited attendees
    included); ``start_from``/``start_to`` bound the scheduled start (``to`` exclusive).
    """

    text: str | None = None
    client: str | None = None
    start_from: datetime | None = None
    start_to: datetime | None = None
    participant: str | None = None
    organizer: str | None = None
    title: str | None = None
    compliance_status: str | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def to_json(self) -> dict[str, Any]:
        """The saved form of a search (a matter's ``saved_filters``): ISO times, no Nones."""
        out: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if value is not None:
                out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out


def search_terms(text: str | None) -> list[str]:
    """The terms of a text query: quoted phrases whole, other words one by one; terms with
    no letter or digit are dropped (they match nothing in either engine)."""
    if not text:
        return []
    terms = []
    for phrase, word in _TERM.findall(text):
        term = " ".join((phrase or word).split())
        if term and any(c.isalnum() for c in term):
            terms.append(term)
    return terms


def parse_moment(name: str, raw: str, *, end: bool = False) -> datetime:
    """A day (``YYYY-MM-DD``; as an end bound, the whole day is included) or an RFC 3339
    time with an offset."""
    raw = raw.strip()
    if len(raw) == 10:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"{name}: not a date: {raw!r}") from None
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return moment + timedelta(days=1) if end else moment
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name}: expected YYYY-MM-DD or an RFC 3339 time, got {raw!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"{name}: the time needs an offset (e.g. Z), got {raw!r}")
    return moment.astimezone(UTC)


def _text(name: str, raw: Any, limit: int) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValueError(f"{name}: expected text, got {type(raw).__name__}")
    value = " ".join(raw.split())
    if not value:
        return None
    if len(value) > limit:
        raise ValueError(f"{name}: at most {limit} characters")
    if any(ord(c) < 32 for c in raw if c not in "\t\n\r"):
        raise ValueError(f"{name}: control characters are not allowed")
    return value


def _email(name: str, raw: Any) -> str | None:
    value = _text(name, raw, 320)
    if value is None:
        return None
    if not _EMAIL.fullmatch(value):
        raise ValueError(f"{name}: not an email address: {value!r}")
    return value.lower()


def parse_filters(raw: Mapping[str, Any]) -> SearchFilters:
    """Validate a mapping of filters (CLI options, query parameters, a saved search);
    ValueError names the first bad field. Unknown names are refused."""
    known = {f.name for f in fields(SearchFilters)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"unknown search filter(s): {', '.join(unknown)}")
    text = _text("text", raw.get("text"), MAX_TEXT)
    if text is not None:
        terms = search_terms(text)
        if not terms:
            raise ValueError("text: no word to search for (letters or digits needed)")
        if len(terms) > MAX_TERMS:
            raise ValueError(f"text: at most {MAX_TERMS} words or phrases")
    status = _text("compliance_status", raw.get("compliance_status"), 16)
    if status is not None and status not in {s.value for s in ComplianceStatus}:
        known_statuses = ", ".join(s.value for s in ComplianceStatus)
        raise ValueError(f"compliance_status: one of {known_statuses}, got {status!r}")
    start_from = _moment("start_from", raw.get("start_from"), end=False)
    start_to = _moment("start_to", raw.get("start_to"), end=True)
    if start_from is not None and start_to is not None and start_to <= start_from:
        raise ValueError("start_to must be after start_from")
    return SearchFilters(
        text=text,
        client=_text("client", raw.get("client"), 100),
        start_from=start_from,
        start_to=start_to,
        participant=_email("participant", raw.get("participant")),
        organizer=_email("organizer", raw.get("organizer")),
        title=_text("title", raw.get("title"), 200),
        compliance_status=status,
    )


def _moment(name: str, raw: Any, *, end: bool) -> datetime | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        return raw.astimezone(UTC)
    if not isinstance(raw, str):
        raise ValueError(f"{name}: expected a date or time, got {type(raw).__name__}")
    return parse_moment(name, raw, end=end)
