"""The compliance area as the code location loads it: assets, checks, jobs, schedules and
sensors in the UI, and the schedules' run requests."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
from sqlalchemy.orm import Session, sessionmaker

from meet_core.compliance.ledger import materialize_ledger
from meet_core.compliance.service_levels import ServiceLevels
from meet_core.db.models import MeetingStatus
from meet_core.settings import Settings
from meet_pipeline.definitions import database_kind, defs
from meet_pipeline.defs.compliance.schedules import (
    compliance_ledger_schedule,
    compliance_report_schedule,
)
from meet_pipeline.policy import RETRY_POLICY
from meet_pipeline.resources import DatabaseResource
from tests.compliance.world import World, at


def test_the_code_location_carries_the_compliance_area() -> None:
    specs = {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}
    compliance = {k for k, s in specs.items() if s.group_name == "compliance"}
    assert compliance == {
        "compliance_ledger",
        "compliance_attestation",
        "compliance_report",
        "audit_digest",
    }
    assert specs["compliance_ledger"].kinds == {database_kind(Settings.from_env().database_url), "s3"}
    assert {d.asset_key.to_user_string() for d in specs["compliance_ledger"].deps} == {
        "archived_recordings",
        "archived_transcripts",
        "attendance",
    }
    assert all(specs[k].description and specs[k].owners for k in compliance)
    checks = {k.name: k for k in defs.resolve_asset_graph().asset_check_keys}
    assert {
        "held_meetings_recorded",
        "manifest_objects_in_s3",
        "no_conference_near_expiry_unharvested",
        "audit_chain_verifies",
    } <= set(checks)
    repository = defs.get_repository_def()
    for job in ("compliance_ledger_day", "compliance_report_day", "audit_digest_hourly"):
        assert repository.get_job(job).op_retry_policy == RETRY_POLICY
    running = dg.DefaultScheduleStatus.RUNNING
    for name in (
        "compliance_ledger_schedule",
        "compliance_report_schedule",
        "audit_digest_schedule",
    ):
        assert repository.get_schedule_def(name).default_status == running
    sensors = {s.name: s for s in repository.sensor_defs}
    for name in ("webhook_delivery_sensor", "run_failure_webhook_sensor"):
        assert sensors[name].default_status == dg.DefaultSensorStatus.RUNNING
    assert "compliance" in (defs.resources or {})


def test_schedules_ask_for_the_right_days(
    world: World, fresh_database_url: str, fresh_sessions: sessionmaker[Session]
) -> None:
    # A day three days back still has a pending meeting: it is judged again every hour.
    world.meeting(
        "waiting", at("2025-06-07", "09:00"), at("2025-06-07", "10:00"), MeetingStatus.PENDING
    )
    with fresh_sessions() as session:
        materialize_ledger(
            session, "2025-06-07", now=at("2025-06-07", "08:00"), levels=ServiceLevels(), actor="t"
        )
    moment = datetime(2025, 6, 10, 3, 20, tzinfo=UTC)
    context = dg.build_schedule_context(scheduled_execution_time=moment)
    requests = compliance_ledger_schedule(context, database=DatabaseResource(url=fresh_database_url))
    assert [(r.partition_key, r.run_key) for r in requests] == [
        ("2025-06-07", "ledger-2025-06-07-2025-06-10T03"),
        ("2025-06-09", "ledger-2025-06-09-2025-06-10T03"),
        ("2025-06-10", "ledger-2025-06-10-2025-06-10T03"),
    ]
    report = compliance_report_schedule(dg.build_schedule_context(scheduled_execution_time=moment))
    assert report.partition_key == "2025-06-09"
