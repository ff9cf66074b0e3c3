"""What a compliance officer asks, answered from the ledger: violations with the meeting they
concern, and a day's meetings with their verdict and who attended.

Plain rows (dicts of JSON-ready values) so that the CLI prints them as a table or as JSON,
and another front end can reuse them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from meet_core.db.models import (
    ComplianceStatus,
    ComplianceViolation,
    LedgerEntry,
    Meeting,
    ViolationReason,
    ViolationState,
)
from meet_core.matters.service import matters_holding

Row = dict[str, Any]
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(raw: str) -> str:
    """``YYYY-MM-DD`` (a real date), else ValueError naming what was given."""
    if not _DAY.fullmatch(raw):
        raise ValueError(f"expected a day as YYYY-MM-DD, got {raw!r}")
    try:
        date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"not a date: {raw!r}") from None
    return raw


def parse_reason(raw: str) -> str:
    known = [r.value for r in ViolationReason]
    if raw not in known:
        raise ValueError(f"unknown violation reason {raw!r}; one of {', '.join(known)}")
    return raw


def parse_status(raw: str) -> str:
    known = [s.value for s in ComplianceStatus]
    if raw not in known:
        raise ValueError(f"unknown compliance status {raw!r}; one of {', '.join(known)}")
    return raw


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def violations(
    session: Session,
    *,
    include_resolved: bool = False,
    meeting_id: str | None = None,
    day: str | None = None,
    reason: str | None = None,
    limit: int = 1000,
) -> list[Row]:
    """Violations, oldest first, with XOMA's id and the title of their meeting."""
    query = (
        select(ComplianceViolation, Meeting.external_id, Meeting.title)
        .join(Meeting, Meeting.id == ComplianceViolation.meeting_id)
        .order_by(ComplianceViolation.id)
    )
    if not include_resolved:
        query = query.where(ComplianceViolation.state == ViolationState.OPEN)
    if meeting_id:
        query = query.where(ComplianceViolation.meeting_id == meeting_id)
    if day:
        query = query.where(ComplianceViolation.partition_date == day)
    if reason:
        query = query.where(ComplianceViolation.reason == reason)
    return [
        {
            "id": v.id,
            "day": v.partition_date,
            "meeting_id": v.meeting_id,
            "external_id": external_id,
            "title": title,
            "reason": v.reason,
            "detail": v.detail,
            "state": v.state,
            "opened_at": _iso(v.opened_at),
            "resolved_by": v.resolved_by,
        }
        for v, external_id, title in session.execute(query.limit(limit))
    ]


def attendees(session: Session, meeting_ids: list[str]) -> dict[str, list[Row]]:
    """Per meeting, the rows of the ``compliance_attendance`` view: every invitee (attended
    or not), then every participant Meet saw who was not invited (the organizer among them,
    marked ``organizer``), in order of arrival."""
    found: dict[str, list[Row]] = defaultdict(list)
    if not meeting_ids:
        return found
    rows = session.execute(_ATTENDANCE, {"ids": meeting_ids}).mappings()
    for row in rows:
        found[row["meeting_id"]].append({
            "invited": bool(row["invited"]),
            "organizer": bool(row["organizer"]),
            "matched_by": row["matched_by"],
            "email": row["email"],
            "display_name": row["display_name"],
            "kind": row["kind"],
            "attended": bool(row["attended"]),
            "first_joined_at": _iso(_utc(row["first_joined_at"])),
            "last_left_at": _iso(_utc(row["last_left_at"])),
            "seconds": row["seconds"],
        })
    return found


_ATTENDANCE = text(
    "SELECT meeting_id, invited, organizer, matched_by, email, display_name, kind, attended, "
    "first_joined_at, last_left_at, seconds "
    "FROM compliance_attendance WHERE meeting_id IN :ids "
    "ORDER BY meeting_id, invited DESC, first_joined_at, email, display_name"
).bindparams(bindparam("ids", expanding=True))


def _utc(value: datetime | str | None) -> datetime | None:
    """A view's timestamp: an aware datetime on PostgreSQL, the stored text on SQLite."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def ledger_day(session: Session, day: str, *, status: str | None = None) -> list[Row]:
    """A day's ledger rows in scheduled order, each with its open violations' reasons and
    its attendees."""
    query = select(LedgerEntry).where(LedgerEntry.partition_date == day)
    if status:
        query = query.where(LedgerEntry.compliance_status == status)
    entries = list(session.scalars(query.order_by(LedgerEntry.scheduled_start, LedgerEntry.meeting_id)))
    people = attendees(session, [e.meeting_id for e in entries])
    holders = matters_holding(session, [e.meeting_id for e in entries])
    return [
        {
            "meeting_id": e.meeting_id,
            "external_id": e.external_id,
            "title": e.title,
            "scheduled_start": _iso(e.scheduled_start),
            "outcome": e.outcome,
            "verdict": e.compliance_status,
            "reasons": [r for r in e.violation_reasons.split(",") if r],
            "recordings": f"{e.recordings_archived}/{e.recordings_found}",
            "transcripts": f"{e.transcripts_archived}/{e.transcripts_found}",
            "smart_notes": f"{e.smart_notes_archived}/{e.smart_notes_found}",
            "uninvited_attendees": e.uninvited_count,
            # Recording coverage (None until judged / not held); intervals in UTC.
            "recorded_seconds": e.recorded_seconds,
            "unrecorded_seconds": e.unrecorded_seconds,
            "coverage": e.coverage,
            "unrecorded_intervals": e.unrecorded_intervals or [],
            "invited_count": e.invited_count,
            "joined_count": e.joined_count,
            "invited_joined_count": e.invited_joined_count,
            "attendees": people.get(e.meeting_id, []),
            "held_by_matters": holders.get(e.meeting_id, []),
        }
        for e in entries
    ]
