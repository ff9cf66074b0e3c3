"""A matter keeps collecting: when an object is archived, matters whose saved search matches
its meeting take the meeting in, and held matters put the new object under legal hold.

Two durable markers make this survive a crash or an S3 fault after the archive commit:

- a ``matter_collect_queue`` row, written in the transaction that records the archived
  object (or changes its search document), deleted by the transaction that collects it;
- ``matter_holds`` rows left unconfirmed until S3 has read the hold back as ON.

:func:`reconcile` finishes both (the ``matter_holds_reconcile`` job, every 10 minutes while
there is work), and also records holds a held matter is missing for its meetings' objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, delete, exists, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive.client import S3Client
from meet_core.audit import append_event
from meet_core.db.models import (
    ArchiveManifestEntry,
    ManifestState,
    Matter,
    MatterCollectQueue,
    MatterHold,
    MatterMeeting,
    MatterState,
)
from meet_core.db.types import utcnow
from meet_core.matters.holds import confirm_holds, record_holds
from meet_core.matters.service import link_meetings, saved_searches
from meet_core.search.query import matching_meeting_ids

MAX_ERROR = 2000


def enqueue_collect(session: Session, manifest_ids: list[int]) -> None:
    """Mark archived objects for collection, in the caller's transaction."""
    ids = sorted(set(manifest_ids))
    if not ids:
        return
    queued = set(session.scalars(select(MatterCollectQueue.manifest_id)
                                 .where(MatterCollectQueue.manifest_id.in_(ids))))
    session.add_all(MatterCollectQueue(manifest_id=i, queued_at=utcnow(), attempts=0)
                    for i in ids if i not in queued)
    session.flush()


def collect_meeting(session: Session, meeting_id: str, *, actor: str) -> list[int]:
    """Join the meeting to every collecting matter whose saved search matches it; return the
    held matters it belongs to."""
    matters = session.scalars(select(Matter).where(Matter.state != MatterState.RELEASED)).all()
    for matter in matters:
        if not matter.saved_filters:
            continue
        matches = any(matching_meeting_ids(session, f, among=[meeting_id]) for f in saved_searches(matter))
        if matches and link_meetings(session, matter, [meeting_id], actor, "archive"):
            append_event(session, actor=actor, action="matter.meetings_added", entity_type="matter",
                         entity_id=str(matter.id),
                         payload={"name": matter.name, "added": [meeting_id], "via": "saved search"})
    return list(session.scalars(
        select(Matter.id).join(MatterMeeting, MatterMeeting.matter_id == Matter.id)
        .where(MatterMeeting.meeting_id == meeting_id, Matter.state == MatterState.HELD)))


def _collect_one(session: Session, manifest_id: int, *, actor: str) -> list[int]:
    """The database part: collect, record unconfirmed holds, drop the queue row. Returns the
    held matters that must now confirm a hold."""
    entry = session.get(ArchiveManifestEntry, manifest_id)
    holders: list[int] = []
    if entry is not None and entry.state == ManifestState.ARCHIVED:
        holders = collect_meeting(session, entry.meeting_id, actor=actor)
        for matter_id in holders:
            matter = session.get(Matter, matter_id)
            assert matter is not None
            record_holds(session, matter, [manifest_id])
    session.execute(delete(MatterCollectQueue).where(MatterCollectQueue.manifest_id == manifest_id))
    return holders


def _note_failure(sessions: sessionmaker[Session], manifest_id: int, exc: BaseException) -> None:
    try:
        with sessions.begin() as session:
            session.execute(update(MatterCollectQueue).where(MatterCollectQueue.manifest_id == manifest_id).values(
                attempts=MatterCollectQueue.attempts + 1, last_attempt_at=utcnow(),
                last_error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR]))
    except Exception:  # noqa: S110 - the queue row stays; the reason is only a courtesy
        pass


def collect_archived(
    sessions: sessionmaker[Session], client: S3Client, manifest_id: int, *, actor: str
) -> str | None:
    """After an object is archived: collect its meeting and hold the object for held
    matters. Returns an error text when S3 refused the hold (the hold row stays unconfirmed
    and the reconcile or ``matter hold`` completes it), else None. A database failure leaves
    the queue row for the reconcile and is raised."""
    try:
        with sessions.begin() as session:
            holders = _collect_one(session, manifest_id, actor=actor)
    except Exception as exc:
        _note_failure(sessions, manifest_id, exc)
        raise
    if not holders:
        return None
    failures = []
    for matter_id in holders:
        failures += confirm_holds(sessions, client, matter_id).failures
    return "legal hold not confirmed: " + "; ".join(failures) if failures else None


@dataclass
class ReconcileReport:
    collected: int = 0  # queue rows done
    holds_recorded: int = 0  # holds a held matter was missing
    newly_held: int = 0  # S3 holds turned ON and read back
    failures: list[str] = field(default_factory=list)
    queued: int = 0  # still waiting after this pass
    unconfirmed: int = 0  # holds S3 has still not confirmed

    @property
    def ok(self) -> bool:
        return not self.failures and not self.queued and not self.unconfirmed


def _missing_holds(session: Session) -> list[tuple[int, int]]:
    """(held matter, archived object) pairs of the matter's meetings with no hold row."""
    return [(m, e) for m, e in session.execute(
        select(MatterMeeting.matter_id, ArchiveManifestEntry.id)
        .join(Matter, Matter.id == MatterMeeting.matter_id)
        .join(ArchiveManifestEntry, ArchiveManifestEntry.meeting_id == MatterMeeting.meeting_id)
        .where(Matter.state == MatterState.HELD, ArchiveManifestEntry.state == ManifestState.ARCHIVED,
               ~exists(select(1).where(and_(MatterHold.matter_id == MatterMeeting.matter_id,
                                            MatterHold.manifest_id == ArchiveManifestEntry.id))))
        .order_by(MatterMeeting.matter_id, ArchiveManifestEntry.id)
    ).all()]


def pending_work(session: Session) -> tuple[int, int, int]:
    """(queued collections, unconfirmed holds of held matters, missing holds): cheap counts
    for the schedule that decides whether to start a reconcile."""
    queued = session.scalar(select(func.count()).select_from(MatterCollectQueue)) or 0
    unconfirmed = session.scalar(
        select(func.count()).select_from(MatterHold).join(Matter, Matter.id == MatterHold.matter_id)
        .where(MatterHold.confirmed.is_(False), MatterHold.released_at.is_(None),
               Matter.state == MatterState.HELD)) or 0
    return queued, unconfirmed, len(_missing_holds(session))


def reconcile(
    sessions: sessionmaker[Session], client: S3Client, *, actor: str, limit: int = 1000
) -> ReconcileReport:
    """Finish what the archive left: queued collections (oldest first, up to ``limit``),
    holds a held matter lacks, then every unconfirmed hold (S3 legal hold ON, read back).
    Idempotent; what still fails stays marked for the next pass."""
    report = ReconcileReport()
    with sessions() as session:
        queued = list(session.scalars(select(MatterCollectQueue.manifest_id)
                                      .order_by(MatterCollectQueue.queued_at, MatterCollectQueue.manifest_id)
                                      .limit(limit)))
    for manifest_id in queued:
        try:
            with sessions.begin() as session:
                _collect_one(session, manifest_id, actor=actor)
            report.collected += 1
        except Exception as exc:  # stays queued, with the reason
            _note_failure(sessions, manifest_id, exc)
            report.failures.append(f"collect object {manifest_id}: {type(exc).__name__}: {exc}")
    with sessions.begin() as session:
        missing = _missing_holds(session)
        for matter_id in sorted({m for m, _ in missing}):
            matter = session.get(Matter, matter_id)
            assert matter is not None
            report.holds_recorded += len(record_holds(session, matter, [e for m, e in missing if m == matter_id]))
    holds = confirm_holds(sessions, client)
    report.newly_held = holds.newly_held
    report.failures += holds.failures
    with sessions() as session:
        report.queued, report.unconfirmed, _ = pending_work(session)
    if report.collected or report.holds_recorded or report.newly_held or report.failures:
        with sessions.begin() as session:
            append_event(session, actor=actor, action="matter.holds_reconciled", entity_type="matter",
                         entity_id="*", payload={
                             "collected": report.collected, "holds_recorded": report.holds_recorded,
                             "newly_held": report.newly_held, "failures": report.failures[:20],
                             "still_queued": report.queued, "still_unconfirmed": report.unconfirmed})
    return report
