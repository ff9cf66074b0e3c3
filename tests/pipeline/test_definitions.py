"""The code location loads and validates like CI and `dagster dev` load it, with the
shape the data team sees in the UI; the instance configs are valid Dagster configs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml
from sqlalchemy import create_engine, text

from meet_core.settings import Settings
from meet_pipeline.definitions import build_definitions, database_kind, defs
from meet_pipeline.home import prepare_dagster_home
from meet_pipeline.policy import ARCHIVE_JOB, GOOGLE_POOL, HARVEST_JOB, OWNERS, RETRY_POLICY, S3_POOL
from tests.databases import ENGINES, dagster_postgres_env, temporary_database

ROOT = Path(__file__).resolve().parents[2]
DAGSTER = Path(sys.executable).with_name("dagster")


def test_dagster_definitions_validate_passes_on_the_workspace(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEET_", "DAGSTER_"))}
    env.update(MEET_HOME=str(tmp_path), DAGSTER_HOME=str(prepare_dagster_home(tmp_path)))
    result = subprocess.run(
        [str(DAGSTER), "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All code locations passed validation" in result.stdout + result.stderr


def test_assets_carry_groups_kinds_owners_pools_and_descriptions() -> None:
    graph = defs.resolve_asset_graph()
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    assert set(specs) == {
        "conference_records",
        "attendance",
        "archived_recordings",
        "archived_transcripts",
        "compliance_ledger",
        "compliance_attestation",
        "compliance_report",
        "audit_digest",
        "workspace_events",
        "event_subscriptions",
    }
    # The database kind names the configured engine (the same code runs on both).
    db = database_kind(Settings.from_env().database_url)
    assert db in ("sqlite", "postgres")
    assert specs["conference_records"].kinds == {"google", db}
    assert specs["archived_recordings"].kinds == {"google", "s3", db}
    assert specs["archived_transcripts"].kinds == {"google", "s3", db}
    for spec in specs.values():
        assert spec.owners == OWNERS and spec.description
        # Everything is partitioned by day but the digest, which covers the chain's new segment,
        # and the events area's state (subscriptions, events received), which is not by day.
        unpartitioned = ("audit_digest", "workspace_events", "event_subscriptions")
        assert (spec.partitions_def is None) == (spec.key.to_user_string() in unpartitioned)
        assert spec.group_name in ("meetings", "archive", "compliance", "events")
    pools = {key.to_user_string(): graph.get(key).pools for key in graph.get_all_asset_keys()}
    assert pools["archived_recordings"] == {S3_POOL} and pools["conference_records"] == {
        GOOGLE_POOL
    }
    assert pools["attendance"] in (set(), None, frozenset())


def test_jobs_apply_the_retry_policy_and_sensors_are_on() -> None:
    repository = defs.get_repository_def()
    for name in (ARCHIVE_JOB, HARVEST_JOB):
        assert repository.get_job(name).op_retry_policy == RETRY_POLICY
    sensors = {s.name: s for s in repository.sensor_defs}
    assert {"provisioning_sensor", "conference_sensor", "archive_sensor"} <= set(sensors)
    for name in (
        "provisioning_sensor",
        "conference_sensor",
        "archive_sensor",
        "meetings_automation",
    ):
        assert sensors[name].default_status == dg.DefaultSensorStatus.RUNNING
    assert sensors["archive_sensor"].job_name == ARCHIVE_JOB
    assert repository.get_schedule_def("harvest_yesterday").job_name == HARVEST_JOB


def test_resources_follow_the_settings(tmp_path: Path) -> None:
    from meet_core.settings import Settings
    from meet_pipeline.settings import PipelineSettings

    env = {
        "MEET_HOME": str(tmp_path),
        "MEET_S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "MEET_S3_BUCKET": "b-1",
        "MEET_OBJECT_LOCK_MODE": "GOVERNANCE",
        "MEET_RETENTION_DAYS": "12",
        "MEET_ARCHIVE_MAX_TRANSFERS": "7",
        "MEET_LEGAL_HOLD": "yes",
        "MEET_NOT_HELD_GRACE_MINUTES": "45",
    }
    resources = (
        build_definitions(Settings.from_env(env), PipelineSettings.from_env(env)).resources or {}
    )
    s3 = resources["s3"]
    assert (
        s3.endpoint_url,
        s3.bucket,
        s3.object_lock_mode,
        s3.retention_days,
        s3.max_transfers,
        s3.legal_hold,
    ) == ("http://127.0.0.1:9", "b-1", "GOVERNANCE", 12, 7, True)
    assert resources["policy"].window().grace.total_seconds() == 45 * 60
    assert resources["database"].url == f"sqlite:///{tmp_path / 'meet.db'}"


def test_dagster_home_is_prepared_under_meet_home_and_kept(tmp_path: Path) -> None:
    home = prepare_dagster_home(tmp_path)
    assert home == tmp_path / "dagster"
    assert (home / "dagster.yaml").read_text() == (ROOT / "dagster.yaml").read_text()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    assert prepare_dagster_home(tmp_path) == home
    assert (
        home / "dagster.yaml"
    ).read_text() == "telemetry:\n  enabled: false\n"  # an operator's file stays
    with dg.DagsterInstance.from_config(str(prepare_dagster_home(tmp_path / "other"))) as instance:
        assert instance.run_coordinator.__class__.__name__ == "QueuedRunCoordinator"
        assert instance.run_retries_enabled
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert str(instance.root_directory) == str(tmp_path / "other" / "dagster")


def test_the_home_command_creates_the_instance_storage_before_dagster_starts(tmp_path: Path) -> None:
    # The webserver and the daemon, started together on a new instance, would otherwise
    # both create its tables; the loser exits ("table alembic_version already exists").
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEET_", "DAGSTER_"))}
    env["MEET_HOME"] = str(tmp_path)
    printed = subprocess.run([sys.executable, "-m", "meet_pipeline.home"], env=env, capture_output=True,
                             text=True, timeout=120, check=True).stdout
    home = Path(printed.strip())
    assert home == tmp_path / "dagster"
    assert {"history/runs.db", "history/runs/index.db", "schedules/schedules.db"} <= {
        str(p.relative_to(home)) for p in home.rglob("*.db")}


@pytest.mark.skipif("postgresql" not in ENGINES, reason="PostgreSQL half only")
def test_the_deploy_instance_config_runs_on_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "dagster-home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "deploy" / "dagster.yaml").read_text())
    with temporary_database("postgresql", tmp_path) as url:
        for variable, value in dagster_postgres_env(url).items():
            monkeypatch.setenv(variable, value)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert instance.run_retries_max_retries == 3
            assert instance.run_coordinator.__class__.__name__ == "QueuedRunCoordinator"
            assert instance.get_runs() == []
        engine = create_engine(url.replace("postgresql+psycopg", "postgresql+psycopg"))
        with engine.connect() as conn:
            tables = set(
                conn.execute(
                    text("select tablename from pg_tables where schemaname='public'")
                ).scalars()
            )
        engine.dispose()
        assert {"runs", "event_logs", "jobs"} <= tables


def test_workspace_files_point_at_the_code_location() -> None:
    local = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    assert local["load_from"][0]["python_module"]["module_name"] == "meet_pipeline.definitions"
    remote = yaml.safe_load((ROOT / "deploy" / "workspace.yaml").read_text())
    assert remote["load_from"][0]["grpc_server"]["location_name"] == "meet-archive"


def test_production_clock_is_the_system_clock_even_with_a_google_endpoint(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from meet_pipeline.resources import ClockResource
    from meet_pipeline.settings import PipelineSettings

    # Nothing listens on port 9: a clock that asked this endpoint would fail.
    env = {"MEET_HOME": str(tmp_path), "MEET_GOOGLE_ENDPOINT": "http://127.0.0.1:9"}
    resources = (
        build_definitions(Settings.from_env(env), PipelineSettings.from_env(env)).resources or {}
    )
    clock = resources["clock"]
    assert type(clock) is ClockResource
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5
    assert type((defs.resources or {})["clock"]) is ClockResource


def test_the_database_kind_names_the_configured_engine(tmp_path: Path) -> None:
    from meet_pipeline.settings import PipelineSettings

    for url, kind in (
        ("postgresql+psycopg://meet@127.0.0.1:5432/meet", "postgres"),
        (f"sqlite:///{tmp_path / 'meet.db'}", "sqlite"),
    ):
        env = {"MEET_HOME": str(tmp_path), "MEET_DATABASE_URL": url}
        built = build_definitions(Settings.from_env(env), PipelineSettings.from_env(env))
        specs = {s.key.to_user_string(): s for s in built.resolve_all_asset_specs()}
        assert specs["attendance"].kinds == {kind}
        assert specs["compliance_report"].kinds == {"s3", "html"}


def test_daily_schedules_ask_for_yesterday_once() -> None:
    from datetime import UTC, datetime

    from meet_pipeline.defs.compliance.schedules import compliance_report_schedule
    from meet_pipeline.defs.google.schedules import harvest_yesterday

    moment = datetime(2025, 6, 10, 1, 30, tzinfo=UTC)
    for schedule, prefix in ((harvest_yesterday, "harvest"), (compliance_report_schedule, "report")):
        request = schedule(dg.build_schedule_context(scheduled_execution_time=moment))
        assert isinstance(request, dg.RunRequest)
        assert (request.partition_key, request.run_key) == ("2025-06-09", f"{prefix}-2025-06-09")
    assert harvest_yesterday.cron_schedule == "30 1 * * *"
    assert compliance_report_schedule.cron_schedule == "0 2 * * *"


def test_only_the_sandbox_location_follows_the_emulator_clock(tmp_path: Path) -> None:
    from meet_pipeline.resources import ClockResource
    from meet_pipeline.settings import PipelineSettings
    from meet_sandbox.pipeline import EmulatorClock, build_sandbox_definitions

    env = {"MEET_HOME": str(tmp_path), "MEET_GOOGLE_ENDPOINT": "http://127.0.0.1:9"}
    sandbox = build_sandbox_definitions(Settings.from_env(env), PipelineSettings.from_env(env))
    clock = (sandbox.resources or {})["clock"]
    assert isinstance(clock, EmulatorClock) and clock.emulator_url == "http://127.0.0.1:9"
    env.pop("MEET_GOOGLE_ENDPOINT")
    plain = build_sandbox_definitions(Settings.from_env(env), PipelineSettings.from_env(env))
    assert type((plain.resources or {})["clock"]) is ClockResource
