"""harvest_near_expiry: a conference record close to Google's 30-day expiry and not fully
harvested is a violation in its day's ledger and fails the check, whatever day is run;
once harvested, the ledger resolves the violation itself."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from meet_core.db.models import (
    ArtifactKind,
    ComplianceViolation,
    ConferenceRecord,
    LedgerEntry,
    Meeting,
    MeetingStatus,
)
from meet_pipeline.defs.compliance.assets import compliance_ledger
from meet_pipeline.defs.compliance.definitions import CHECKS
from meet_sandbox.s3 import EmbeddedS3
from tests.compliance.conftest import pipeline_resources
from tests.compliance.world import World, at

OLD_DAY = "2025-05-01"
TODAY = "2025-05-25"


def materialize(
    day: str, fresh_database_url: str, s3_server: EmbeddedS3, bucket: str, now_hhmm: str = "12:00"
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [compliance_ledger, *CHECKS[:3]],
        partition_key=day,
        raise_on_error=False,
        resources=pipeline_resources(fresh_database_url, s3_server.endpoint_url, bucket, at(TODAY, now_hhmm)),
    )


def test_conference_near_expiry_unharvested_then_harvested(
    world: World,
    fresh_database_url: str,
    fresh_sessions: sessionmaker[Session],
    s3_server: EmbeddedS3,
    bucket: str,
) -> None:
    # Stuck in progress: the last look at Google was during the conference.
    meeting_id = world.meeting(
        "stuck", at(OLD_DAY, "09:00"), at(OLD_DAY, "10:00"), MeetingStatus.IN_PROGRESS
    )
    record = world.conference(
        "stuck",
        at(OLD_DAY, "09:00"),
        at(OLD_DAY, "09:50"),
        synced_at=at(OLD_DAY, "09:30"),
        joined=[("organizer@example.com", True)],
        expire=at(OLD_DAY, "09:50") + timedelta(days=30),
    )
    # A harvested meeting of the same old day is not flagged.
    world.meeting("fine", at(OLD_DAY, "11:00"), at(OLD_DAY, "12:00"), MeetingStatus.FINISHED)
    done = world.conference(
        "fine", at(OLD_DAY, "11:00"), at(OLD_DAY, "11:55"), joined=[("organizer@example.com", True)]
    )
    world.artifact("fine", done, ArtifactKind.RECORDING, archived_at=at(OLD_DAY, "12:30"))
    # A recent unharvested meeting is far from expiry: pending only.
    world.meeting("young", at(TODAY, "08:00"), at(TODAY, "09:00"), MeetingStatus.SCHEDULED)

    # The check sees the old day even when today's partition is the one being run.
    today = materialize(TODAY, fresh_database_url, s3_server, bucket)
    checks = {e.check_name: e for e in today.get_asset_check_evaluations()}
    assert not checks["no_conference_near_expiry_unharvested"].passed
    listing = checks["no_conference_near_expiry_unharvested"].metadata["meetings"].value
    assert "`stuck`" in listing and "`fine`" not in listing and "`young`" not in listing

    materialize(OLD_DAY, fresh_database_url, s3_server, bucket)
    with fresh_sessions() as session:
        rows = {
            r.external_id: r
            for r in session.scalars(
                select(LedgerEntry).where(LedgerEntry.partition_date == OLD_DAY)
            )
        }
    assert (rows["stuck"].compliance_status, rows["stuck"].violation_reasons) == (
        "violation",
        "harvest_near_expiry",
    )
    assert rows["stuck"].conference_expires == at(OLD_DAY, "09:50") + timedelta(days=30)
    assert (rows["fine"].compliance_status, rows["fine"].violation_reasons) == ("compliant", "")

    # The pipeline catches up: attendance read after the end, the meeting finished, the
    # recording archived. The violation is resolved by the ledger, not by a person.
    with fresh_sessions.begin() as session:
        session.execute(
            update(ConferenceRecord)
            .where(ConferenceRecord.name == record)
            .values(synced_at=at(TODAY, "10:00"))
        )
        session.execute(
            update(Meeting).where(Meeting.id == meeting_id).values(status=MeetingStatus.FINISHED)
        )
    world.artifact("stuck", record, ArtifactKind.RECORDING, archived_at=at(TODAY, "10:05"))
    again = materialize(OLD_DAY, fresh_database_url, s3_server, bucket)
    assert {e.check_name: e.passed for e in again.get_asset_check_evaluations()}[
        "no_conference_near_expiry_unharvested"
    ]
    with fresh_sessions() as session:
        [violation, late] = session.scalars(
            select(ComplianceViolation).order_by(ComplianceViolation.id)
        ).all()
        stuck = session.scalar(select(LedgerEntry).where(LedgerEntry.meeting_id == meeting_id))
    assert (violation.reason, violation.state, violation.resolved_by) == (
        "harvest_near_expiry",
        "resolved",
        "ledger",
    )
    # Archived 24 days after the conference: the archive service level was missed.
    assert (late.reason, late.state) == ("recording_not_archived_in_time", "open")
    assert stuck is not None and stuck.violation_reasons == "recording_not_archived_in_time"
