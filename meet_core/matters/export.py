"""Write a matter's export bundle: every archived object streamed from S3 and re-hashed,
a JSON record per meeting, the audit events concerning them with the chain links between,
``manifest.json`` (SHA-256 and size of every file), its Ed25519 signature, the public key,
and the stand-alone ``verify_bundle.py`` the receiving party runs (docs/compliance.md).

The bundle is written into a hidden sibling folder and renamed into place only when
complete: an export that fails half-way (an S3 fault, a hash mismatch) leaves nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive.client import S3Client
from meet_core.archive.errors import ArchiveError
from meet_core.audit import append_event, iter_events
from meet_core.db.models import (
    ApiClient,
    ArchiveManifestEntry,
    AuditEvent,
    ConferenceParticipant,
    ConferenceRecord,
    LedgerEntry,
    Meeting,
    Participant,
)
from meet_core.matters import bundle_verify
from meet_core.matters.service import (
    archived_objects,
    check_actor,
    find_matter,
    matter_meeting_ids,
    matter_summary,
    matters_holding,
)
from meet_core.settings import Settings

FORMAT = "meet-archive-export/1"
CHUNK = 1 << 20
IN_BATCH = 500
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ExportResult:
    path: Path
    files: int
    bytes: int
    objects: int
    meetings: int
    manifest_sha256: str
    public_key_hex: str


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The deployment's export signing key (``MEET_EXPORT_SIGNING_KEY_FILE``); without the
    setting, a key under ``MEET_HOME`` made on first use (development)."""
    path = settings.export_signing_key_file or settings.home / "export-signing-key.pem"
    if settings.export_signing_key_file is None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def public_key_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _batches(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), IN_BATCH):
        yield list(values[start : start + IN_BATCH])


class _Bundle:
    """Files written under a root, each hashed as it is written."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: list[dict[str, Any]] = []

    def write(self, relative: str, chunks: Iterator[bytes] | list[bytes]) -> tuple[str, int]:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with open(path, "wb") as handle:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                handle.write(chunk)
        self.files.append({"path": relative, "sha256": digest.hexdigest(), "size": size})
        return digest.hexdigest(), size

    def write_json(self, relative: str, value: Any) -> None:
        self.write(relative, [json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"])


def _stream_object(client: S3Client, entry: ArchiveManifestEntry) -> Iterator[bytes]:
    try:
        body = client.get_object(Bucket=entry.bucket, Key=entry.object_key, VersionId=entry.version_id)["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()
    except (ClientError, BotoCoreError) as exc:
        raise ArchiveError(f"cannot read s3://{entry.bucket}/{entry.object_key} "
                           f"version {entry.version_id}: {exc}") from exc


def _object_path(entry: ArchiveManifestEntry) -> str:
    name = (entry.object_key or f"object-{entry.id}").rsplit("/", 1)[-1]
    return f"meetings/{entry.meeting_id}/{entry.kind}/{entry.id}-{name}"


def _meeting_record(session: Session, meeting: Meeting, objects: list[dict[str, Any]],
                    holders: list[str]) -> dict[str, Any]:
    client = session.get(ApiClient, meeting.client_id)
    ledger = session.get(LedgerEntry, meeting.id)
    conferences = session.scalars(select(ConferenceRecord).where(ConferenceRecord.meeting_id == meeting.id)
                                  .order_by(ConferenceRecord.start_time)).all()
    attendees = session.scalars(select(ConferenceParticipant).where(ConferenceParticipant.meeting_id == meeting.id)
                                .order_by(ConferenceParticipant.id)).all()
    invitees = session.scalars(select(Participant).where(Participant.meeting_id == meeting.id)
                               .order_by(Participant.email)).all()
    return {
        "meeting": {
            "id": meeting.id, "external_id": meeting.external_id, "client": client.name if client else None,
            "title": meeting.title, "description": meeting.description, "status": meeting.status,
            "start_time": _iso(meeting.start_time), "end_time": _iso(meeting.end_time),
            "timezone": meeting.timezone, "organizer_email": meeting.organizer_email,
            "meet_uri": meeting.meet_uri, "space_name": meeting.space_name,
            "calendar_event_id": meeting.calendar_event_id,
        },
        "invited": [
            {"email": p.email, "display_name": p.display_name, "role": p.role, "response": p.response_status,
             "attended": p.attended, "first_joined_at": _iso(p.first_joined_at),
             "last_left_at": _iso(p.last_left_at), "attended_seconds": p.attended_seconds}
            for p in invitees
        ],
        "attendance": [
            {"participant": a.name, "kind": a.kind, "email": a.email, "display_name": a.display_name,
             "invited": a.invited, "first_joined_at": _iso(a.first_joined_at),
             "last_left_at": _iso(a.last_left_at), "attended_seconds": a.attended_seconds,
             "sessions": a.session_count}
            for a in attendees
        ],
        "coverage": [
            {"conference_record": c.name, "start_time": _iso(c.start_time), "end_time": _iso(c.end_time),
             "recordings": c.recording_count, "transcripts": c.transcript_count}
            for c in conferences
        ],
        "ledger": None if ledger is None else {
            "compliance_status": ledger.compliance_status, "outcome": ledger.outcome,
            "violation_reasons": [r for r in ledger.violation_reasons.split(",") if r],
            "recordings_archived": ledger.recordings_archived, "transcripts_archived": ledger.transcripts_archived,
            "checksums_verified": ledger.checksums_verified, "evaluated_at": _iso(ledger.evaluated_at),
        },
        "held_by_matters": holders,
        "objects": objects,
    }


def _event_line(event: AuditEvent, full: bool) -> bytes:
    if full:
        value: dict[str, Any] = {
            "seq": event.seq, "occurred_at": event.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor": event.actor, "action": event.action, "entity_type": event.entity_type,
            "entity_id": event.entity_id, "payload": event.payload, "prev_hash": event.prev_hash,
            "hash": event.hash,
        }
    else:  # another meeting's event: only the link, so the chain can be walked without its content
        value = {"seq": event.seq, "prev_hash": event.prev_hash, "hash": event.hash, "link_only": True}
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def _audit_lines(session: Session, matter_id: int, meeting_ids: Sequence[str], info: dict[str, Any]) -> Iterator[bytes]:
    concerning: set[int] = set()
    for batch in list(_batches(list(meeting_ids))) or [[]]:
        concerning.update(session.scalars(select(AuditEvent.seq).where(or_(
            and_(AuditEvent.entity_type == "meeting", AuditEvent.entity_id.in_(batch)),
            and_(AuditEvent.entity_type == "matter", AuditEvent.entity_id == str(matter_id))))))
    if not concerning:
        return
    first, last = min(concerning), max(concerning)
    info.update(first_seq=first, last_seq=last, events=len(concerning), lines=last - first + 1)
    for event in iter_events(session, after_seq=first - 1):
        if event.seq > last:
            break
        if event.seq == last:
            info["last_hash"] = event.hash
        if event.seq == first:
            info["first_prev_hash"] = event.prev_hash
        yield _event_line(event, event.seq in concerning)


README = """meet-archive export bundle

manifest.json      every file of this bundle with its SHA-256 and size, the matter and the
                   Ed25519 public key of the deployment that signed it
manifest.sig       the Ed25519 signature of manifest.json (hex)
public_key.txt     the same public key (hex); compare it with the one the deployment publishes
meetings/<id>/     record.json (meeting, invitees, attendance, coverage, ledger verdict,
                   S3 object versions) and the archived recordings, transcripts, smart notes
audit/events.jsonl the audit events concerning these meetings and this matter, and between
                   them hash-only links, so the hash chain can be followed from first to last
verify_bundle.py   checks all of the above; needs Python 3.8+ only:

    python3 verify_bundle.py . --public-key <the deployment's published key>
"""


def export_matter(
    sessions: sessionmaker[Session],
    client: S3Client,
    ref: str,
    out: Path,
    *,
    key: Ed25519PrivateKey,
    actor: str,
    progress: Progress = lambda _text: None,
) -> ExportResult:
    actor = check_actor("actor", actor)
    out = out.expanduser().absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"--out {out}: must be a new or empty directory")
    if not out.parent.is_dir():
        raise ValueError(f"--out {out}: the parent directory does not exist")
    with sessions.begin() as session:
        matter = find_matter(session, ref)
        matter_id, name = matter.id, matter.name
        append_event(session, actor=actor, action="matter.export_started", entity_type="matter",
                     entity_id=str(matter_id), payload={"name": name, "out": str(out)})
    work = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    work.mkdir()
    try:
        result = _write(sessions, client, matter_id, work, key=key, actor=actor, progress=progress)
        if out.exists():
            out.rmdir()
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    with sessions.begin() as session:
        append_event(session, actor=actor, action="matter.exported", entity_type="matter",
                     entity_id=str(matter_id),
                     payload={"name": name, "out": str(out), "manifest_sha256": result.manifest_sha256,
                              "files": result.files, "bytes": result.bytes, "public_key": result.public_key_hex})
    return ExportResult(out, result.files, result.bytes, result.objects, result.meetings,
                        result.manifest_sha256, result.public_key_hex)


def _write(sessions: sessionmaker[Session], client: S3Client, matter_id: int, root: Path, *,
           key: Ed25519PrivateKey, actor: str, progress: Progress) -> ExportResult:
    bundle = _Bundle(root)
    with sessions() as session:
        from meet_core.db.models import Matter

        matter = session.get(Matter, matter_id)
        assert matter is not None
        summary = matter_summary(session, matter)
        meeting_ids = matter_meeting_ids(session, matter_id)
        entries = archived_objects(session, meeting_ids)
        holders = matters_holding(session, meeting_ids)
        session.expunge_all()
    total = len(entries)
    objects: dict[str, list[dict[str, Any]]] = {}
    for number, entry in enumerate(entries, 1):
        relative = _object_path(entry)
        sha256, size = bundle.write(relative, _stream_object(client, entry))
        if sha256 != entry.sha256 or size != entry.size:
            raise ArchiveError(f"s3://{entry.bucket}/{entry.object_key} version {entry.version_id}: read "
                               f"{size} bytes with SHA-256 {sha256}, archived as {entry.size} bytes {entry.sha256}")
        objects.setdefault(entry.meeting_id, []).append({
            "kind": entry.kind, "artifact": entry.artifact_name, "bundle_path": relative,
            "bucket": entry.bucket, "key": entry.object_key, "version_id": entry.version_id,
            "sha256": entry.sha256, "size": entry.size, "content_type": entry.content_type,
            "s3_checksum": entry.s3_checksum, "drive_sha256": entry.drive_sha256, "drive_md5": entry.drive_md5,
            "lock_mode": entry.lock_mode, "retain_until": _iso(entry.retain_until),
            "legal_hold": entry.legal_hold, "archived_at": _iso(entry.archived_at),
        })
        progress(f"object {number}/{total}: {relative} ({size} bytes, SHA-256 re-checked)")
    audit: dict[str, Any] = {"lines": 0, "events": 0}
    with sessions() as session:
        for meeting in session.scalars(select(Meeting).where(Meeting.id.in_(meeting_ids or [""]))):
            bundle.write_json(f"meetings/{meeting.id}/record.json", _meeting_record(
                session, meeting, objects.get(meeting.id, []), holders.get(meeting.id, [])))
        bundle.write("audit/events.jsonl", _audit_lines(session, matter_id, meeting_ids, audit))
    progress(f"audit: {audit.get('events', 0)} event(s), {audit['lines']} chain line(s)")
    public = public_key_hex(key)
    bundle.write("public_key.txt", [public.encode() + b"\n"])
    bundle.write("README.txt", [README.encode()])
    bundle.write("verify_bundle.py", [Path(bundle_verify.__file__).read_bytes()])
    manifest = {
        "format": FORMAT,
        "created_at": _iso(datetime.now().astimezone()),
        "created_by": actor,
        "matter": summary,
        "meetings": len(meeting_ids),
        "objects": total,
        "public_key_ed25519": public,
        "audit": audit,
        "files": sorted(bundle.files, key=lambda f: f["path"]),
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"
    (root / "manifest.json").write_bytes(manifest_bytes)
    (root / "manifest.sig").write_text(key.sign(manifest_bytes).hex() + "\n", encoding="ascii")
    progress(f"manifest signed: {len(bundle.files)} file(s)")
    return ExportResult(root, len(bundle.files) + 2, sum(f["size"] for f in bundle.files), total,
                        len(meeting_ids), hashlib.sha256(manifest_bytes).hexdigest(), public)
