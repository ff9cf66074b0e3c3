"""Legal holds per matter on a real (moto) S3 over HTTP, on both engines."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import select

from meet_core.archive import s3_client
from meet_core.archive.lock import read_legal_hold
from meet_core.audit import verify_chain
from meet_core.db.models import ArchiveManifestEntry, AuditEvent, ManifestState
from meet_core.matters.holds import hold_matter, release_matter
from meet_core.matters.service import add_meetings, create_matter, find_matter, matter_detail
from meet_core.search import parse_filters
from meet_sandbox.s3 import EmbeddedS3
from meet_sandbox.s3.faultproxy import FaultProxy
from tests.legal.conftest import LegalWorld


def _objects(legal: LegalWorld, meeting_ids: list[str]) -> list[ArchiveManifestEntry]:
    with legal.sessions() as session:
        return list(session.scalars(select(ArchiveManifestEntry).where(
            ArchiveManifestEntry.meeting_id.in_(meeting_ids),
            ArchiveManifestEntry.state == ManifestState.ARCHIVED)))


def _open(legal: LegalWorld, name: str, *, meeting_ids: list[str] = (), **filters: str) -> None:
    with legal.sessions.begin() as session:
        matter = create_matter(session, name=name, description="test", actor="officer@example.com")
        add_meetings(session, matter, actor="officer@example.com", meeting_ids=list(meeting_ids),
                     filters=parse_filters(filters) if filters else None)


def _delete_refused(legal: LegalWorld, entry: ArchiveManifestEntry) -> bool:
    """Try to delete the version, bypassing its GOVERNANCE retention: only the hold stops it."""
    try:
        legal.s3.delete_object(Bucket=entry.bucket, Key=entry.object_key, VersionId=entry.version_id,
                               BypassGovernanceRetention=True)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "AccessDenied"
        return True
    return False


def test_hold_sets_the_legal_hold_on_every_object_and_s3_refuses_deletes(legal: LegalWorld) -> None:
    one = legal.archived_meeting("h-1", "2026-04-01", ["fraud is alleged here"])
    two = legal.archived_meeting("h-2", "2026-04-02", ["an ordinary chat"])
    legal.archived_meeting("h-3", "2026-04-03", ["unrelated"])
    _open(legal, "Case A", meeting_ids=[one])
    _open(legal, "Case B", text="ordinary")  # by saved search
    report = hold_matter(legal.sessions, legal.s3, "Case A", actor="officer@example.com")
    assert report.ok and report.objects == 2 and report.newly_held == 2
    report_b = hold_matter(legal.sessions, legal.s3, "Case B", actor="officer@example.com")
    assert report_b.ok and report_b.objects == 2
    held = _objects(legal, [one, two])
    assert len(held) == 4
    for entry in held:
        assert entry.legal_hold
        assert read_legal_hold(legal.s3, entry.bucket, entry.object_key, entry.version_id)
        assert _delete_refused(legal, entry)
    with legal.sessions() as session:
        detail = matter_detail(session, find_matter(session, "Case B"))
        assert [m["id"] for m in detail["meetings"]] == [two] and detail["objects_held"] == 2
        actions = set(session.scalars(select(AuditEvent.action)))
        assert {"matter.opened", "matter.meetings_added", "matter.held"} <= actions
        assert verify_chain(session).ok
    # Holding again is harmless: nothing new to hold.
    assert hold_matter(legal.sessions, legal.s3, "Case A", actor="officer@example.com").newly_held == 0


def test_release_by_a_second_matter_keeps_the_first_matters_hold(legal: LegalWorld) -> None:
    shared = legal.archived_meeting("r-1", "2026-04-05", ["shared meeting"])
    only_b = legal.archived_meeting("r-2", "2026-04-05", ["second meeting"])
    _open(legal, "First", meeting_ids=[shared])
    _open(legal, "Second", meeting_ids=[shared, only_b])
    assert hold_matter(legal.sessions, legal.s3, "First", actor="a@example.com").ok
    assert hold_matter(legal.sessions, legal.s3, "Second", actor="a@example.com").ok
    report = release_matter(legal.sessions, legal.s3, "Second", by="Jane Counsel", note="case closed")
    assert report.ok and report.released == 2 and report.kept == 2
    for entry in _objects(legal, [shared]):
        assert read_legal_hold(legal.s3, entry.bucket, entry.object_key, entry.version_id)
        assert entry.legal_hold and _delete_refused(legal, entry)
    for entry in _objects(legal, [only_b]):
        assert not read_legal_hold(legal.s3, entry.bucket, entry.object_key, entry.version_id)
        assert not entry.legal_hold
    report = release_matter(legal.sessions, legal.s3, "First", by="Jane Counsel", note="settled")
    assert report.released == 2 and report.kept == 0
    for entry in _objects(legal, [shared]):
        assert not read_legal_hold(legal.s3, entry.bucket, entry.object_key, entry.version_id)
        assert not _delete_refused(legal, entry)  # retention bypassed, no hold: S3 lets it go
    with legal.sessions() as session:
        released = session.scalars(select(AuditEvent).where(AuditEvent.action == "matter.released")).all()
        assert {e.actor for e in released} == {"Jane Counsel"}
        assert {e.payload["note"] for e in released} == {"case closed", "settled"}


def test_a_matter_collects_meetings_archived_later_and_holds_them(legal: LegalWorld) -> None:
    from meet_core.matters.collect import collect_archived

    _open(legal, "Ongoing", text="kickback")
    assert hold_matter(legal.sessions, legal.s3, "Ongoing", actor="a@example.com").objects == 0
    later = legal.archived_meeting("c-1", "2026-04-07", ["about the kickback scheme"])
    for entry in _objects(legal, [later]):  # what the archiver calls after each object
        assert collect_archived(legal.sessions, legal.s3, entry.id, actor="asset:test") is None
    for entry in _objects(legal, [later]):
        assert entry.legal_hold
        assert read_legal_hold(legal.s3, entry.bucket, entry.object_key, entry.version_id)
    with legal.sessions() as session:
        assert find_matter(session, "Ongoing").saved_filters == [{"text": "kickback"}]


def test_an_s3_fault_leaves_the_hold_unconfirmed_and_a_repeat_completes_it(
    legal: LegalWorld, s3_server: EmbeddedS3
) -> None:
    meeting = legal.archived_meeting("f-1", "2026-04-08", ["faulty"])
    _open(legal, "Faulty", meeting_ids=[meeting])
    with FaultProxy(s3_server.endpoint_url, rate=1.0, kinds=("503",),
                    operations={"PutObjectLegalHold"}) as proxy:
        broken = s3_client(proxy.endpoint_url, max_attempts=2)
        report = hold_matter(legal.sessions, broken, "Faulty", actor="a@example.com")
    assert not report.ok and len(report.failures) == 2 and report.newly_held == 0
    with legal.sessions() as session:
        assert matter_detail(session, find_matter(session, "Faulty"))["objects_held"] == 0
    report = hold_matter(legal.sessions, legal.s3, "Faulty", actor="a@example.com")
    assert report.ok and report.newly_held == 2
    for entry in _objects(legal, [meeting]):
        assert read_legal_hold(legal.s3, entry.bucket, entry.object_key, entry.version_id)


@pytest.mark.parametrize(("by", "note"), [("", "note"), ("Jane", "   "), ("x" * 201, "n"), ("a\x00b", "n")])
def test_release_needs_a_named_person_and_a_note(legal: LegalWorld, by: str, note: str) -> None:
    meeting = legal.archived_meeting("g-1", "2026-04-09", ["garbage"])
    _open(legal, "Garbage", meeting_ids=[meeting])
    hold_matter(legal.sessions, legal.s3, "Garbage", actor="a@example.com")
    with pytest.raises(ValueError):
        release_matter(legal.sessions, legal.s3, "Garbage", by=by, note=note)
    for entry in _objects(legal, [meeting]):
        assert entry.legal_hold


def test_garbage_matter_input_is_refused(legal: LegalWorld) -> None:
    with legal.sessions.begin() as session:
        with pytest.raises(ValueError):
            create_matter(session, name="  ", description=None, actor="a")
        matter = create_matter(session, name="Real", description=None, actor="a")
        with pytest.raises(ValueError):
            create_matter(session, name="Real", description=None, actor="a")
        with pytest.raises(ValueError):
            add_meetings(session, matter, actor="a", meeting_ids=["no-such-meeting"])
        with pytest.raises(ValueError):
            add_meetings(session, matter, actor="a")
        with pytest.raises(ValueError):
            add_meetings(session, matter, actor="a", filters=parse_filters({}))


def test_ledger_and_report_show_the_matters_holding_a_meeting(legal: LegalWorld) -> None:
    from datetime import UTC, datetime

    from meet_core.compliance.lookup import ledger_day
    from meet_core.compliance.report import gather, render_html
    from meet_core.db.models import LedgerEntry

    meeting = legal.archived_meeting("l-1", "2026-04-10", ["ledger"])
    with legal.sessions.begin() as session:
        at = datetime(2026, 4, 10, 10, tzinfo=UTC)
        session.add(LedgerEntry(
            meeting_id=meeting, partition_date="2026-04-10", client_id="c", external_id="l-1", title="Ledger",
            meeting_status="finished", outcome="held", scheduled_start=at, scheduled_end=at, held=True,
            invited_count=1, joined_count=1, invited_joined_count=1, recording_required=True,
            recordings_found=1, recordings_archived=1, transcripts_found=1, transcripts_archived=1,
            legal_hold=False, compliance_status="compliant", violation_reasons="", evaluated_at=at))
    _open(legal, "Ledger matter", meeting_ids=[meeting])
    hold_matter(legal.sessions, legal.s3, "Ledger matter", actor="a@example.com")
    with legal.sessions() as session:
        [row] = ledger_day(session, "2026-04-10")
        assert row["held_by_matters"] == ["Ledger matter"]
        data = gather(session, "2026-04-10", datetime(2026, 4, 11, tzinfo=UTC))
    assert data.legal_holds == [("l-1", "Ledger", ["Ledger matter"])]
    assert "<td>Ledger matter</td>" in render_html(data).decode()
