"""The compliance ledger over the pipeline's own simulated day (emulator, moto S3 over
HTTP, both databases, sensors and runs as in production): every row stated one by one."""

from __future__ import annotations

import dagster as dg
from sqlalchemy import select

from meet_core.db.models import LedgerEntry, ViolationReason, WebhookOutboxEntry
from meet_pipeline.defs.compliance.assets import compliance_attestation, compliance_ledger
from meet_pipeline.defs.compliance.definitions import CHECKS
from meet_pipeline.defs.compliance.resources import ComplianceResource
from meet_sandbox.pipeline_harness import PipelineHarness
from tests.pipeline.conftest import *  # noqa: F403 - the pipeline's fixtures, reused as they are
from tests.pipeline.scenario import play_day, run_until_settled, schedule_day

# label: (outcome, status, reasons, invited, joined, invited joined,
#         recordings found/archived, transcripts found/archived)
EXPECTED = {
    "normal": ("held", "compliant", "", 3, 3, 3, (1, 1), (1, 1)),  # Carl is external but invited
    "no_show": ("not_held", "compliant", "", 2, 0, 0, (0, 0), (0, 0)),
    "external": (
        "held",
        "violation",
        ViolationReason.HELD_WITHOUT_RECORDING.value,
        3,
        3,
        2,
        (0, 0),
        (0, 0),
    ),
    # Recording stopped for 3 minutes with two people present (issue 13: unrecorded time).
    "restart": (
        "held",
        "violation",
        ViolationReason.UNRECORDED_TIME.value,
        2,
        2,
        2,
        (2, 2),
        (1, 1),
    ),
    "transcript": ("held", "compliant", "", 2, 3, 2, (1, 1), (1, 1)),
    "cancelled": ("cancelled", "compliant", "", 2, 0, 0, (0, 0), (0, 0)),
}


def judge(harness: PipelineHarness, partition: str) -> dg.ExecuteInProcessResult:
    resources = {**harness.resources, "compliance": ComplianceResource()}
    return dg.materialize(
        [compliance_ledger, compliance_attestation, *CHECKS[:3]],
        partition_key=partition,
        resources=resources,
        raise_on_error=False,
    )


def test_the_pipeline_day_yields_the_expected_ledger(harness: PipelineHarness) -> None:
    day = schedule_day(harness)
    play_day(harness, day)
    run_until_settled(harness)
    partition = harness.meeting(day.meetings["normal"]).start_time.strftime("%Y-%m-%d")

    soon = judge(harness, partition)  # the external meeting's recording may still come
    with harness.sessions() as session:
        rows = {r.meeting_id: r for r in session.scalars(select(LedgerEntry))}
    assert rows[day.meetings["external"]].compliance_status == "pending"
    # The restarted meeting's unrecorded minutes are final already (its recordings are in):
    # the day fails the check before the external meeting's wait is over.
    assert rows[day.meetings["restart"]].violation_reasons == "unrecorded_time"
    [check] = [e for e in soon.get_asset_check_evaluations() if e.check_name == "held_meetings_recorded"]
    assert not check.passed
    assert [r.data["meeting_id"] for r in check.metadata["violations"].value.records] == [
        day.meetings["restart"]
    ]
    assert not soon.get_asset_materialization_events()[1:], (
        "a day with pending meetings is not attested"
    )

    harness.advance(181)  # past MEET_COMPLIANCE_RECORDING_WAIT_MINUTES after the conferences
    later = judge(harness, partition)
    with harness.sessions() as session:
        rows = {r.meeting_id: r for r in session.scalars(select(LedgerEntry))}
        events = session.scalars(select(WebhookOutboxEntry)).all()
    assert set(rows) == set(day.meetings.values())
    for label, expected in EXPECTED.items():
        row = rows[day.meetings[label]]
        actual = (
            row.outcome,
            row.compliance_status,
            row.violation_reasons,
            row.invited_count,
            row.joined_count,
            row.invited_joined_count,
            (row.recordings_found, row.recordings_archived),
            (row.transcripts_found, row.transcripts_archived),
        )
        assert actual == expected, label
        if row.recordings_archived:
            assert row.checksums_verified is True and row.retain_until is not None, label
            assert row.minutes_to_archive is not None and row.minutes_to_archive >= 0, label
    assert {e.check_name: e.passed for e in later.get_asset_check_evaluations()} == {
        "held_meetings_recorded": False,
        "manifest_objects_in_s3": True,
        "no_conference_near_expiry_unharvested": True,
    }
    assert [e.event_type for e in events if e.event_type == "compliance.violation"] == [
        "compliance.violation"
    ] * 2  # external: held without recording; restart: unrecorded time
    restart = rows[day.meetings["restart"]]
    assert restart.unrecorded_seconds is not None and abs(restart.unrecorded_seconds - 180) <= 5
