"""Pipeline fixtures: the Google emulator and a moto S3 server over HTTP on loopback, a
fresh migrated database (SQLite and PostgreSQL) per test, a temporary Dagster instance,
and a :class:`PipelineHarness` that ticks sensors and materializes partitions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from meet_sandbox.emulator import EmulatorServer, SandboxClient
from meet_sandbox.pipeline_harness import PipelineHarness, make_harness
from meet_sandbox.s3 import EmbeddedS3


@pytest.fixture
def people(keyed_emulator: EmulatorServer) -> Iterator[SandboxClient]:
    """The sandbox's control API: plays the people who join, leave and record."""
    client = SandboxClient(keyed_emulator.base_url)
    client.reset()
    client.settings(recording_ready_delay_seconds=30.0, transcript_ready_delay_seconds=45.0)
    yield client
    client.clear_faults()


@pytest.fixture
def pipeline_s3_url(s3_server: EmbeddedS3) -> str:
    return s3_server.endpoint_url


@pytest.fixture
def dagster_instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


HarnessFactory = Callable[..., PipelineHarness]


@pytest.fixture
def harness_factory(
    fresh_database_url: str,
    keyed_emulator: EmulatorServer,
    key_file: Path,
    people: SandboxClient,
    s3_server: EmbeddedS3,
    bucket: str,
    dagster_instance: dg.DagsterInstance,
    tmp_path: Path,
) -> Iterator[HarnessFactory]:
    """``harness_factory(s3_endpoint=proxy_url, bucket=..., google={...}, env={...})``: the
    pipeline against another S3 endpoint (a fault proxy), bucket or settings."""
    made: list[PipelineHarness] = []
    default_bucket = bucket  # ``make(bucket=...)`` below names another

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
            emulator_url=keyed_emulator.base_url,
            key_file=key_file,
            people=people,
            s3_endpoint=s3_endpoint or s3_server.endpoint_url,
            s3_client=s3_server.client(),
            bucket=bucket or default_bucket,
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
