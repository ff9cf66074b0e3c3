"""The ledger commits a batch of meetings at a time: the audit chain head (which every API
create and sensor transition also locks) is free between batches, and a run that fails
midway leaves whole batches that a re-run completes without duplicates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from meet_core.audit import append_event, verify_chain
from meet_core.compliance import ledger
from meet_core.compliance.rules import MeetingFacts
from meet_core.compliance.service_levels import ServiceLevels
from meet_core.db.models import (
    AuditEvent,
    ComplianceDailySummary,
    ComplianceViolation,
    LedgerEntry,
    Meeting,
    WebhookOutboxEntry,
)
from tests.compliance.test_ledger_day import DAY, EXPECTED, NEXT, NOW, build_day
from tests.compliance.world import RETENTION_DAYS, World, at

BATCH = 2  # 11 meetings: 6 batches, the 6 violating meetings in at least 3 of them
ACTOR = "test:ledger"
LEVELS = ServiceLevels(retention_days=RETENTION_DAYS, lock_mode="GOVERNANCE")
# Without S3 look-ups (materialize_ledger alone) the deleted object is not noticed.
STATUSES = {n: (r.status, r.reasons) for n, r in EXPECTED.items()} | {
    "object_deleted": ("compliant", "")
}


class Stop(Exception):
    pass


def between_batches(
    monkeypatch: pytest.MonkeyPatch, batches: list[list[str]], then: Any
) -> None:
    """Run ``then(k)`` each time the ledger comes back for the batch after batch ``k``."""
    real = ledger.meeting_batches

    def batched(session: Session, day: str, batch: int) -> Iterator[list[MeetingFacts]]:
        for k, facts in enumerate(real(session, day, batch)):
            batches.append([f.meeting_id for f in facts])
            yield facts
            then(k)

    monkeypatch.setattr(ledger, "meeting_batches", batched)


def run(sessions: sessionmaker[Session]) -> ledger.LedgerOutcome:
    with sessions() as session:
        return ledger.materialize_ledger(
            session, DAY, now=NOW, levels=LEVELS, actor=ACTOR, batch=BATCH
        )


def statuses(sessions: sessionmaker[Session], world: World) -> dict[str, tuple[str, str]]:
    names = {v: k for k, v in world.meetings.items()}
    with sessions() as session:
        rows = session.scalars(select(LedgerEntry).where(LedgerEntry.partition_date == DAY))
        return {names[r.meeting_id]: (r.compliance_status, r.violation_reasons) for r in rows}


def trail(sessions: sessionmaker[Session]) -> tuple[list[Any], list[Any], list[Any]]:
    """Violations, their opening audit events and their webhooks."""
    with sessions() as session:
        return (
            list(session.scalars(select(ComplianceViolation).order_by(ComplianceViolation.id))),
            list(
                session.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.action == "compliance.violation_opened")
                    .order_by(AuditEvent.seq)
                )
            ),
            list(session.scalars(select(WebhookOutboxEntry))),
        )


def assert_consistent(sessions: sessionmaker[Session]) -> set[str]:
    """One open violation per (meeting, reason), each with exactly one audit event and one
    webhook; the chain verifies. Returns the meetings with violations."""
    violations, opened, outbox = trail(sessions)
    assert len({(v.meeting_id, v.reason) for v in violations}) == len(violations)
    assert sorted(e.payload["violation_id"] for e in opened) == [v.id for v in violations]
    assert sorted(o.dedupe_key for o in outbox) == sorted(
        f"compliance.violation:{v.id}" for v in violations
    )
    with sessions() as session:
        report = verify_chain(session)
    assert report.ok, report.describe()
    return {v.meeting_id for v in violations}


def test_audit_appends_from_elsewhere_go_through_between_batches(
    world: World, fresh_sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    build_day(world)
    batches: list[list[str]] = []

    def probe(k: int) -> None:
        # Another connection, as an API create would; the ledger waits meanwhile, so a
        # head still locked by it fails on the lock timeout instead of hanging.
        with fresh_sessions.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SET LOCAL lock_timeout = '10s'"))
            append_event(session, actor="test:probe", action="test.probe", entity_type="test",
                         entity_id=str(k))

    between_batches(monkeypatch, batches, probe)
    outcome = run(fresh_sessions)

    assert len(batches) == 6 and outcome.violations.opened == 5
    with fresh_sessions() as session:
        chain = session.execute(
            select(AuditEvent.action, AuditEvent.entity_id)
            .where(AuditEvent.action.in_(["test.probe", "compliance.violation_opened"]))
            .order_by(AuditEvent.seq)
        ).all()
    violating = assert_consistent(fresh_sessions)
    # Each batch's events, then the probe made after it: each probe committed before the
    # next batch's events, i.e. before the ledger's last batch.
    expected: list[tuple[str, str | None]] = []
    for k, ids in enumerate(batches):
        expected += [("compliance.violation_opened", m) for m in ids if m in violating]
        expected.append(("test.probe", str(k)))
    assert [tuple(row) for row in chain] == expected
    assert sum(1 for ids in batches if violating & set(ids)) >= 2


def test_a_run_failing_midway_leaves_whole_batches_and_a_rerun_converges(
    world: World, fresh_sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    build_day(world)
    batches: list[list[str]] = []

    def fail_after_second(k: int) -> None:
        if k == 1:
            raise Stop

    with monkeypatch.context() as patch:
        between_batches(patch, batches, fail_after_second)
        with pytest.raises(Stop):
            run(fresh_sessions)

    # The two batches done are committed whole: their rows, violations, audit events and
    # webhooks; nothing of the rest, and no summary yet.
    done = set(batches[0] + batches[1])
    names = {v: k for k, v in world.meetings.items()}
    assert set(statuses(fresh_sessions, world)) == {names[m] for m in done}
    partial = assert_consistent(fresh_sessions)
    assert partial == {m for m in done if STATUSES[names[m]][0] == "violation"}
    with fresh_sessions() as session:
        assert session.get(ComplianceDailySummary, DAY) is None

    outcome = run(fresh_sessions)
    assert outcome.violations.opened == 5 - len(partial)
    assert statuses(fresh_sessions, world) == STATUSES
    violating = assert_consistent(fresh_sessions)
    assert {names[m] for m in violating} == {n for n, s in STATUSES.items() if s[0] == "violation"}
    with fresh_sessions() as session:
        summary = session.get(ComplianceDailySummary, DAY)
        assert summary is not None and (summary.violation, summary.open_violations) == (5, 5)

    # Once more: nothing new anywhere.
    violations, opened, outbox = trail(fresh_sessions)
    assert run(fresh_sessions).violations.opened == 0
    again = trail(fresh_sessions)
    assert [(v.id, v.state) for v in again[0]] == [(v.id, v.state) for v in violations]
    assert [e.seq for e in again[1]] == [e.seq for e in opened]
    assert sorted(o.id for o in again[2]) == sorted(o.id for o in outbox)


def test_meetings_moved_off_the_day_leave_its_ledger(
    world: World, fresh_sessions: sessionmaker[Session]
) -> None:
    build_day(world)
    run(fresh_sessions)
    ids = sorted(world.meetings[n] for n in STATUSES)
    moved = {ids[0], ids[5], ids[-1]}  # first batch, a middle one, past the last batch
    with fresh_sessions.begin() as session:
        session.execute(
            update(Meeting)
            .where(Meeting.id.in_(moved))
            .values(start_time=at(NEXT, "11:00"), end_time=at(NEXT, "12:00"))
        )
    outcome = run(fresh_sessions)
    names = {v: k for k, v in world.meetings.items()}
    assert set(statuses(fresh_sessions, world)) == set(STATUSES) - {names[m] for m in moved}
    assert outcome.totals.meetings == len(STATUSES) - 3
