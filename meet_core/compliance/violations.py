"""Violations' life: opened and auto-resolved by the ledger, resolved by people.

Every opening and resolution is an audit event (so the violation history is part of the
hash chain) and an opening also puts a ``compliance.violation`` webhook in the outbox, in
the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from meet_core.audit import append_event
from meet_core.compliance.outbox import enqueue_event
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
    """
    latest = latest_by_reason(session, list(found))
    opened = resolved = 0
    for meeting_id, (day, reasons) in found.items():
        rows = latest.get(meeting_id, {})
        for reason, detail in reasons.items():
            row = rows.get(reason)
            if row is not None and (
                row.state == ViolationState.OPEN or row.resolved_by != LEDGER_RESOLVER
            ):
                continue
            _open(session, meeting_id, day, reason, detail, now, actor)
            opened += 1
        for seen_reason, row in rows.items():
            if row.state == ViolationState.OPEN and seen_reason not in reasons:
                _resolve(
                    session,
                    row,
                    now=now,
                    by=LEDGER_RESOLVER,
                    resolution=AUTO_RESOLUTION,
                    actor=actor,
                )
                resolved += 1
    session.flush()
    return ViolationChanges(opened, resolved)


def _open(
    session: Session,
    meeting_id: str,
    day: str,
    reason: ViolationReason,
    detail: str,
    now: datetime,
    actor: str,
) -> None:
    row = ComplianceViolation(
        meeting_id=meeting_id,
        partition_date=day,
        reason=reason.value,
        detail=detail,
        state=ViolationState.OPEN,
        opened_at=now,
        opened_by=actor[:MAX_NAME],
    )
    session.add(row)
    session.flush()
    payload = {
        "violation_id": row.id,
        "meeting_id": meeting_id,
        "partition_date": day,
        "reason": reason.value,
        "detail": detail,
        "opened_at": now.isoformat(),
    }
    append_event(
        session,
        actor=actor,
        action="compliance.violation_opened",
        entity_type="meeting",
        entity_id=meeting_id,
        payload=payload,
    )
    enqueue_event(
        session, "compliance.violation", payload, dedupe_key=f"compliance.violation:{row.id}"
    )


def _resolve(
    session: Session,
    row: ComplianceViolation,
    *,
    now: datetime,
    by: str,
    resolution: str,
    actor: str,
) -> None:
    row.state, row.resolved_at, row.resolved_by, row.resolution = (
        ViolationState.RESOLVED,
        now,
        by,
        resolution,
    )
    append_event(
        session,
        actor=actor,
        action="compliance.violation_resolved",
        entity_type="meeting",
        entity_id=row.meeting_id,
        payload={
            "violation_id": row.id,
            "reason": row.reason,
            "resolved_by": by,
            "resolution": resolution,
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
    _resolve(
        session,
        row,
        now=now,
        by=by.strip(),
        resolution=resolution.strip(),
        actor=f"person:{by.strip()}",
    )
    session.flush()
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
