"""The demo's legal matter: open one over the demo's meetings, hold it, export it, verify
the bundle (as the receiving party would) — what docs/compliance.md walks an officer through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive.client import S3Client
from meet_core.matters.bundle_verify import verify_bundle
from meet_core.matters.export import export_matter, public_key_hex, signing_key
from meet_core.matters.holds import hold_matter
from meet_core.matters.service import add_meetings, create_matter
from meet_core.settings import Settings

ACTOR = "demo:compliance-officer"


@dataclass(frozen=True, slots=True)
class DemoMatter:
    name: str
    objects_held: int
    bundle: Path | None
    export_verified: bool
    problems: tuple[str, ...] = ()


def open_hold_export_verify(
    sessions: sessionmaker[Session], client: S3Client, settings: Settings, meeting_ids: Sequence[str]
) -> DemoMatter:
    name = f"Demo matter {datetime.now(UTC):%Y%m%dT%H%M%S%f}"
    with sessions.begin() as session:
        matter = create_matter(session, name=name, description="Every meeting of the demo scenario", actor=ACTOR)
        if meeting_ids:
            add_meetings(session, matter, actor=ACTOR, meeting_ids=list(meeting_ids))
    held = hold_matter(sessions, client, name, actor=ACTOR)
    key = signing_key(settings)
    out = settings.home / "exports" / name.replace(" ", "-").lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    result = export_matter(sessions, client, name, out, key=key, actor=ACTOR)
    problems = verify_bundle(result.path, public_key_hex(key))
    return DemoMatter(name, held.newly_held if held.ok else 0, result.path, not problems, tuple(problems))
