"""Materialise one day of the ledger: verdicts into ``compliance_ledger``, violations
opened and resolved, the day's totals into ``compliance_daily_summary``.

A batch of meetings at a time (flat memory at 1,000,000 meetings a day), one transaction
per batch: its ledger rows, the violations it opens or resolves, their audit events and
webhooks commit together, so the audit chain head is locked only for the end of a batch
(not for the whole day: every API create and sensor transition appends to the chain too).
A reader sees every meeting of the day, each row from this run or the previous one; the
summary is written last. A run that fails midway leaves whole batches, and a re-run
converges (a violation already open is not opened again).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from meet_core.compliance.facts import DEFAULT_BATCH, meeting_batches
from meet_core.compliance.rules import CANCELLED, HELD, NOT_HELD, MeetingFacts, Verdict, assess
from meet_core.compliance.service_levels import ServiceLevels
from meet_core.compliance.violations import ViolationChanges, reconcile_violations
from meet_core.db.models import (
    ComplianceDailySummary,
    ComplianceStatus,
    ComplianceViolation,
    LedgerEntry,
    ViolationReason,
    ViolationState,
)


@dataclass
class DayTotals:
    meetings: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    rated_compliant: int = 0  # compliant meetings that owed something (not not_held/cancelled)

    def add(self, verdict: Verdict) -> None:
        self.meetings += 1
        self.outcomes[verdict.outcome] += 1
        self.statuses[verdict.compliance_status] += 1
        self.reasons.update(r.value for r in verdict.reasons)
        if verdict.compliance_status == ComplianceStatus.COMPLIANT and verdict.outcome not in (
            NOT_HELD,
            CANCELLED,
        ):
            self.rated_compliant += 1

    @property
    def compliance_rate(self) -> float | None:
        """Compliant / (compliant + violation), over meetings that owed a recording or a
        provisioning; not-held and cancelled meetings owe nothing and are left out."""
        rated = self.rated_compliant + self.statuses[ComplianceStatus.VIOLATION]
        return round(self.rated_compliant / rated, 6) if rated else None


@dataclass(frozen=True, slots=True)
class LedgerOutcome:
    day: str
    totals: DayTotals
    violations: ViolationChanges
    open_violations: int


def ledger_values(facts: MeetingFacts, verdict: Verdict, now: datetime) -> dict[str, object]:
    return {
        "meeting_id": facts.meeting_id,
        "partition_date": facts.partition_date,
        "client_id": facts.client_id,
        "external_id": facts.external_id,
        "title": facts.title,
        "meeting_status": facts.status,
        "outcome": verdict.outcome,
        "scheduled_start": facts.scheduled_start,
        "scheduled_end": facts.scheduled_end,
        "held": verdict.held,
        "conference_start": facts.conference_start,
        "conference_end": facts.conference_end,
        "conference_expires": facts.conference_expires,
        "invited_count": facts.invited_count,
        "joined_count": facts.joined_count,
        "invited_joined_count": facts.invited_joined_count,
        "recording_required": verdict.recording_required,
        "recordings_found": verdict.recordings_found,
        "recordings_archived": verdict.recordings_archived,
        "transcripts_found": verdict.transcripts_found,
        "transcripts_archived": verdict.transcripts_archived,
        "smart_notes_found": verdict.smart_notes_found,
        "smart_notes_archived": verdict.smart_notes_archived,
        "uninvited_count": facts.uninvited_count,
        "checksums_verified": verdict.checksums_verified,
        "minutes_to_archive": verdict.minutes_to_archive,
        "retain_until": verdict.retain_until,
        "legal_hold": verdict.legal_hold,
        "compliance_status": verdict.compliance_status.value,
        "violation_reasons": ",".join(r.value for r in verdict.reasons),
        "pending_until": verdict.pending_until,
        "evaluated_at": now,
    }


def materialize_ledger(
    session: Session,
    day: str,
    *,
    now: datetime,
    levels: ServiceLevels,
    actor: str,
    batch: int = DEFAULT_BATCH,
) -> LedgerOutcome:
    """Replace the day's ledger rows and summary, committing ``session`` after each batch
    (so it must not be inside a ``begin()`` block)."""
    totals, changes = DayTotals(), ViolationChanges()
    after = ""  # the rows of the day up to here are this run's (meetings come in id order)
    for facts_batch in meeting_batches(session, day, batch):
        ids = [f.meeting_id for f in facts_batch]
        session.execute(
            delete(LedgerEntry).where(
                LedgerEntry.partition_date == day,
                LedgerEntry.meeting_id > after,
                LedgerEntry.meeting_id <= ids[-1],
            )
        )
        session.execute(
            delete(LedgerEntry).where(LedgerEntry.meeting_id.in_(ids))
        )  # moved from another day
        verdicts = [(facts, assess(facts, now, levels)) for facts in facts_batch]
        session.execute(insert(LedgerEntry), [ledger_values(f, v, now) for f, v in verdicts])
        found = {f.meeting_id: (day, v.details) for f, v in verdicts}
        changes = changes + reconcile_violations(session, found=found, now=now, actor=actor)
        session.commit()  # releases the audit chain head taken by reconcile_violations
        session.expunge_all()
        for _, verdict in verdicts:
            totals.add(verdict)
        after = ids[-1]
    # Meetings that left the day (rescheduled) since the previous run.
    session.execute(
        delete(LedgerEntry).where(LedgerEntry.partition_date == day, LedgerEntry.meeting_id > after)
    )
    open_violations = (
        session.scalar(
            select(func.count()).where(
                ComplianceViolation.partition_date == day,
                ComplianceViolation.state == ViolationState.OPEN,
            )
        )
        or 0
    )
    _write_summary(session, day, totals, open_violations, now)
    session.commit()
    return LedgerOutcome(day, totals, changes, open_violations)


def _write_summary(
    session: Session, day: str, totals: DayTotals, open_violations: int, now: datetime
) -> None:
    session.execute(
        delete(ComplianceDailySummary).where(ComplianceDailySummary.partition_date == day)
    )
    session.add(
        ComplianceDailySummary(
            partition_date=day,
            meetings=totals.meetings,
            held=totals.outcomes[HELD],
            not_held=totals.outcomes[NOT_HELD],
            cancelled=totals.outcomes[CANCELLED],
            compliant=totals.statuses[ComplianceStatus.COMPLIANT],
            pending=totals.statuses[ComplianceStatus.PENDING],
            violation=totals.statuses[ComplianceStatus.VIOLATION],
            compliance_rate=totals.compliance_rate,
            open_violations=open_violations,
            computed_at=now,
            **{reason.value: totals.reasons[reason.value] for reason in ViolationReason},
        )
    )
    session.flush()
