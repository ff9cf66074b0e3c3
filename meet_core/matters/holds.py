"""S3 Object Lock legal holds placed and released per matter.

Every hold is recorded per (matter, object version) in ``matter_holds``: first unconfirmed,
then confirmed once S3 has read the hold back as ON. Release marks the matter's rows released
first and then turns the S3 hold OFF only for versions no other held matter still holds, so
a failure half-way leaves objects held (the safe side); repeating the command finishes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive.client import S3Client
from meet_core.archive.errors import ArchiveError
from meet_core.archive.lock import write_legal_hold
from meet_core.audit import append_event
from meet_core.db.models import ArchiveManifestEntry, Matter, MatterHold, MatterState
from meet_core.db.types import utcnow
from meet_core.matters.service import archived_objects, check_actor, find_matter, matter_meeting_ids
from meet_core.settings import env_bool


@dataclass
class HoldReport:
    matter: str
    objects: int = 0
    newly_held: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class ReleaseReport:
    matter: str
    released: int = 0  # S3 holds turned OFF
    kept: int = 0  # still held for another matter
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _set_hold(client: S3Client, entry: ArchiveManifestEntry, on: bool) -> None:
    if not (entry.bucket and entry.object_key and entry.version_id):
        raise ArchiveError(f"{entry.artifact_name}: no S3 object version recorded")
    write_legal_hold(client, entry.bucket, entry.object_key, entry.version_id, on)


def confirm_holds(sessions: sessionmaker[Session], client: S3Client, matter_id: int | None = None) -> HoldReport:
    """Set the S3 legal hold ON (read back) for every unconfirmed hold row (of one matter,
    or of all: the sweep that finishes holds an S3 fault interrupted)."""
    report = HoldReport(matter=str(matter_id) if matter_id is not None else "*")
    with sessions() as session:
        query = select(MatterHold.matter_id, ArchiveManifestEntry).join(
            ArchiveManifestEntry, ArchiveManifestEntry.id == MatterHold.manifest_id
        ).where(MatterHold.confirmed.is_(False), MatterHold.released_at.is_(None))
        if matter_id is not None:
            query = query.where(MatterHold.matter_id == matter_id)
        pending = session.execute(query).all()
        session.expunge_all()
    for holder, entry in pending:
        try:
            _set_hold(client, entry, True)
        except ArchiveError as exc:
            report.failures.append(f"{entry.bucket}/{entry.object_key} version {entry.version_id}: {exc}")
            continue
        with sessions.begin() as session:
            session.execute(update(MatterHold).where(MatterHold.matter_id == holder,
                                                     MatterHold.manifest_id == entry.id).values(confirmed=True))
            session.execute(update(ArchiveManifestEntry).where(ArchiveManifestEntry.id == entry.id)
                            .values(legal_hold=True))
        report.newly_held += 1
    return report


def record_holds(session: Session, matter: Matter, manifest_ids: list[int]) -> list[int]:
    """Insert unconfirmed hold rows for versions the matter does not hold yet."""
    existing = set(session.scalars(select(MatterHold.manifest_id).where(
        MatterHold.matter_id == matter.id, MatterHold.manifest_id.in_(manifest_ids))))
    new = [i for i in manifest_ids if i not in existing]
    now = utcnow()
    session.add_all(MatterHold(matter_id=matter.id, manifest_id=i, placed_at=now, confirmed=False) for i in new)
    session.flush()
    return new


def hold_matter(sessions: sessionmaker[Session], client: S3Client, ref: str, *, actor: str) -> HoldReport:
    """Put every archived object version of the matter's meetings under S3 legal hold, read
    back to confirm; safe to repeat (it completes what an S3 fault interrupted)."""
    actor = check_actor("actor", actor)
    with sessions.begin() as session:
        matter = find_matter(session, ref, lock=True)
        if matter.state == MatterState.RELEASED:
            raise ValueError(f"matter {matter.name!r} is released; open a new matter to hold again")
        if matter.state != MatterState.HELD:
            matter.state, matter.held_at, matter.held_by = MatterState.HELD, utcnow(), actor
        entries = archived_objects(session, matter_meeting_ids(session, matter.id))
        record_holds(session, matter, [e.id for e in entries])
        matter_id, name = matter.id, matter.name
    report = confirm_holds(sessions, client, matter_id)
    report.matter, report.objects = name, len(entries)
    with sessions.begin() as session:
        append_event(session, actor=actor, action="matter.held", entity_type="matter", entity_id=str(matter_id),
                     payload={"name": name, "objects": report.objects, "newly_held": report.newly_held,
                              "failures": report.failures[:20]})
    return report


def release_matter(
    sessions: sessionmaker[Session], client: S3Client, ref: str, *, by: str, note: str
) -> ReleaseReport:
    """A named person lifts the matter's hold with a note. A version another held matter
    still holds stays ON. Repeating it on a released matter retries S3 calls that failed."""
    by = check_actor("by", by)
    note = check_actor("note", note)
    with sessions.begin() as session:
        matter = find_matter(session, ref, lock=True)
        if matter.state == MatterState.OPEN:
            raise ValueError(f"matter {matter.name!r} is not held")
        first_release = matter.state == MatterState.HELD
        if first_release:
            matter.state, matter.released_at = MatterState.RELEASED, utcnow()
            matter.released_by, matter.release_note = by, note
        session.execute(update(MatterHold).where(MatterHold.matter_id == matter.id,
                                                 MatterHold.released_at.is_(None)).values(released_at=utcnow()))
        mine = list(session.scalars(select(MatterHold.manifest_id).where(MatterHold.matter_id == matter.id)))
        still_held = set(session.scalars(
            select(MatterHold.manifest_id).join(Matter, Matter.id == MatterHold.matter_id)
            .where(MatterHold.manifest_id.in_(mine), MatterHold.released_at.is_(None),
                   Matter.state == MatterState.HELD)))
        to_lift = list(session.scalars(select(ArchiveManifestEntry).where(
            ArchiveManifestEntry.id.in_([i for i in mine if i not in still_held]),
            ArchiveManifestEntry.legal_hold.is_(True))))
        session.expunge_all()
        matter_id, name = matter.id, matter.name
    report = ReleaseReport(matter=name, kept=len(still_held))
    if env_bool(os.environ, "MEET_LEGAL_HOLD", False):
        # The deployment holds every archived object (docs/pipeline.md): a matter's release
        # must not lift that hold; only the matter's own record is released.
        report.kept, to_lift = report.kept + len(to_lift), []
    for entry in to_lift:
        try:
            _set_hold(client, entry, False)
        except ArchiveError as exc:
            report.failures.append(f"{entry.bucket}/{entry.object_key} version {entry.version_id}: {exc}")
            continue
        with sessions.begin() as session:
            session.execute(update(ArchiveManifestEntry).where(ArchiveManifestEntry.id == entry.id)
                            .values(legal_hold=False))
        report.released += 1
    with sessions.begin() as session:
        append_event(session, actor=by, action="matter.released" if first_release else "matter.release_retried",
                     entity_type="matter", entity_id=str(matter_id),
                     payload={"name": name, "note": note, "lifted": report.released,
                              "kept_for_other_matters": report.kept, "failures": report.failures[:20]})
    return report
