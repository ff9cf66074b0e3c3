"""Drives the real code location in tests: settings from an environment, the resources and
definitions built from them as in production (with the emulator's clock, as the sandbox
wires it), sensors ticked with
``build_sensor_context`` (cursors carried over like the daemon does), partitions
materialized on a temporary Dagster instance."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive.client import S3Client
from meet_core.audit import append_event
from meet_core.db import make_engine, make_session_factory
from meet_core.db.models import ApiClient, Meeting, MeetingStatus, Participant
from meet_core.google import GoogleGateway
from meet_core.google.types import parse_time
from meet_core.settings import Settings
from meet_pipeline.defs.archive.assets import archived_recordings, archived_transcripts
from meet_pipeline.defs.archive.sensors import archive_sensor
from meet_pipeline.defs.events.sensors import events_sensor
from meet_pipeline.defs.google.assets import conference_records
from meet_pipeline.defs.meetings.assets import attendance
from meet_pipeline.defs.meetings.sensors import conference_sensor, provisioning_sensor
from meet_pipeline.resources import ArchiveResource, GoogleResource
from meet_pipeline.settings import PipelineSettings
from meet_sandbox.emulator import SandboxClient
from meet_sandbox.pipeline import build_sandbox_definitions

ORGANIZER = "organizer@example.com"
RETENTION_DAYS = 30
LOCK_MODE = "GOVERNANCE"  # the test bucket can be cleaned; production defaults to COMPLIANCE
SENSORS = {
    s.name: s for s in (provisioning_sensor, conference_sensor, archive_sensor, events_sensor)
}
ARCHIVE_ASSETS = [archived_recordings, archived_transcripts]
HARVEST_ASSETS = [conference_records, attendance]


def pipeline_environment(
    *,
    database_url: str,
    emulator_url: str,
    key_file: Path,
    s3_endpoint: str,
    bucket: str,
    home: Path,
) -> dict[str, str]:
    return {
        "MEET_HOME": str(home),
        "MEET_DATABASE_URL": database_url,
        "MEET_GOOGLE_ENDPOINT": emulator_url,
        "GOOGLE_APPLICATION_CREDENTIALS": str(key_file),
        "MEET_GOOGLE_SUBJECT": ORGANIZER,
        "MEET_S3_ENDPOINT_URL": s3_endpoint,
        "MEET_S3_BUCKET": bucket,
        "MEET_S3_PREFIX": "meet",
        "MEET_RETENTION_DAYS": str(RETENTION_DAYS),
        "MEET_OBJECT_LOCK_MODE": LOCK_MODE,
        # Short windows so a test day plays in a couple of emulated hours.
        "MEET_MEETING_LEAD_MINUTES": "15",
        "MEET_NOT_HELD_GRACE_MINUTES": "10",
        "MEET_REJOIN_GAP_MINUTES": "5",
        "MEET_ARTIFACT_WAIT_MINUTES": "30",
        "MEET_ARCHIVE_RETRY_MINUTES": "0",
        "MEET_ARCHIVE_MAX_TRANSFERS": "3",
    }


def record_asset_events(instance: dg.DagsterInstance, result: dg.SensorResult) -> None:
    """What the daemon does with a tick's asset events: store them as runless events."""
    for event in result.asset_events or []:
        instance.report_runless_asset_event(event)


@dataclass
class PipelineHarness:
    settings: Settings
    pipeline: PipelineSettings
    resources: dict[str, Any]
    definitions: dg.Definitions
    sessions: sessionmaker[Session]
    people: SandboxClient
    s3: S3Client
    bucket: str
    instance: dg.DagsterInstance
    cursors: dict[str, str | None] = field(default_factory=dict)
    engine: Any = None

    # -- time ------------------------------------------------------------------------

    def now(self) -> datetime:
        moment = parse_time(self.people.call("GET", "clock")["now"])
        assert moment is not None
        return moment

    def advance(self, minutes: float) -> None:
        self.people.advance(minutes * 60)

    @property
    def gateway(self) -> GoogleGateway:
        return self.resources["google"].gateway()

    # -- sensors and runs ------------------------------------------------------------

    def tick(self, name: str) -> dg.SensorResult:
        sensor = SENSORS[name]
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursors.get(name),
            resources=self.resources,
            sensor_name=name,
            definitions=self.definitions,
        )
        result = sensor(context)
        assert isinstance(result, dg.SensorResult), result
        self.cursors[name] = result.cursor
        record_asset_events(self.instance, result)
        return result

    def run_requests(self, name: str) -> list[dg.RunRequest]:
        return list(self.tick(name).run_requests or [])

    def cursor(self, name: str) -> dict[str, Any]:
        raw = self.cursors.get(name)
        return json.loads(raw) if raw else {}

    def materialize(
        self, assets: list[Any], partition: str, *, raise_on_error: bool = True
    ) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            assets,
            partition_key=partition,
            resources=self.resources,
            instance=self.instance,
            raise_on_error=raise_on_error,
        )

    def archive_ready(self, *, raise_on_error: bool = True) -> list[dg.RunRequest]:
        """One archive-sensor tick, then the runs it asked for (what the daemon would do)."""
        requests = self.run_requests("archive_sensor")
        for request in requests:
            assert request.partition_key is not None
            self.materialize(ARCHIVE_ASSETS, request.partition_key, raise_on_error=raise_on_error)
        return requests

    # -- the XOMA side ---------------------------------------------------------------

    def add_meeting(
        self, external_id: str, *, start: datetime, end: datetime, guests: list[tuple[str, str]]
    ) -> str:
        """A pending meeting, as the API stores it before provisioning."""
        with self.sessions.begin() as session:
            client = session.scalar(select(ApiClient).where(ApiClient.name == "xoma"))
            if client is None:
                client = ApiClient(name="xoma")
                session.add(client)
                session.flush()
            meeting = Meeting(
                client_id=client.id,
                external_id=external_id,
                title=f"Meeting {external_id}",
                start_time=start,
                end_time=end,
                timezone="UTC",
                organizer_email=ORGANIZER,
                status=MeetingStatus.PENDING,
            )
            meeting.participants = [
                Participant(email=ORGANIZER, display_name="Olga Organizer", role="organizer"),
                *(
                    Participant(email=email, display_name=name, role="guest")
                    for email, name in guests
                ),
            ]
            session.add(meeting)
            session.flush()
            return meeting.id

    def cancel_meeting(self, meeting_id: str) -> None:
        """What DELETE /api/v1/meetings/{id} does: cancel the event, mark, audit."""
        meeting = self.meeting(meeting_id)
        assert meeting.calendar_event_id
        self.gateway.cancel_event(meeting.calendar_event_id, subject=ORGANIZER)
        with self.sessions.begin() as session:
            row = session.get(Meeting, meeting_id)
            assert row is not None
            previous = row.status
            row.status, row.cancelled_at, row.version = (
                MeetingStatus.CANCELLED,
                self.now(),
                row.version + 1,
            )
            append_event(
                session,
                actor="api:test",
                action="meeting.cancelled",
                entity_type="meeting",
                entity_id=meeting_id,
                payload={"from": previous},
            )

    def meeting(self, meeting_id: str) -> Meeting:
        with self.sessions() as session:
            meeting = session.get(Meeting, meeting_id)
            assert meeting is not None
            return meeting

    def hold_meeting(self, external_id: str, *, size: int | None = None) -> str:
        """A meeting the organizer holds alone for a few minutes; when this returns it is
        finished and its recording and transcript are FILE_GENERATED in the manifest."""
        t0 = self.now()
        meeting_id = self.add_meeting(
            external_id, start=t0 - timedelta(minutes=1), end=t0 + timedelta(minutes=30), guests=[]
        )
        self.tick("provisioning_sensor")
        space = self.space(meeting_id)
        extra: dict[str, Any] = {"recording_size_bytes": size} if size else {}
        self.people.join(space, ORGANIZER, display_name="Olga Organizer", **extra)
        self.advance(3)
        self.people.leave(space, ORGANIZER)
        self.advance(int(self.pipeline.window.rejoin_gap.total_seconds() // 60) + 1)
        self.tick("conference_sensor")
        assert self.meeting(meeting_id).status == MeetingStatus.FINISHED
        return meeting_id

    def space(self, meeting_id: str) -> str:
        space = self.meeting(meeting_id).space_name
        assert space
        return space

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def make_harness(
    *,
    database_url: str,
    emulator_url: str,
    key_file: Path,
    people: SandboxClient,
    s3_endpoint: str,
    s3_client: S3Client,
    bucket: str,
    instance: dg.DagsterInstance,
    home: Path,
    google: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    s3: dict[str, Any] | None = None,
) -> PipelineHarness:
    env = {
        **pipeline_environment(
            database_url=database_url,
            emulator_url=emulator_url,
            key_file=key_file,
            s3_endpoint=s3_endpoint,
            bucket=bucket,
            home=home,
        ),
        **(env or {}),
    }
    settings, pipeline = Settings.from_env(env), PipelineSettings.from_env(env)
    definitions = build_sandbox_definitions(settings, pipeline)  # the emulator's clock
    resources = dict(definitions.resources or {})
    # Production backoff in milliseconds: the retry logic is the same, the test is faster.
    resources["google"] = GoogleResource(
        **{
            **resources["google"].model_dump(),
            "retry_base_seconds": 0.005,
            "retry_cap_seconds": 0.05,
            **(google or {}),
        }
    )
    if s3:
        resources["s3"] = ArchiveResource(**{**resources["s3"].model_dump(), **s3})
    engine = make_engine(database_url)
    return PipelineHarness(
        settings=settings,
        pipeline=pipeline,
        resources=resources,
        definitions=definitions,
        sessions=make_session_factory(engine),
        people=people,
        s3=s3_client,
        bucket=bucket,
        instance=instance,
        engine=engine,
    )


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
