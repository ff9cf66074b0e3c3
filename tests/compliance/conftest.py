"""Compliance fixtures: a day built directly in a fresh migrated database (SQLite and
PostgreSQL) and a locked bucket of the shared S3 server (tests/fixtures), and the Dagster
resources of the code location."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive.client import S3Client
from meet_pipeline.defs.compliance.resources import ComplianceResource
from meet_pipeline.resources import ArchiveResource, ClockResource, DatabaseResource
from tests.compliance.world import RETENTION_DAYS, World


class FixedClock(ClockResource):
    """The pipeline's clock resource, stopped at a given moment (ISO 8601)."""

    at_iso: str

    def now(self) -> datetime:
        return datetime.fromisoformat(self.at_iso)


@pytest.fixture
def world(fresh_sessions: sessionmaker[Session], s3: S3Client, bucket: str) -> World:
    return World(fresh_sessions, s3, bucket)


def pipeline_resources(
    fresh_database_url: str, endpoint: str, bucket: str, now: datetime, **compliance: Any
) -> dict[str, Any]:
    return {
        "database": DatabaseResource(url=fresh_database_url),
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
