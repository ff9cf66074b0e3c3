"""Open matters, add meetings to them, and read them back (database only; holds are in
:mod:`meet_core.matters.holds`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meet_core.audit import append_event
from meet_core.db.models import (
    ArchiveManifestEntry,
    ManifestState,
    Matter,
    MatterHold,
    MatterMeeting,
    MatterState,
    Meeting,
)
from meet_core.db.types import utcnow
from meet_core.search.filters import SearchFilters, parse_filters
from meet_core.search.query import matching_meeting_ids

MAX_NAME = 200
MAX_DESCRIPTION = 4000
MAX_IDS = 1000


class MatterNotFound(ValueError):
    pass


def _clean(name: str, raw: str | None, limit: int, *, required: bool) -> str | None:
    value = " ".join((raw or "").split())
    if not value:
        if required:
            raise ValueError(f"{name}: must not be empty")
        return None
    if len(value) > limit:
        raise ValueError(f"{name}: at most {limit} characters")
    if any(ord(c) < 32 for c in (raw or "") if c not in "\t\n\r"):
        raise ValueError(f"{name}: control characters are not allowed")
    return value


def check_actor(name: str, raw: str | None) -> str:
    value = _clean(name, raw, 200, required=True)
    assert value is not None
    return value


def find_matter(session: Session, ref: str | int, *, lock: bool = False) -> Matter:
    """A matter by name or number; MatterNotFound otherwise."""
    text = str(ref).strip()
    query = select(Matter).where(Matter.name == text)
    if text.isdigit() and len(text) < 10:
        query = select(Matter).where((Matter.name == text) | (Matter.id == int(text)))
    if lock:
        query = query.with_for_update()
    matter = session.scalars(query.order_by(Matter.id)).first()
    if matter is None:
        raise MatterNotFound(f"no matter named {text!r}")
    return matter


def create_matter(session: Session, *, name: str, description: str | None, actor: str) -> Matter:
    clean_name = _clean("name", name, MAX_NAME, required=True)
    assert clean_name is not None
    if session.scalar(select(Matter.id).where(Matter.name == clean_name)) is not None:
        raise ValueError(f"name: a matter named {clean_name!r} exists already")
    matter = Matter(
        name=clean_name,
        description=_clean("description", description, MAX_DESCRIPTION, required=False),
        opened_by=check_actor("actor", actor),
        opened_at=utcnow(),
        state=MatterState.OPEN,
        saved_filters=[],
    )
    session.add(matter)
    session.flush()
    append_event(session, actor=matter.opened_by, action="matter.opened", entity_type="matter",
                 entity_id=str(matter.id), payload={"name": matter.name, "description": matter.description})
    return matter


def link_meetings(session: Session, matter: Matter, meeting_ids: Sequence[str], actor: str, via: str) -> list[str]:
    present = set(session.scalars(select(MatterMeeting.meeting_id).where(
        MatterMeeting.matter_id == matter.id, MatterMeeting.meeting_id.in_(list(meeting_ids)))))
    added = [m for m in dict.fromkeys(meeting_ids) if m not in present]
    now = utcnow()
    session.add_all(MatterMeeting(matter_id=matter.id, meeting_id=m, added_at=now, added_by=actor,
                                  added_via=via) for m in added)
    session.flush()
    return added


def add_meetings(
    session: Session,
    matter: Matter,
    *,
    actor: str,
    meeting_ids: Sequence[str] = (),
    filters: SearchFilters | None = None,
) -> list[str]:
    """Add meetings by id, or every meeting a search matches; a search is also saved so that
    meetings archived later that match it join the matter. Returns the meetings newly added."""
    actor = check_actor("actor", actor)
    if matter.state == MatterState.RELEASED:
        raise ValueError(f"matter {matter.name!r} is released; open a new matter")
    if bool(meeting_ids) == (filters is not None):
        raise ValueError("give meeting ids or search filters (one of them)")
    if filters is not None and filters.is_empty():
        raise ValueError("a saved search needs at least one filter")
    if meeting_ids:
        if len(meeting_ids) > MAX_IDS:
            raise ValueError(f"at most {MAX_IDS} meeting ids at a time")
        ids = [m.strip() for m in meeting_ids]
        known = set(session.scalars(select(Meeting.id).where(Meeting.id.in_(ids))))
        unknown = [m for m in ids if m not in known]
        if unknown:
            raise ValueError(f"no such meeting: {', '.join(unknown[:5])}")
        added = link_meetings(session, matter, ids, actor, "id")
        detail: dict[str, Any] = {"meeting_ids": ids}
    else:
        assert filters is not None
        saved = [*(matter.saved_filters or []), filters.to_json()]
        matter.saved_filters = saved
        added = link_meetings(session, matter, matching_meeting_ids(session, filters), actor, "search")
        detail = {"saved_search": filters.to_json()}
    append_event(session, actor=actor, action="matter.meetings_added", entity_type="matter",
                 entity_id=str(matter.id), payload={"name": matter.name, "added": added, **detail})
    return added


def saved_searches(matter: Matter) -> list[SearchFilters]:
    return [parse_filters(raw) for raw in (matter.saved_filters or [])]


def matter_meeting_ids(session: Session, matter_id: int) -> list[str]:
    return list(session.scalars(
        select(MatterMeeting.meeting_id).where(MatterMeeting.matter_id == matter_id)
        .order_by(MatterMeeting.added_at, MatterMeeting.meeting_id)))


def archived_objects(session: Session, meeting_ids: Sequence[str]) -> list[ArchiveManifestEntry]:
    if not meeting_ids:
        return []
    return list(session.scalars(
        select(ArchiveManifestEntry)
        .where(ArchiveManifestEntry.meeting_id.in_(list(meeting_ids)),
               ArchiveManifestEntry.state == ManifestState.ARCHIVED)
        .order_by(ArchiveManifestEntry.meeting_id, ArchiveManifestEntry.id)))


def matters_holding(session: Session, meeting_ids: Sequence[str]) -> dict[str, list[str]]:
    """For each meeting, the names of the held matters it belongs to (ledger, report)."""
    if not meeting_ids:
        return {}
    rows = session.execute(
        select(MatterMeeting.meeting_id, Matter.name)
        .join(Matter, Matter.id == MatterMeeting.matter_id)
        .where(MatterMeeting.meeting_id.in_(list(meeting_ids)), Matter.state == MatterState.HELD)
        .order_by(Matter.name)).all()
    out: dict[str, list[str]] = {}
    for meeting_id, name in rows:
        out.setdefault(meeting_id, []).append(name)
    return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def matter_summary(session: Session, matter: Matter) -> dict[str, Any]:
    meetings = matter_meeting_ids(session, matter.id)
    held = session.scalar(select(func.count()).select_from(MatterHold).where(
        MatterHold.matter_id == matter.id, MatterHold.confirmed, MatterHold.released_at.is_(None))) or 0
    return {
        "id": matter.id,
        "name": matter.name,
        "description": matter.description,
        "state": matter.state,
        "opened_by": matter.opened_by,
        "opened_at": _iso(matter.opened_at),
        "held_by": matter.held_by,
        "held_at": _iso(matter.held_at),
        "released_by": matter.released_by,
        "released_at": _iso(matter.released_at),
        "release_note": matter.release_note,
        "saved_searches": matter.saved_filters or [],
        "meeting_count": len(meetings),
        "objects_held": int(held),
    }


def matter_detail(session: Session, matter: Matter) -> dict[str, Any]:
    out = matter_summary(session, matter)
    ids = matter_meeting_ids(session, matter.id)
    meetings = {m.id: m for m in session.scalars(select(Meeting).where(Meeting.id.in_(ids)))}
    holds = {h.manifest_id: h for h in session.scalars(
        select(MatterHold).where(MatterHold.matter_id == matter.id))}
    objects: dict[str, list[dict[str, Any]]] = {}
    for entry in archived_objects(session, ids):
        hold = holds.get(entry.id)
        objects.setdefault(entry.meeting_id, []).append({
            "kind": entry.kind,
            "uri": f"s3://{entry.bucket}/{entry.object_key}",
            "version_id": entry.version_id,
            "sha256": entry.sha256,
            "size": entry.size,
            "legal_hold": bool(entry.legal_hold),
            "held_by_this_matter": bool(hold and hold.confirmed and hold.released_at is None),
        })
    out["meetings"] = [
        {"id": i, "external_id": meetings[i].external_id, "title": meetings[i].title,
         "start_time": _iso(meetings[i].start_time), "objects": objects.get(i, [])}
        for i in ids if i in meetings
    ]
    return out


def list_matters(session: Session) -> list[dict[str, Any]]:
    return [matter_summary(session, m) for m in session.scalars(select(Matter).order_by(Matter.id))]
