"""A simulated day judged by the ledger asset (materialised by Dagster with its checks):
every row and every violation reason stated one by one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.compliance.violations import LEDGER_RESOLVER, resolve_violation
from meet_core.db.models import (
    ArtifactKind,
    AuditEvent,
    ComplianceDailySummary,
    ComplianceViolation,
    LedgerEntry,
    ManifestState,
    MeetingStatus,
    ObjectCheck,
    WebhookOutboxEntry,
)
from meet_pipeline.defs.compliance.assets import compliance_attestation, compliance_ledger
from meet_pipeline.defs.compliance.definitions import CHECKS
from meet_sandbox.s3 import EmbeddedS3
from tests.compliance.conftest import pipeline_resources
from tests.compliance.world import World, at

DAY = "2025-06-02"
NEXT = "2025-06-03"
NOW = at(NEXT, "09:00")
LEDGER_ASSETS = [compliance_ledger, compliance_attestation, *CHECKS[:3]]


def build_day(world: World) -> dict[str, int]:
    """The day; returns the manifest id of the object that gets deleted from S3."""
    w = world
    w.meeting("normal", at(DAY, "09:00"), at(DAY, "10:00"), MeetingStatus.FINISHED)
    rec = w.conference(
        "normal",
        at(DAY, "09:02"),
        at(DAY, "09:58"),
        joined=[
            ("organizer@example.com", True),
            ("guest0.normal@example.com", True),
            ("ext@other.example", False),
        ],
    )
    w.artifact("normal", rec, ArtifactKind.RECORDING, archived_at=at(DAY, "10:30"))
    w.artifact("normal", rec, ArtifactKind.TRANSCRIPT_TEXT, archived_at=at(DAY, "10:40"))
    w.artifact("normal", rec, ArtifactKind.TRANSCRIPT_ENTRIES, archived_at=at(DAY, "10:40"))

    w.meeting("no_show", at(DAY, "10:00"), at(DAY, "10:30"), MeetingStatus.NOT_HELD)

    w.meeting("external_only", at(DAY, "11:00"), at(DAY, "12:00"), MeetingStatus.FINISHED)
    w.conference(
        "external_only",
        at(DAY, "11:05"),
        at(DAY, "11:50"),
        joined=[("a@other.example", False), (None, False)],
    )

    w.meeting("two_files", at(DAY, "12:00"), at(DAY, "13:00"), MeetingStatus.FINISHED)
    rec = w.conference(
        "two_files", at(DAY, "12:00"), at(DAY, "12:59"), joined=[("organizer@example.com", True)]
    )
    w.artifact("two_files", rec, ArtifactKind.RECORDING, archived_at=at(DAY, "13:20"))
    w.artifact("two_files", rec, ArtifactKind.RECORDING, archived_at=at(DAY, "13:25"))

    w.meeting("cancelled", at(DAY, "14:00"), at(DAY, "15:00"), MeetingStatus.CANCELLED)

    w.meeting("late_archive", at(DAY, "06:00"), at(DAY, "07:00"), MeetingStatus.FINISHED)
    rec = w.conference(
        "late_archive", at(DAY, "06:00"), at(DAY, "06:55"), joined=[("organizer@example.com", True)]
    )
    w.artifact("late_archive", rec, ArtifactKind.RECORDING, archived_at=at(NEXT, "07:30"))

    w.meeting("overdue", at(DAY, "07:00"), at(DAY, "08:00"), MeetingStatus.FINISHED)
    rec = w.conference(
        "overdue", at(DAY, "07:01"), at(DAY, "07:59"), joined=[("organizer@example.com", True)]
    )
    w.artifact("overdue", rec, ArtifactKind.RECORDING, archived_at=None, state=ManifestState.FAILED)

    w.meeting("recent", at(DAY, "20:00"), at(DAY, "21:00"), MeetingStatus.FINISHED)
    rec = w.conference(
        "recent", at(DAY, "20:00"), at(DAY, "20:58"), joined=[("organizer@example.com", True)]
    )
    w.artifact("recent", rec, ArtifactKind.RECORDING, archived_at=None, state=ManifestState.PENDING)

    w.meeting("checksum_bad", at(DAY, "15:00"), at(DAY, "16:00"), MeetingStatus.FINISHED)
    rec = w.conference(
        "checksum_bad", at(DAY, "15:00"), at(DAY, "15:55"), joined=[("organizer@example.com", True)]
    )
    w.artifact(
        "checksum_bad",
        rec,
        ArtifactKind.RECORDING,
        archived_at=at(DAY, "16:10"),
        drive_sha256="ab" * 32,
    )

    w.meeting("object_deleted", at(DAY, "16:00"), at(DAY, "17:00"), MeetingStatus.FINISHED)
    rec = w.conference(
        "object_deleted",
        at(DAY, "16:00"),
        at(DAY, "16:50"),
        joined=[("organizer@example.com", True)],
    )
    deleted = w.artifact(
        "object_deleted", rec, ArtifactKind.RECORDING, archived_at=at(DAY, "17:05")
    )

    w.meeting("provisioning_failed", at(DAY, "17:00"), at(DAY, "18:00"), MeetingStatus.FAILED)
    # Another day's meeting must not appear in this day's ledger.
    w.meeting("tomorrow", at(NEXT, "09:00"), at(NEXT, "10:00"), MeetingStatus.SCHEDULED)
    return {"deleted": deleted}


@dataclass(frozen=True)
class Row:
    outcome: str
    status: str
    reasons: str
    invited: int
    joined: int
    invited_joined: int
    recordings: tuple[int, int]  # found, archived
    transcripts: tuple[int, int]
    checksums_verified: bool | None
    minutes_to_archive: int | None


EXPECTED = {
    "normal": Row("held", "compliant", "", 3, 3, 2, (1, 1), (1, 1), True, 32),
    "no_show": Row("not_held", "compliant", "", 3, 0, 0, (0, 0), (0, 0), None, None),
    "external_only": Row(
        "held", "violation", "held_without_recording", 3, 2, 0, (0, 0), (0, 0), None, None
    ),
    "two_files": Row("held", "compliant", "", 3, 1, 1, (2, 2), (0, 0), True, 26),
    "cancelled": Row("cancelled", "compliant", "", 3, 0, 0, (0, 0), (0, 0), None, None),
    "late_archive": Row(
        "held", "violation", "recording_not_archived_in_time", 3, 1, 1, (1, 1), (0, 0), True, 1475
    ),
    "overdue": Row(
        "held", "violation", "recording_not_archived_in_time", 3, 1, 1, (1, 0), (0, 0), None, None
    ),
    "recent": Row("held", "pending", "", 3, 1, 1, (1, 0), (0, 0), None, None),
    "checksum_bad": Row(
        "held", "violation", "checksum_mismatch", 3, 1, 1, (1, 1), (0, 0), False, 15
    ),
    "object_deleted": Row(
        "held", "violation", "object_missing_or_unlocked", 3, 1, 1, (1, 1), (0, 0), True, 15
    ),
    "provisioning_failed": Row(
        "provisioning_failed",
        "violation",
        "provisioning_failed",
        3,
        0,
        0,
        (0, 0),
        (0, 0),
        None,
        None,
    ),
}


def ledger(sessions: sessionmaker[Session], world: World) -> dict[str, LedgerEntry]:
    with sessions() as session:
        rows = session.scalars(select(LedgerEntry).where(LedgerEntry.partition_date == DAY)).all()
    names = {v: k for k, v in world.meetings.items()}
    return {names[r.meeting_id]: r for r in rows}


def run_day(
    fresh_database_url: str, s3_server: EmbeddedS3, bucket: str, now: datetime
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        LEDGER_ASSETS,
        partition_key=DAY,
        raise_on_error=False,
        resources=pipeline_resources(fresh_database_url, s3_server.endpoint_url, bucket, now),
    )


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_simulated_day_yields_exactly_the_expected_ledger(
    world: World,
    fresh_database_url: str,
    fresh_sessions: sessionmaker[Session],
    s3_server: EmbeddedS3,
    bucket: str,
) -> None:
    ids = build_day(world)
    gone = world.manifest_row(ids["deleted"])
    world.s3.delete_object(
        Bucket=bucket,
        Key=gone.object_key,
        VersionId=gone.version_id,
        BypassGovernanceRetention=True,
    )

    result = run_day(fresh_database_url, s3_server, bucket, NOW)

    rows = ledger(fresh_sessions, world)
    assert sorted(rows) == sorted(EXPECTED), (
        "one row per meeting of the day, no other day's meeting"
    )
    for name, expected in EXPECTED.items():
        row = rows[name]
        actual = Row(
            row.outcome,
            row.compliance_status,
            row.violation_reasons,
            row.invited_count,
            row.joined_count,
            row.invited_joined_count,
            (row.recordings_found, row.recordings_archived),
            (row.transcripts_found, row.transcripts_archived),
            row.checksums_verified,
            row.minutes_to_archive,
        )
        assert actual == expected, name
        assert row.recording_required == (expected.outcome == "held"), name
    assert rows["recent"].pending_until == at(NEXT, "20:58")  # conference end + 24 h archive SLA
    assert all(r.pending_until is None for n, r in rows.items() if n != "recent")
    assert rows["normal"].retain_until is not None and rows["normal"].retain_until > NOW
    assert rows["normal"].conference_start == at(DAY, "09:02") and rows[
        "normal"
    ].conference_end == at(DAY, "09:58")

    # The checks: held meetings without archived recordings fail (and block the
    # attestation), the deleted object fails the S3 check, nothing is near expiry.
    assert check_results(result) == {
        "held_meetings_recorded": False,
        "manifest_objects_in_s3": False,
        "no_conference_near_expiry_unharvested": True,
    }
    assert result.success, "a violation is a finding: the ledger run succeeds"
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"compliance_ledger"}, "a day with violations is not attested"

    with fresh_sessions() as session:
        violations = session.scalars(
            select(ComplianceViolation).order_by(ComplianceViolation.id)
        ).all()
        summary = session.get(ComplianceDailySummary, DAY)
        check = session.get(ObjectCheck, ids["deleted"])
        outbox = session.scalars(
            select(WebhookOutboxEntry).order_by(WebhookOutboxEntry.created_at)
        ).all()
        opened = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "compliance.violation_opened")
        ).all()
    names = {v: k for k, v in world.meetings.items()}
    assert sorted((names[v.meeting_id], v.reason, v.state) for v in violations) == [
        ("checksum_bad", "checksum_mismatch", "open"),
        ("external_only", "held_without_recording", "open"),
        ("late_archive", "recording_not_archived_in_time", "open"),
        ("object_deleted", "object_missing_or_unlocked", "open"),
        ("overdue", "recording_not_archived_in_time", "open"),
        ("provisioning_failed", "provisioning_failed", "open"),
    ]
    assert "missing" in next(
        v.detail for v in violations if v.reason == "object_missing_or_unlocked"
    )
    assert check is not None and check.outcome == "missing"
    assert summary is not None
    assert (summary.meetings, summary.held, summary.not_held, summary.cancelled) == (11, 8, 1, 1)
    assert (summary.compliant, summary.pending, summary.violation, summary.open_violations) == (
        4,
        1,
        6,
        6,
    )
    assert summary.compliance_rate == pytest.approx(2 / 8)  # normal, two_files of 8 rated meetings
    assert (
        summary.held_without_recording,
        summary.recording_not_archived_in_time,
        summary.checksum_mismatch,
        summary.object_missing_or_unlocked,
        summary.harvest_near_expiry,
        summary.provisioning_failed,
    ) == (1, 2, 1, 1, 0, 1)
    # One webhook and one audit event per violation, in the ledger's transaction.
    assert [o.event_type for o in outbox] == ["compliance.violation"] * 6
    bodies = [json.loads(o.body) for o in outbox]
    assert sorted(b["data"]["reason"] for b in bodies) == sorted(v.reason for v in violations)
    assert {b["id"] for b in bodies} == {o.id for o in outbox}
    assert len(opened) == 6


def test_rerun_is_idempotent_people_resolve_and_time_turns_pending_into_violation(
    world: World,
    fresh_database_url: str,
    fresh_sessions: sessionmaker[Session],
    s3_server: EmbeddedS3,
    bucket: str,
) -> None:
    build_day(world)
    run_day(fresh_database_url, s3_server, bucket, NOW)
    before = {
        n: (r.compliance_status, r.violation_reasons) for n, r in ledger(fresh_sessions, world).items()
    }
    run_day(fresh_database_url, s3_server, bucket, NOW)
    assert {
        n: (r.compliance_status, r.violation_reasons) for n, r in ledger(fresh_sessions, world).items()
    } == before
    with fresh_sessions() as session:  # the object is not deleted here: five violations
        assert len(session.scalars(select(ComplianceViolation)).all()) == 5
        assert len(session.scalars(select(WebhookOutboxEntry)).all()) == 5
        bad = session.scalar(
            select(ComplianceViolation).where(ComplianceViolation.reason == "checksum_mismatch")
        )
        assert bad is not None
    with fresh_sessions.begin() as session:
        assert resolve_violation(
            session,
            bad.id,
            by="jane.auditor",
            resolution="Drive re-computed: false alarm",
            now=NOW + timedelta(hours=1),
        )
    with fresh_sessions.begin() as session:
        assert not resolve_violation(
            session, bad.id, by="jane.auditor", resolution="again", now=NOW
        )

    later = NOW + timedelta(hours=15)  # past the recent meeting's archive deadline
    run_day(fresh_database_url, s3_server, bucket, later)
    rows = ledger(fresh_sessions, world)
    assert (rows["recent"].compliance_status, rows["recent"].violation_reasons) == (
        "violation",
        "recording_not_archived_in_time",
    )
    with fresh_sessions() as session:
        violations = session.scalars(
            select(ComplianceViolation).order_by(ComplianceViolation.id)
        ).all()
        summary = session.get(ComplianceDailySummary, DAY)
    resolved = [v for v in violations if v.state == "resolved"]
    assert [(v.reason, v.resolved_by, v.resolution) for v in resolved] == [
        ("checksum_mismatch", "jane.auditor", "Drive re-computed: false alarm")
    ]
    assert len(violations) == 6, "a person's resolution stands; only the recent meeting opened one"
    assert summary is not None and (
        summary.violation,
        summary.pending,
        summary.open_violations,
    ) == (6, 0, 5)
    assert LEDGER_RESOLVER not in {v.resolved_by for v in violations}


@pytest.mark.parametrize(
    ("by", "resolution"),
    [
        ("", "note"),
        ("   ", "note"),
        ("x" * 201, "note"),
        ("jane", ""),
        ("jane", "  "),
        (LEDGER_RESOLVER, "note"),
        (None, "note"),
        ("jane", None),
    ],
)
def test_resolving_refuses_garbage(by: object, resolution: object) -> None:
    with Session() as session, pytest.raises(ValueError):  # refused before any query
        resolve_violation(session, 1, by=by, resolution=resolution, now=NOW)  # type: ignore[arg-type]


def test_a_fully_recorded_day_is_attested(
    world: World,
    fresh_database_url: str,
    fresh_sessions: sessionmaker[Session],
    s3_server: EmbeddedS3,
    bucket: str,
) -> None:
    world.meeting("normal", at(DAY, "09:00"), at(DAY, "10:00"), MeetingStatus.FINISHED)
    rec = world.conference(
        "normal", at(DAY, "09:02"), at(DAY, "09:58"), joined=[("organizer@example.com", True)]
    )
    world.artifact("normal", rec, ArtifactKind.RECORDING, archived_at=at(DAY, "10:30"))
    world.meeting("no_show", at(DAY, "10:00"), at(DAY, "10:30"), MeetingStatus.NOT_HELD)

    result = run_day(fresh_database_url, s3_server, bucket, NOW)
    assert result.success
    assert all(check_results(result).values())
    [attestation] = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "compliance_attestation"
    ]
    uri = attestation.materialization.metadata["attestation"].value
    key = uri.split(f"s3://{bucket}/", 1)[1]
    head = world.s3.head_object(Bucket=bucket, Key=key)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    document = json.loads(world.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert (document["day"], document["ledger_rows"], document["held"], document["violation"]) == (
        DAY,
        2,
        1,
        0,
    )
    # Re-running attests the same bytes at the same key: no second object.
    run_day(fresh_database_url, s3_server, bucket, NOW)
    listed = world.s3.list_object_versions(Bucket=bucket, Prefix="meet/attestations/")
    assert len(listed.get("Versions", [])) == 1


def test_a_day_with_an_unrecorded_meeting_is_judged_not_attested(
    world: World,
    fresh_database_url: str,
    fresh_sessions: sessionmaker[Session],
    s3_server: EmbeddedS3,
    bucket: str,
) -> None:
    """A settled day (nothing pending) whose held meeting has no recording: the run succeeds,
    the check fails with ERROR severity naming the day and listing the meeting, and the
    attestation (which reads the ledger, not the check) is not written."""
    world.meeting("unrecorded", at(DAY, "09:00"), at(DAY, "10:00"), MeetingStatus.FINISHED)
    world.conference(
        "unrecorded", at(DAY, "09:02"), at(DAY, "09:58"), joined=[("organizer@example.com", True)]
    )

    result = run_day(fresh_database_url, s3_server, bucket, NOW)

    assert result.success
    with fresh_sessions() as session:
        summary = session.get(ComplianceDailySummary, DAY)
        assert summary is not None and (summary.pending, summary.violation) == (0, 1)
    [check] = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "held_meetings_recorded"
    ]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert DAY in (check.description or "") and check.metadata["day"].value == DAY
    [listed] = check.metadata["violations"].value.records
    assert listed.data["external_id"] == "unrecorded"
    assert "held_without_recording" in listed.data["violation_reasons"]
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"compliance_ledger"}
    listed_objects = world.s3.list_objects_v2(Bucket=bucket, Prefix="meet/attestations/")
    assert listed_objects.get("KeyCount", 0) == 0
