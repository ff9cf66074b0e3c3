"""Peak memory of archiving one large recording through the pipeline's archive asset.

:func:`measure` starts the Google emulator (in process) and a moto S3 server (its own
process, so its copy of the object does not count), provisions and plays a meeting whose
recording is ``size_mib`` large, harvests it into the manifest with the pipeline's own
code, then materializes ``archived_recordings`` for the day in a fresh subprocess (the
archiving process: ``python -m meet_sandbox.archive_memory child PARTITION``, which reads
the MEET_* environment like the Dagster code location does) and returns that process's
report, peak RSS included: Drive → ranged chunks → multipart upload → Object Lock read
back, SHA-256 checked against Drive.

Used by ``tests/pipeline/test_archive_memory.py`` (256 MiB) and by the benches
``bench/archive_pipeline_memory.py`` (2 GiB) and ``bench/archive_throughput.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from meet_sandbox.children import run_json_child
from meet_sandbox.memory import current_rss_kib, peak_rss_kib

ORGANIZER = "organizer@example.com"
BUCKET = "bench-archive"


def pipeline_resources() -> dict[str, Any]:
    """The sandbox code location's resources (the emulator's clock), from the MEET_*
    environment as a run worker reads it."""
    from meet_core.settings import Settings
    from meet_pipeline.settings import PipelineSettings
    from meet_sandbox.pipeline import build_sandbox_resources

    return build_sandbox_resources(Settings.from_env(), PipelineSettings.from_env())


def materialize_archive(partition: str, resources: dict[str, Any]) -> tuple[Any, float]:
    """Materialize archived_recordings for the partition on an ephemeral instance; returns
    its materialization metadata and the wall seconds."""
    import dagster as dg

    from meet_pipeline.defs.archive.assets import archived_recordings

    started = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [archived_recordings], partition_key=partition, resources=resources, instance=instance
        )
    seconds = time.perf_counter() - started
    [materialization] = result.asset_materializations_for_node("archived_recordings")
    return materialization.metadata, seconds


def child(partition: str) -> dict[str, Any]:
    """Materialize archived_recordings for the partition, as a run worker would."""
    resources = pipeline_resources()
    before = current_rss_kib()
    metadata, seconds = materialize_archive(partition, resources)
    return {
        "archived": metadata["archived"].value,
        "bytes": metadata["bytes"].value,
        "seconds": round(seconds, 2),
        "rss_before_archive_kib": before,
        "rss_peak_kib": peak_rss_kib(),
    }


def start_s3(home: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(  # noqa: S603 - our own program
        [sys.executable, "-m", "meet_sandbox.s3", "--bucket", BUCKET],
        stdout=subprocess.PIPE,
        text=True,
        cwd=home,
    )
    assert process.stdout is not None
    endpoint = process.stdout.readline().strip()
    if not endpoint.startswith("http://"):
        process.terminate()
        raise RuntimeError(f"embedded S3 did not start: {endpoint!r}")
    return process, endpoint


def prepare(env: dict[str, str], people_url: str, size: int) -> tuple[str, str, str]:
    """A provisioned meeting whose recording of ``size`` bytes is FILE_GENERATED and in the
    manifest; returns (partition, meeting id, Drive sha256)."""
    from sqlalchemy import select

    from meet_core.days import day_of
    from meet_core.db import make_engine, make_session_factory
    from meet_core.db.migrate import upgrade
    from meet_core.db.models import ApiClient, ArchiveManifestEntry, Meeting, Participant
    from meet_core.google import GoogleGateway
    from meet_core.google.types import parse_time
    from meet_core.harvest.apply import apply_snapshot
    from meet_core.harvest.snapshot import MeetingTarget, fetch_snapshot
    from meet_core.meetings_state import WindowPolicy
    from meet_core.provisioning import retry_pending
    from meet_core.settings import Settings
    from meet_sandbox.emulator import SandboxClient

    settings = Settings.from_env(env)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    gateway = GoogleGateway.from_settings(settings)
    people = SandboxClient(people_url)
    now = parse_time(people.call("GET", "clock")["now"])
    assert now is not None
    with sessions.begin() as session:
        client = ApiClient(name="bench")
        session.add(client)
        session.flush()
        meeting = Meeting(
            client_id=client.id,
            external_id="BENCH-1",
            title="Bench",
            timezone="UTC",
            start_time=now - timedelta(minutes=1),
            end_time=now + timedelta(hours=1),
            organizer_email=ORGANIZER,
            status="pending",
        )
        meeting.participants = [Participant(email=ORGANIZER, role="organizer")]
        session.add(meeting)
        session.flush()
        meeting_id = meeting.id
    retry_pending(sessions, gateway, now=now)
    with sessions() as session:
        provisioned = session.get(Meeting, meeting_id)
        assert provisioned is not None and provisioned.space_name, "provisioning failed"
        space = provisioned.space_name
    people.join(space, ORGANIZER, recording_size_bytes=size)
    people.advance(60)
    people.leave(space, ORGANIZER)
    people.advance(3600)
    later = parse_time(people.call("GET", "clock")["now"])
    with sessions() as session:
        target = MeetingTarget.of(session.get(Meeting, meeting_id))  # type: ignore[arg-type]
    snapshot = fetch_snapshot(gateway, target)
    with sessions.begin() as session:
        apply_snapshot(session, snapshot, now=later, policy=WindowPolicy(), actor="bench")  # type: ignore[arg-type]
    with sessions() as session:
        row = session.scalar(
            select(ArchiveManifestEntry).where(ArchiveManifestEntry.kind == "recording")
        )
        assert row is not None and row.google_state == "FILE_GENERATED" and row.source_id
        drive = gateway.get_file(row.source_id)
    engine.dispose()
    assert drive.size == size and drive.sha256
    return day_of(target.start_time), meeting_id, drive.sha256


def archived_row(env: dict[str, str]) -> tuple[str, str, int]:
    from sqlalchemy import select

    from meet_core.db import make_engine, make_session_factory
    from meet_core.db.models import ArchiveManifestEntry
    from meet_core.settings import Settings

    engine = make_engine(Settings.from_env(env).database_url)
    with make_session_factory(engine)() as session:
        row = session.scalar(
            select(ArchiveManifestEntry).where(ArchiveManifestEntry.kind == "recording")
        )
        assert row is not None
        result = (row.state, row.sha256 or "", row.size or 0)
    engine.dispose()
    return result


def measure(size_mib: int) -> dict[str, Any]:
    """Set everything up, archive in a subprocess, check the manifest; the child's report."""
    from meet_sandbox.emulator import EmulatorServer, write_service_account

    size = size_mib * 2**20
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        key = write_service_account(home / "sa.json")
        s3, endpoint = start_s3(home)
        try:
            with EmulatorServer("127.0.0.1", 0, service_accounts=[key]) as emulator:
                env = {
                    "MEET_HOME": str(home),
                    "MEET_DATABASE_URL": f"sqlite:///{home / 'meet.db'}",
                    "MEET_GOOGLE_ENDPOINT": emulator.base_url,
                    "GOOGLE_APPLICATION_CREDENTIALS": str(key),
                    "MEET_GOOGLE_SUBJECT": ORGANIZER,
                    "MEET_S3_ENDPOINT_URL": endpoint,
                    "MEET_S3_BUCKET": BUCKET,
                    "MEET_OBJECT_LOCK_MODE": "GOVERNANCE",
                    "MEET_RETENTION_DAYS": "1",
                }
                partition, _, drive_sha256 = prepare(env, emulator.base_url, size)
                report = run_json_child(
                    [sys.executable, "-m", "meet_sandbox.archive_memory", "child", partition],
                    env={**os.environ, **env},
                    timeout=7200,
                    cwd=home,
                )
                state, sha256, stored = archived_row(env)
                assert (state, sha256, stored) == ("archived", drive_sha256, size), (
                    state,
                    sha256,
                    stored,
                )
        finally:
            s3.terminate()
            s3.wait(timeout=60)
    report["size_bytes"] = size
    report["sha256"] = drive_sha256
    return report


def main(argv: list[str] | None = None) -> None:
    """``child PARTITION``: the archiving process's side; prints its report as JSON."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "child":
        raise SystemExit("usage: python -m meet_sandbox.archive_memory child PARTITION")
    print(json.dumps(child(args[1])))


if __name__ == "__main__":
    main()
