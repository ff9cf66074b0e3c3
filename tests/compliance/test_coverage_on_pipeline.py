"""Recording coverage end to end: two meetings played through the emulator (a late host,
a paused recording), harvested and archived by the pipeline's sensors and runs, judged by
the compliance ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select, text

from meet_core.db.models import ComplianceViolation, LedgerEntry
from meet_sandbox.pipeline_harness import ORGANIZER, PipelineHarness, minutes
from tests.compliance.test_ledger_on_pipeline_day import judge
from tests.pipeline.conftest import *  # noqa: F403 - the pipeline's fixtures, reused as they are
from tests.pipeline.scenario import run_until_settled

GUEST = ("guest@partner.org", "Gina Guest")
ANN = ("ann@example.com", "Ann Lee")
SLACK = 5  # seconds: the emulator's clock moves with wall time between control calls


def _play(h: PipelineHarness) -> dict[str, str]:
    t0 = h.now()
    meetings = {
        label: h.add_meeting(
            f"XOMA-cov-{label}", start=t0, end=t0 + minutes(30), guests=[GUEST, ANN]
        )
        for label in ("late_host", "paused")
    }
    h.tick("provisioning_sensor")
    p = h.people
    late, paused = h.space(meetings["late_host"]), h.space(meetings["paused"])
    # Late host: an external guest waits 15 minutes; nobody in the call may record.
    p.join(late, GUEST[0], display_name=GUEST[1])
    # Paused: the organizer's recording runs 5 minutes, stops for 10, runs again.
    p.join(paused, ORGANIZER, display_name="Olga Organizer")
    p.join(paused, ANN[0], display_name=ANN[1])
    h.advance(5)
    h.tick("conference_sensor")
    p.stop_recording(paused)
    h.advance(10)
    p.join(late, ORGANIZER, display_name="Olga Organizer")  # auto recording starts now
    p.start_recording(paused, by=ORGANIZER)
    h.advance(15)
    for space, emails in ((late, [GUEST[0], ORGANIZER]), (paused, [ANN[0], ORGANIZER])):
        for email in emails:
            p.leave(space, email)
    h.advance(2)
    h.tick("conference_sensor")
    h.advance(12)  # past the rejoin gap: both meetings finish
    h.tick("conference_sensor")
    return meetings


def test_late_host_and_paused_recording_are_unrecorded_time(harness: PipelineHarness) -> None:
    meetings = _play(harness)
    run_until_settled(harness)
    partition = harness.meeting(meetings["late_host"]).start_time.strftime("%Y-%m-%d")
    result = judge(harness, partition)
    assert result.success
    expected = {"late_host": 900, "paused": 600}
    with harness.sessions() as session:
        rows = {r.meeting_id: r for r in session.scalars(select(LedgerEntry))}
        violations = {
            v.meeting_id: v
            for v in session.scalars(
                select(ComplianceViolation).where(ComplianceViolation.reason == "unrecorded_time")
            )
        }
        per_day = session.execute(
            text(
                "SELECT held_meetings, meetings_with_unrecorded_time, unrecorded_seconds, coverage "
                "FROM compliance_coverage_daily WHERE partition_date = :day"
            ),
            {"day": partition},
        ).one()
        per_meeting = dict(
            session.execute(
                text("SELECT meeting_id, unrecorded_seconds FROM compliance_coverage")
            ).all()
        )
    for label, seconds in expected.items():
        row = rows[meetings[label]]
        assert (row.compliance_status, row.violation_reasons) == ("violation", "unrecorded_time")
        assert abs(row.unrecorded_seconds - seconds) <= SLACK, (label, row.unrecorded_seconds)
        assert abs(row.present_seconds - 1800) <= SLACK, (label, row.present_seconds)
        assert abs(row.recorded_seconds - (1800 - seconds)) <= SLACK, label
        assert row.coverage is not None and 0 < row.coverage < 1
        assert len(row.unrecorded_intervals) == 1, label
        assert per_meeting[meetings[label]] == row.unrecorded_seconds
        detail = violations[meetings[label]].detail
        assert "UTC" in detail and f"{row.unrecorded_seconds} s of" in detail, detail
    assert GUEST[0] in violations[meetings["late_host"]].detail
    assert ORGANIZER not in violations[meetings["late_host"]].detail  # joined after the gap
    paused_detail = violations[meetings["paused"]].detail
    assert ANN[0] in paused_detail and ORGANIZER in paused_detail  # both stayed through the pause
    held, with_gaps, unrecorded, coverage = per_day
    assert (held, with_gaps) == (2, 2)
    assert abs(unrecorded - 1500) <= 2 * SLACK
    assert abs(float(coverage) - (1 - 1500 / 3600)) < 0.01
