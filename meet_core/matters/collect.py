"""A matter keeps collecting: when an object is archived, matters whose saved search matches
its meeting take the meeting in, and held matters put the new object under legal hold."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive.client import S3Client
from meet_core.audit import append_event
from meet_core.db.models import ArchiveManifestEntry, Matter, MatterMeeting, MatterState
from meet_core.matters.holds import confirm_holds, record_holds
from meet_core.matters.service import link_meetings, saved_searches
from meet_core.search.query import matching_meeting_ids


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


def collect_archived(
    sessions: sessionmaker[Session], client: S3Client, manifest_id: int, *, actor: str
) -> str | None:
    """After an object is archived: collect its meeting and hold the object for held
    matters. Returns an error text when S3 refused the hold (the hold row stays unconfirmed
    and the next archive run or ``matter hold`` completes it), else None."""
    with sessions.begin() as session:
        entry = session.get(ArchiveManifestEntry, manifest_id)
        if entry is None:
            return None
        holders = collect_meeting(session, entry.meeting_id, actor=actor)
        for matter_id in holders:
            matter = session.get(Matter, matter_id)
            assert matter is not None
            record_holds(session, matter, [manifest_id])
    if not holders:
        return None
    failures = []
    for matter_id in holders:
        failures += confirm_holds(sessions, client, matter_id).failures
    return "legal hold not confirmed: " + "; ".join(failures) if failures else None
