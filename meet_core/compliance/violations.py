"""Violations' life: opened and auto-resolved by the ledger, resolved by people.

Every opening and resolution is an audit event (so the violation history is part of the
hash chain) and an opening also puts a ``compliance.violation`` webhook in the outbox, in
the same transaction; the ledger writes them a batch of meetings at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from meet_core.audit import AuditEntry, append_many
from meet_core.compliance.outbox import enqueue_events
from meet_core.db.models import ComplianceViolation, ViolationReason, ViolationState

LEDGER_RESOLVER = "ledger"
AUTO_RESOLUTION = "condition no longer observed by the ledger"
MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class ViolationChanges:
    opened: int = 0
    resolved: int = 0

    def __add__(self, other: ViolationChanges) -> ViolationChanges:
        return ViolationChanges(self.opened + other.opened, self.resolved + other.resolved)


def latest_by_reason(
    session: Session, meeting_ids: list[str]
) -> dict[str, dict[str, ComplianceViolation]]:
    """The most recent violation row per (meeting, reason)."""
    latest: dict[str, dict[str, ComplianceViolation]] = defaultdict(dict)
    for row in session.scalars(
        select(ComplianceViolation)
        .where(ComplianceViolation.meeting_id.in_(meeting_ids))
        .order_by(ComplianceViolation.id)
    ):
        latest[row.meeting_id][row.reason] = row
    return latest


def reconcile_violations(
    session: Session,
    *,
    found: Mapping[str, tuple[str, Mapping[ViolationReason, str]]],
    now: datetime,
    actor: str,
) -> ViolationChanges:
    """``found``: meeting id → (partition date, reason → detail) as the ledger sees them now.

    A reason seen with no open row opens one, unless a person already resolved it (their
    decision stands). An open row whose reason is no longer seen is resolved by the ledger.
    The new rows, the audit events and the webhooks are written in one batch each, and
    the audit chain head is locked last: the caller should commit right after.
    """
    latest = latest_by_reason(session, list(found))
    to_open: list[dict[str, Any]] = []
    # In the order observed: an index into to_open (opened) or the row (resolved).
    changes: list[int | ComplianceViolation] = []
    for meeting_id, (day, reasons) in found.items():
        rows = latest.get(meeting_id, {})
        for reason, detail in reasons.items():
            row = rows.get(reason)
            if row is not None and (
                row.state == ViolationState.OPEN or row.resolved_by != LEDGER_RESOLVER
            ):
                continue
            changes.append(len(to_open))
            to_open.append(
                {
                    "meeting_id": meeting_id,
                    "partition_date": day,
                    "reason": reason.value,
                    "detail": detail,
                    "state": ViolationState.OPEN,
                    "opened_at": now,
                    "opened_by": actor[:MAX_NAME],
                }
            )
        for seen_reason, row in rows.items():
            if row.state == ViolationState.OPEN and seen_reason not in reasons:
                _mark_resolved(row, now=now, by=LEDGER_RESOLVER, resolution=AUTO_RESOLUTION)
                changes.append(row)
    opened_ids = (
        list(
            session.scalars(
                insert(ComplianceViolation).returning(
                    ComplianceViolation.id, sort_by_parameter_order=True
                ),
                to_open,
            )
        )
        if to_open
        else []
    )
    payloads = [
        _opened_payload(violation_id, values, now)
        for violation_id, values in zip(opened_ids, to_open, strict=True)
    ]
    session.flush()  # the resolutions
    enqueue_events(
        session,
        "compliance.violation",
        [(p, f"compliance.violation:{p['violation_id']}") for p in payloads],
    )
    append_many(
        session,
        [
            AuditEntry(
                actor,
                "compliance.violation_opened",
                "meeting",
                payloads[c]["meeting_id"],
                payloads[c],
            )
            if isinstance(c, int)
            else _resolved_entry(c, actor)
            for c in changes
        ],
    )
    return ViolationChanges(len(to_open), len(changes) - len(to_open))


def _opened_payload(violation_id: int, values: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "violation_id": violation_id,
        "meeting_id": values["meeting_id"],
        "partition_date": values["partition_date"],
        "reason": values["reason"],
        "detail": values["detail"],
        "opened_at": now.isoformat(),
    }


def _mark_resolved(row: ComplianceViolation, *, now: datetime, by: str, resolution: str) -> None:
    row.state, row.resolved_at, row.resolved_by, row.resolution = (
        ViolationState.RESOLVED,
        now,
        by,
        resolution,
    )


def _resolved_entry(row: ComplianceViolation, actor: str) -> AuditEntry:
    return AuditEntry(
        actor,
        "compliance.violation_resolved",
        "meeting",
        row.meeting_id,
        {
            "violation_id": row.id,
            "reason": row.reason,
            "resolved_by": row.resolved_by,
            "resolution": row.resolution,
        },
    )


def resolve_violation(
    session: Session, violation_id: int, *, by: str, resolution: str, now: datetime
) -> bool:
    """A person closes an open violation with a note (their name is recorded); False if
    there is no such open violation. The ledger will not reopen it for the same reason."""
    if not isinstance(by, str) or not by.strip() or len(by) > MAX_NAME:
        raise ValueError(f"resolved_by: a name of 1..{MAX_NAME} characters is required")
    if not isinstance(resolution, str) or not resolution.strip():
        raise ValueError("resolution: a note explaining the resolution is required")
    if by.strip() == LEDGER_RESOLVER:
        raise ValueError(f"resolved_by: {LEDGER_RESOLVER!r} is reserved for the ledger")
    row = session.get(ComplianceViolation, violation_id, with_for_update=True)
    if row is None or row.state != ViolationState.OPEN:
        return False
    _mark_resolved(row, now=now, by=by.strip(), resolution=resolution.strip())
    append_many(session, [_resolved_entry(row, f"person:{by.strip()}")])
    return True


def open_counts(session: Session, meeting_ids: Iterable[str]) -> int:
    ids = list(meeting_ids)
    return len(
        session.scalars(
            select(ComplianceViolation.id).where(
                ComplianceViolation.meeting_id.in_(ids),
                ComplianceViolation.state == ViolationState.OPEN,
            )
        ).all()
    )
