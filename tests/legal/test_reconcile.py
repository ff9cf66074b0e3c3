"""What the archive leaves undone for matters is retried: a saved-search join that never ran
(a crash after the archive commit) and legal holds S3 refused are finished by the reconcile
(job, schedule, `matter reconcile`), with S3 faults injected on the wire, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
from sqlalchemy import func, select

from meet_core.archive import s3_client
from meet_core.archive.lock import read_legal_hold
from meet_core.db.models import (
    ArchiveManifestEntry,
    AuditEvent,
    ManifestState,
    MatterCollectQueue,
    MatterHold,
    MatterMeeting,
)
from meet_core.matters.collect import collect_archived, enqueue_collect, pending_work, reconcile
from meet_core.matters.holds import hold_matter
from meet_core.matters.service import add_meetings, create_matter, find_matter, link_meetings
from meet_core.search import parse_filters
from meet_pipeline.defs.matters.jobs import matter_holds_reconcile_job, matter_holds_reconcile_schedule
from meet_pipeline.resources import ArchiveResource, DatabaseResource
from meet_sandbox.s3 import EmbeddedS3
from meet_sandbox.s3.faultproxy import FaultProxy
from tests.legal.conftest import LegalWorld


def _objects(legal: LegalWorld, meeting_id: str) -> list[ArchiveManifestEntry]:
    with legal.sessions() as session:
        return list(session.scalars(select(ArchiveManifestEntry).where(
            ArchiveManifestEntry.meeting_id == meeting_id, ArchiveManifestEntry.state == ManifestState.ARCHIVED)))


def _held_in_s3(legal: LegalWorld, meeting_id: str) -> list[bool]:
    return [read_legal_hold(legal.s3, e.bucket or "", e.object_key or "", e.version_id or "")
            for e in _objects(legal, meeting_id)]


def _collecting_held_matter(legal: LegalWorld, name: str, text: str) -> None:
    with legal.sessions.begin() as session:
        matter = create_matter(session, name=name, description=None, actor="officer")
        add_meetings(session, matter, actor="officer", filters=parse_filters({"text": text}))
    hold_matter(legal.sessions, legal.s3, name, actor="officer")


def _archived_uncollected(legal: LegalWorld, external_id: str, said: str) -> str:
    """Objects archived and queued in the archive's transaction; the process died before
    collecting them."""
    meeting = legal.archived_meeting(external_id, "2026-10-01", [said])
    with legal.sessions.begin() as session:
        enqueue_collect(session, [e.id for e in _objects(legal, meeting)])
    return meeting


def _schedule(database_url: str) -> dg.RunRequest | dg.SkipReason:
    context = dg.build_schedule_context(
        resources={"database": DatabaseResource(url=database_url)},
        scheduled_execution_time=datetime(2026, 10, 1, 12, 10, tzinfo=UTC),
    )
    result = matter_holds_reconcile_schedule(context)
    assert isinstance(result, (dg.RunRequest, dg.SkipReason))
    return result


def test_a_join_lost_in_a_crash_and_a_refused_hold_are_finished_by_the_reconcile(
    legal: LegalWorld, s3_server: EmbeddedS3, fresh_database_url: str
) -> None:
    _collecting_held_matter(legal, "Kickbacks", "kickback")
    assert isinstance(_schedule(fresh_database_url), dg.SkipReason)
    meeting = _archived_uncollected(legal, "k-1", "about the kickback scheme")
    with legal.sessions() as session:
        assert pending_work(session) == (2, 0, 0)
    assert isinstance(_schedule(fresh_database_url), dg.RunRequest)
    with FaultProxy(s3_server.endpoint_url, rate=1.0, kinds=("503",),
                    operations={"PutObjectLegalHold"}) as proxy:
        report = reconcile(legal.sessions, s3_client(proxy.endpoint_url, max_attempts=2), actor="test")
    assert report.collected == 2 and report.newly_held == 0 and len(report.failures) == 2
    assert (report.queued, report.unconfirmed) == (0, 2) and not report.ok
    with legal.sessions() as session:
        assert session.scalars(select(MatterMeeting.meeting_id)).all() == [meeting]  # joined, durably
        assert session.scalars(select(MatterHold.confirmed)).all() == [False, False]
    assert _held_in_s3(legal, meeting) == [False, False]
    assert isinstance(_schedule(fresh_database_url), dg.RunRequest)  # still work: tried again
    report = reconcile(legal.sessions, legal.s3, actor="test")
    assert report.ok and report.newly_held == 2
    assert _held_in_s3(legal, meeting) == [True, True]
    with legal.sessions() as session:
        assert all(e.legal_hold for e in _objects(legal, meeting))
        events = session.scalar(select(func.count()).select_from(AuditEvent))
    assert isinstance(_schedule(fresh_database_url), dg.SkipReason)
    again = reconcile(legal.sessions, legal.s3, actor="test")  # nothing left: nothing written
    assert again.ok and (again.collected, again.holds_recorded, again.newly_held) == (0, 0, 0)
    with legal.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_collect_archived_under_an_s3_fault_then_the_reconcile_job_completes_the_hold(
    legal: LegalWorld, s3_server: EmbeddedS3, fresh_database_url: str
) -> None:
    _collecting_held_matter(legal, "Faulty", "invoice")
    meeting = _archived_uncollected(legal, "k-2", "the invoice was backdated")
    with FaultProxy(s3_server.endpoint_url, rate=1.0, kinds=("500",),
                    operations={"PutObjectLegalHold"}) as proxy:
        broken = s3_client(proxy.endpoint_url, max_attempts=2)
        for entry in _objects(legal, meeting):  # what the archiver calls after each object
            error = collect_archived(legal.sessions, broken, entry.id, actor="asset:test")
            assert error is not None and error.startswith("legal hold not confirmed")
    with legal.sessions() as session:
        assert session.scalar(select(func.count()).select_from(MatterCollectQueue)) == 0  # collected
        assert pending_work(session) == (0, 2, 0)
    result = matter_holds_reconcile_job.execute_in_process(
        resources={
            "database": DatabaseResource(url=fresh_database_url),
            "s3": ArchiveResource(endpoint_url=s3_server.endpoint_url, bucket=legal.bucket, prefix="meet"),
        },
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success and result.output_for_node("reconcile_matter_holds") == 2
    assert _held_in_s3(legal, meeting) == [True, True]


def test_a_held_matter_missing_holds_for_its_meetings_gets_them(legal: LegalWorld) -> None:
    meeting = legal.archived_meeting("k-3", "2026-10-02", ["linked without a hold"])
    with legal.sessions.begin() as session:
        matter = create_matter(session, name="Linked", description=None, actor="officer")
    hold_matter(legal.sessions, legal.s3, "Linked", actor="officer")
    with legal.sessions.begin() as session:  # joined by a path that placed no hold
        link_meetings(session, find_matter(session, "Linked"), [meeting], "officer", "id")
        assert pending_work(session) == (0, 0, 2)
    report = reconcile(legal.sessions, legal.s3, actor="test")
    assert report.ok and (report.holds_recorded, report.newly_held) == (2, 2)
    assert _held_in_s3(legal, meeting) == [True, True]
    assert matter.id is not None


def test_the_code_location_runs_the_reconcile_schedule() -> None:
    from meet_pipeline.definitions import defs
    from meet_pipeline.policy import RETRY_POLICY

    repository = defs.get_repository_def()
    schedule = repository.get_schedule_def("matter_holds_reconcile_schedule")
    assert schedule.job_name == "matter_holds_reconcile"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert repository.get_job("matter_holds_reconcile").op_retry_policy == RETRY_POLICY
    assert repository.has_job("search_index_rebuild")
