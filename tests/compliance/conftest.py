"""Compliance fixtures: a real moto S3 server over HTTP (one per session, a GOVERNANCE
-locked bucket per test), a fresh migrated database per test (SQLite and PostgreSQL), a
day built directly in both, and the Dagster resources of the code location."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive import ensure_bucket
from meet_core.archive.client import S3Client
from meet_core.db import make_engine, make_session_factory
from meet_core.db.migrate import upgrade
from meet_pipeline.defs.compliance.resources import ComplianceResource
from meet_pipeline.resources import ArchiveResource, ClockResource, DatabaseResource
from meet_sandbox.s3 import EmbeddedS3
from tests.compliance.world import RETENTION_DAYS, World


class FixedClock(ClockResource):
    """The pipeline's clock resource, stopped at a given moment (ISO 8601)."""

    at_iso: str

    def now(self) -> datetime:
        return datetime.fromisoformat(self.at_iso)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[EmbeddedS3]:
    with EmbeddedS3() as server:
        yield server


@pytest.fixture(scope="session")
def s3(s3_server: EmbeddedS3) -> S3Client:
    return s3_server.client()


@pytest.fixture
def bucket(s3: S3Client) -> str:
    name = f"c-{uuid.uuid4().hex[:24]}"
    ensure_bucket(s3, name, object_lock=True)
    return name


@pytest.fixture
def db_url(empty_database_url: str) -> str:
    upgrade(empty_database_url)
    return empty_database_url


@pytest.fixture
def db_sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def world(db_sessions: sessionmaker[Session], s3: S3Client, bucket: str) -> World:
    return World(db_sessions, s3, bucket)


def pipeline_resources(
    db_url: str, endpoint: str, bucket: str, now: datetime, **compliance: Any
) -> dict[str, Any]:
    return {
        "database": DatabaseResource(url=db_url),
        "s3": ArchiveResource(
            endpoint_url=endpoint,
            bucket=bucket,
            prefix="meet",
            object_lock_mode="GOVERNANCE",
            retention_days=RETENTION_DAYS,
        ),
        "clock": FixedClock(at_iso=now.isoformat()),
        "compliance": ComplianceResource(**compliance),
    }
