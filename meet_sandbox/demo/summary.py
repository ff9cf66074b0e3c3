"""The one-line summary of a demo run, read back from the database (not from the script)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.audit import verify_chain
from meet_core.db.models import ArchiveManifestEntry, LedgerEntry, ManifestState, Meeting, MeetingStatus
from meet_core.settings import Settings


def summarize(
    sessions: sessionmaker[Session], scenario: Any, pipeline: Any, settings: Settings
) -> dict[str, Any]:
    ids = [m["id"] for m in scenario.meetings.values()]
    days = set()
    with sessions() as session:
        statuses = dict(session.execute(
            select(Meeting.status, func.count()).where(Meeting.id.in_(ids)).group_by(Meeting.status)
        ).all())
        days = {m.start_time.strftime("%Y-%m-%d") for m in session.scalars(select(Meeting).where(Meeting.id.in_(ids)))}
    from meet_pipeline.defs.compliance.schedules import DIGEST_JOB, LEDGER_JOB, REPORT_JOB

    # What the schedules would do next: judge the day, publish its report, digest the chain.
    # A violation is a finding, not a malfunction: the ledger run succeeds, its check
    # held_meetings_recorded fails (ERROR, naming the day) and the day is not attested.
    for day in sorted(days):
        pipeline.run_job(LEDGER_JOB, day)
        pipeline.run_job(REPORT_JOB, day)
    pipeline.run_job(DIGEST_JOB)
    with sessions() as session:
        archived = dict(session.execute(
            select(ArchiveManifestEntry.kind, func.count())
            .where(ArchiveManifestEntry.meeting_id.in_(ids), ArchiveManifestEntry.state == ManifestState.ARCHIVED)
            .group_by(ArchiveManifestEntry.kind)
        ).all())
        not_archived = session.scalar(
            select(func.count()).where(ArchiveManifestEntry.meeting_id.in_(ids),
                                       ArchiveManifestEntry.state != ManifestState.ARCHIVED)
        )
        violations = session.scalar(
            select(func.count()).where(LedgerEntry.meeting_id.in_(ids), LedgerEntry.compliance_status == "violation")
        )
        # People seen who were not invited (the organizer is neither), as the ledger counts them.
        uninvited = session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.uninvited_count), 0)).where(LedgerEntry.meeting_id.in_(ids))
        )
        # Seconds people were in a held meeting with no recording running (issue 13).
        unrecorded = session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.unrecorded_seconds), 0)).where(LedgerEntry.meeting_id.in_(ids))
        )
        chain = verify_chain(session)
    legal = _legal_matter(sessions, ids, settings)
    return {
        "meetings": len(ids),
        "held": statuses.get(MeetingStatus.FINISHED, 0),
        "not_held": statuses.get(MeetingStatus.NOT_HELD, 0),
        "cancelled": statuses.get(MeetingStatus.CANCELLED, 0),
        "pending": statuses.get(MeetingStatus.PENDING, 0),
        "recordings_archived": archived.get("recording", 0),
        "transcripts_archived": archived.get("transcript_text", 0),
        "artifacts_not_archived": not_archived,
        "violations": violations,
        "uninvited_attendees": int(uninvited or 0),
        "unrecorded_seconds": int(unrecorded or 0),
        "audit_verified": chain.ok,
        "matter_objects_held": legal.objects_held,
        "export_verified": legal.export_verified,
        "runs": dict(pipeline.runs),
        "days": sorted(days),
    }


def _legal_matter(sessions: sessionmaker[Session], ids: list[str], settings: Settings) -> Any:
    """One matter over the demo's meetings: held, exported, the bundle verified. With the
    stack's settings: the interactive demo keeps its embedded endpoints out of os.environ."""
    from meet_core.archive import s3_client
    from meet_sandbox.demo.legal import open_hold_export_verify

    return open_hold_export_verify(sessions, s3_client(settings), settings, ids)
