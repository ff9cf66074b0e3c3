"""Pipeline fixtures: the Google emulator and a moto S3 server over HTTP on loopback, a
fresh migrated database (SQLite and PostgreSQL) per test, a temporary Dagster instance,
and a :class:`PipelineHarness` that ticks sensors and materializes partitions."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from meet_core.archive import ensure_bucket
from meet_core.db.migrate import upgrade
from meet_sandbox.emulator import EmulatorServer, SandboxClient, write_service_account
from meet_sandbox.pipeline_harness import PipelineHarness, make_harness
from meet_sandbox.s3 import EmbeddedS3


@pytest.fixture(scope="session")
def pipeline_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_service_account(tmp_path_factory.mktemp("pipeline-sa") / "sa.json")


@pytest.fixture(scope="session")
def pipeline_emulator(pipeline_key_file: Path) -> Iterator[EmulatorServer]:
    with EmulatorServer("127.0.0.1", 0, service_accounts=[pipeline_key_file]) as server:
        yield server


@pytest.fixture
def people(pipeline_emulator: EmulatorServer) -> Iterator[SandboxClient]:
    """The sandbox's control API: plays the people who join, leave and record."""
    client = SandboxClient(pipeline_emulator.base_url)
    client.reset()
    client.settings(recording_ready_delay_seconds=30.0, transcript_ready_delay_seconds=45.0)
    yield client
    client.clear_faults()


@pytest.fixture(scope="session")
def pipeline_s3() -> Iterator[EmbeddedS3]:
    with EmbeddedS3() as server:
        yield server


@pytest.fixture
def pipeline_s3_url(pipeline_s3: EmbeddedS3) -> str:
    return pipeline_s3.endpoint_url


@pytest.fixture
def unlocked_bucket(pipeline_s3: EmbeddedS3) -> str:
    name = f"open-{uuid.uuid4().hex[:20]}"
    ensure_bucket(pipeline_s3.client(), name, object_lock=False)
    return name


@pytest.fixture
def archive_bucket(pipeline_s3: EmbeddedS3) -> str:
    name = f"pipe-{uuid.uuid4().hex[:20]}"
    ensure_bucket(pipeline_s3.client(), name, object_lock=True)
    return name


@pytest.fixture
def fresh_database_url(empty_database_url: str) -> str:
    upgrade(empty_database_url)
    return empty_database_url


@pytest.fixture
def dagster_instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


HarnessFactory = Callable[..., PipelineHarness]


@pytest.fixture
def harness_factory(
    fresh_database_url: str,
    pipeline_emulator: EmulatorServer,
    pipeline_key_file: Path,
    people: SandboxClient,
    pipeline_s3: EmbeddedS3,
    archive_bucket: str,
    dagster_instance: dg.DagsterInstance,
    tmp_path: Path,
) -> Iterator[HarnessFactory]:
    """``harness_factory(s3_endpoint=proxy_url, bucket=..., google={...}, env={...})``: the
    pipeline against another S3 endpoint (a fault proxy), bucket or settings."""
    made: list[PipelineHarness] = []

    def make(
        *,
        s3_endpoint: str | None = None,
        bucket: str | None = None,
        google: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        s3: dict[str, Any] | None = None,
    ) -> PipelineHarness:
        harness = make_harness(
            database_url=fresh_database_url,
            emulator_url=pipeline_emulator.base_url,
            key_file=pipeline_key_file,
            people=people,
            s3_endpoint=s3_endpoint or pipeline_s3.endpoint_url,
            s3_client=pipeline_s3.client(),
            bucket=bucket or archive_bucket,
            instance=dagster_instance,
            home=tmp_path,
            google=google,
            env=env,
            s3=s3,
        )
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()


@pytest.fixture
def harness(harness_factory: HarnessFactory) -> PipelineHarness:
    return harness_factory()
