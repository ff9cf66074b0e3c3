"""Resources shared by every area: the app database, the Google gateway, the S3 archive
(dagster-aws ``S3Resource``) and the clock.

Their values come from :class:`meet_core.settings.Settings` (the environment variables of
the contract) through :func:`build_resources`; tests build them with explicit values.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, overload

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive import ArchivePolicy, ArchiveWriter, s3_client
from meet_core.archive.client import S3Client
from meet_core.db import make_engine, make_session_factory
from meet_core.google import GoogleConfig, GoogleGateway, RetryPolicy
from meet_core.meetings_state import WindowPolicy
from meet_core.settings import Settings
from meet_pipeline.defs.events.resources import EventsResource
from meet_pipeline.settings import PipelineSettings

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_gateways: dict[tuple[Any, ...], GoogleGateway] = {}


class DatabaseResource(dg.ConfigurableResource):
    """The app and audit database (SQLite or PostgreSQL); one engine per URL and process."""

    url: str = Field(description="SQLAlchemy URL (MEET_DATABASE_URL)")

    def engine(self) -> Engine:
        with _lock:
            engine = _engines.get(self.url)
            if engine is None:
                engine = _engines[self.url] = make_engine(self.url)
            return engine

    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine())


class GoogleResource(dg.ConfigurableResource):
    """Calendar, Meet and Drive through :class:`GoogleGateway` (retries, call counts).

    One gateway per configuration and process, so tokens and per-thread HTTP connections
    survive from one sensor tick to the next.
    """

    endpoint: str | None = Field(default=None, description="MEET_GOOGLE_ENDPOINT (the emulator)")
    credentials_file: str | None = Field(default=None, description="GOOGLE_APPLICATION_CREDENTIALS")
    subject: str = Field(default="organizer@example.com", description="MEET_GOOGLE_SUBJECT")
    calendar_id: str = Field(default="primary", description="MEET_GOOGLE_CALENDAR_ID")
    deadline_seconds: int = Field(default=30, description="per-call retry deadline")
    retry_base_seconds: float = Field(default=0.2, description="first backoff step of the gateway")
    retry_cap_seconds: float = Field(default=8.0, description="longest backoff step of the gateway")

    def gateway(self) -> GoogleGateway:
        key = (
            self.endpoint,
            self.credentials_file,
            self.subject,
            self.calendar_id,
            self.deadline_seconds,
            self.retry_base_seconds,
            self.retry_cap_seconds,
        )
        with _lock:
            gateway = _gateways.get(key)
            if gateway is None:
                config = GoogleConfig(
                    credentials_file=Path(self.credentials_file) if self.credentials_file else None,
                    endpoint=self.endpoint,
                    subject=self.subject,
                    calendar_id=self.calendar_id,
                    deadline_seconds=self.deadline_seconds,
                )
                policy = RetryPolicy(base=self.retry_base_seconds, cap=self.retry_cap_seconds)
                gateway = _gateways[key] = GoogleGateway(config, retry_policy=policy)
            return gateway


class ArchiveResource(S3Resource):
    """dagster-aws ``S3Resource`` plus the archive target: bucket, prefix, Object Lock policy.

    The client comes from :func:`meet_core.archive.s3_client` (path addressing for custom
    endpoints, CRC64NVME checksums, the embedded server's keys on loopback) so that the
    pipeline, the API and ``audit verify`` reach S3 the same way.
    """

    bucket: str = Field(default="meet-archive", description="MEET_S3_BUCKET")
    prefix: str = Field(default="", description="MEET_S3_PREFIX")
    object_lock_mode: str = Field(default="COMPLIANCE", description="MEET_OBJECT_LOCK_MODE")
    retention_days: int = Field(default=2557, description="MEET_RETENTION_DAYS")
    legal_hold: bool = Field(default=False, description="MEET_LEGAL_HOLD")
    allow_unlocked_bucket: bool = Field(
        default=False, description="MEET_ALLOW_UNLOCKED_BUCKET (development only)"
    )
    max_transfers: int = Field(
        default=4, description="MEET_ARCHIVE_MAX_TRANSFERS: Drive → S3 transfers at once"
    )
    part_size_mib: int = Field(default=8, description="multipart part size")
    part_concurrency: int = Field(default=2, description="parts in flight per transfer")

    def get_client(self) -> S3Client:
        return s3_client(
            self.endpoint_url,
            access_key_id=self.aws_access_key_id,
            secret_access_key=self.aws_secret_access_key,
            session_token=self.aws_session_token,
            region_name=self.region_name,
            max_attempts=self.max_attempts,
            max_pool_connections=max(16, self.max_transfers * 4),
        )

    def policy(self) -> ArchivePolicy:
        return ArchivePolicy(
            mode=self.object_lock_mode,
            retention_days=self.retention_days,
            legal_hold=self.legal_hold,
            allow_unlocked_bucket=self.allow_unlocked_bucket,
        )

    def writer(self, client: S3Client | None = None) -> ArchiveWriter:
        """A writer for the bucket; raises ArchiveError if it has no Object Lock and that is
        not explicitly allowed."""
        return ArchiveWriter(
            client or self.get_client(),
            self.bucket,
            self.policy(),
            part_size=self.part_size_mib * 2**20,
            max_concurrency=self.part_concurrency,
        )


class ClockResource(dg.ConfigurableResource):
    """What time it is for meeting windows: the system clock.

    A sandbox that plays meetings in emulated time swaps in its own clock
    (``meet_sandbox.pipeline.EmulatorClock``); production never follows another clock.
    """

    def now(self) -> datetime:
        return datetime.now(UTC)


class PolicyResource(dg.ConfigurableResource):
    """Meeting windows, sensor bounds and archive retry backoff (see meet_pipeline.settings)."""

    lead_minutes: int = 15
    not_held_grace_minutes: int = 30
    rejoin_gap_minutes: int = 10
    artifact_wait_minutes: int = 120
    archive_retry_minutes: float = 5
    meetings_per_tick: int = 25

    def window(self) -> WindowPolicy:
        return WindowPolicy(
            lead=timedelta(minutes=self.lead_minutes),
            grace=timedelta(minutes=self.not_held_grace_minutes),
            rejoin_gap=timedelta(minutes=self.rejoin_gap_minutes),
            artifact_wait=timedelta(minutes=self.artifact_wait_minutes),
        )

    def retry_after(self) -> timedelta:
        return timedelta(minutes=self.archive_retry_minutes)

    @classmethod
    def from_settings(cls, pipeline: PipelineSettings) -> PolicyResource:
        minutes = lambda delta: int(delta.total_seconds() // 60)  # noqa: E731
        return cls(
            lead_minutes=minutes(pipeline.window.lead),
            not_held_grace_minutes=minutes(pipeline.window.grace),
            rejoin_gap_minutes=minutes(pipeline.window.rejoin_gap),
            artifact_wait_minutes=minutes(pipeline.window.artifact_wait),
            archive_retry_minutes=pipeline.retry_after.total_seconds() / 60,
            meetings_per_tick=pipeline.meetings_per_tick,
        )


@overload
def from_env(name: str, value: str) -> str: ...
@overload
def from_env(name: str, value: str | None) -> str | None: ...
def from_env(name: str, value: str | None) -> str | None:
    """``dg.EnvVar(name)`` when ``value`` is what the process environment holds under
    ``name``, so the Dagster UI shows the variable's name and never its value; otherwise
    the literal (an embedded default, or settings built from an explicit mapping).
    ``dg.EnvVar`` is a ``str``; Dagster resolves it when it builds the resource."""
    if value and os.environ.get(name) == value:
        return dg.EnvVar(name)
    return value


def build_resources(settings: Settings, pipeline: PipelineSettings) -> dict[str, Any]:
    """The resources of the code location, from the environment's settings.

    Secrets (the database URL may hold a password, the AWS keys) are passed as
    ``dg.EnvVar``: see :func:`from_env`.
    """
    return {
        "database": DatabaseResource(url=from_env("MEET_DATABASE_URL", settings.database_url)),
        "google": GoogleResource(
            endpoint=settings.google_endpoint,
            credentials_file=str(settings.google_credentials_file)
            if settings.google_credentials_file
            else None,
            subject=settings.google_subject,
            calendar_id=settings.google_calendar_id,
            deadline_seconds=settings.google_deadline_seconds,
        ),
        "s3": ArchiveResource(
            endpoint_url=settings.s3_endpoint_url,
            # boto3 would read these from the environment anyway; named here so the UI shows them
            # as variables (unset: boto3's chain or the embedded server's keys, as before).
            aws_access_key_id=from_env("AWS_ACCESS_KEY_ID", os.environ.get("AWS_ACCESS_KEY_ID")),
            aws_secret_access_key=from_env(
                "AWS_SECRET_ACCESS_KEY", os.environ.get("AWS_SECRET_ACCESS_KEY")
            ),
            aws_session_token=from_env("AWS_SESSION_TOKEN", os.environ.get("AWS_SESSION_TOKEN")),
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
            object_lock_mode=settings.object_lock_mode,
            retention_days=settings.retention_days,
            legal_hold=pipeline.legal_hold,
            allow_unlocked_bucket=settings.allow_unlocked_bucket,
            max_transfers=pipeline.max_transfers,
        ),
        "clock": ClockResource(),
        "policy": PolicyResource.from_settings(pipeline),
        "events": EventsResource(
            ingestion=settings.ingestion,
            topic=settings.events_topic,
            subscription=settings.events_subscription,
        ),
    }
