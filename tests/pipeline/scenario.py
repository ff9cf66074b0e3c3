"""The simulated day of the pipeline issue, played through the emulator's control API,
and the checks of its outcome against Google's own ground truth (the emulator state) and
against S3 as it really is.

Meetings (all start just before t0, so they share today's partition):
  normal     organizer, Ann (internal, drops out once and rejoins), Carl (external)
  no_show    nobody comes
  external   only Carl, Dora (external) and an anonymous visitor: nobody may record
  restart    recording stopped and started again: two files (12 MiB each: multipart)
  transcript organizer, Ann and a phone dial-in; the transcript has all three
  cancelled  cancelled through the API before it starts
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from meet_core.archive.transfer import key_for
from meet_core.db.models import (
    ArchiveManifestEntry,
    AuditEvent,
    ConferenceParticipant,
    ConferenceRecord,
    Meeting,
    Participant,
    ParticipantSession,
)
from meet_core.google.types import parse_time
from meet_sandbox.pipeline_harness import ORGANIZER, PipelineHarness, minutes

ANN = ("ann@example.com", "Ann Lee")
CARL = ("carl@partner.org", "Carl Partner")
DORA = ("dora@partner.org", "Dora Guest")
MULTIPART_SIZE = 12 * 2**20

EXPECTED_STATUS = {
    "normal": "finished",
    "no_show": "not_held",
    "external": "finished",
    "restart": "finished",
    "transcript": "finished",
    "cancelled": "cancelled",
}
# Objects per meeting: recordings, transcript texts, transcript entries.
EXPECTED_OBJECTS = {
    "normal": {"recording": 1, "transcript_text": 1, "transcript_entries": 1},
    "no_show": {},
    "external": {},
    "restart": {"recording": 2, "transcript_text": 1, "transcript_entries": 1},
    "transcript": {"recording": 1, "transcript_text": 1, "transcript_entries": 1},
    "cancelled": {},
}
EXPECTED_TRANSITIONS = {
    "normal": ["meeting.in_progress", "meeting.finished"],
    "no_show": ["meeting.not_held"],
    "external": ["meeting.in_progress", "meeting.finished"],
    "restart": ["meeting.in_progress", "meeting.finished"],
    "transcript": ["meeting.in_progress", "meeting.finished"],
    "cancelled": [],
}


@dataclass
class Day:
    t0: datetime
    meetings: dict[str, str]  # label -> meeting id

    def label_of(self, meeting_id: str) -> str:
        return next(label for label, mid in self.meetings.items() if mid == meeting_id)


def schedule_day(h: PipelineHarness) -> Day:
    """XOMA's requests (pending), provisioned by the provisioning sensor; one cancelled."""
    t0 = h.now()
    start = t0 - minutes(2)
    guests = {
        "normal": [ANN, CARL],
        "no_show": [ANN],
        "external": [CARL, DORA],
        "restart": [ANN],
        "transcript": [ANN],
        "cancelled": [ANN],
    }
    ends = {"no_show": t0 + minutes(20)}
    meetings = {
        label: h.add_meeting(
            f"XOMA-{label}", start=start, end=ends.get(label, t0 + minutes(40)), guests=people
        )
        for label, people in guests.items()
    }
    h.tick("provisioning_sensor")
    h.cancel_meeting(meetings["cancelled"])
    return Day(t0, meetings)


def play_day(h: PipelineHarness, day: Day) -> None:
    """People join, drop out, record; the conference sensor looks at each step."""
    p, m = (
        h.people,
        {label: h.space(mid) for label, mid in day.meetings.items() if label != "cancelled"},
    )
    h.tick("conference_sensor")  # nobody there yet: nothing moves
    p.join(m["normal"], ORGANIZER, display_name="Olga Organizer")
    p.join(m["normal"], ANN[0], display_name=ANN[1])
    p.join(m["normal"], CARL[0], display_name=CARL[1])
    p.join(m["external"], CARL[0], display_name=CARL[1])
    p.join(m["external"], DORA[0], display_name=DORA[1])
    p.join(m["external"], kind="anonymousUser", display_name="Visitor")
    p.join(
        m["restart"], ORGANIZER, display_name="Olga Organizer", recording_size_bytes=MULTIPART_SIZE
    )
    p.join(m["restart"], ANN[0], display_name=ANN[1])
    p.join(m["transcript"], ORGANIZER, display_name="Olga Organizer")
    p.join(m["transcript"], ANN[0], display_name=ANN[1])
    p.join(m["transcript"], kind="phoneUser", display_name="+41 44 *** ** 12")
    h.advance(2)
    h.tick("conference_sensor")
    h.advance(5)
    p.leave(m["normal"], ANN[0])
    p.stop_recording(m["restart"])
    h.advance(3)
    p.join(m["normal"], ANN[0], display_name=ANN[1])
    p.start_recording(m["restart"], by=ORGANIZER)
    h.advance(10)
    for label, emails in (
        ("normal", [CARL[0], ANN[0], ORGANIZER]),
        ("restart", [ANN[0], ORGANIZER]),
        ("transcript", [ANN[0], ORGANIZER]),
        ("external", [CARL[0], DORA[0]]),
    ):
        for email in emails:
            p.leave(m[label], email)
    p.leave(m["transcript"], display_name="+41 44 *** ** 12")
    p.leave(m["external"], display_name="Visitor")
    h.advance(2)  # files generated; within the rejoin gap: still in progress
    h.tick("conference_sensor")
    h.advance(10)  # past the rejoin gap, and past the no-show's end plus grace
    h.tick("conference_sensor")


def run_until_settled(h: PipelineHarness, *, rounds: int = 8) -> int:
    """Tick the sensors and run what they ask for until nothing is left to do."""
    for number in range(1, rounds + 1):
        h.tick("provisioning_sensor")
        h.tick("conference_sensor")
        if not h.archive_ready(raise_on_error=False):
            return number
    raise AssertionError(f"the archive did not settle in {rounds} rounds")


# --- checks -------------------------------------------------------------------------------


def google_truth(h: PipelineHarness, day: Day) -> dict[str, dict[str, Any]]:
    """Per meeting, what the emulator really holds: artifacts and attendance sessions."""
    state = h.people.state()
    truth: dict[str, dict[str, Any]] = {}
    for label, mid in day.meetings.items():
        space_id = (h.meeting(mid).space_name or "").removeprefix("spaces/")
        records = [r for r in state["conference_records"].values() if r["space"] == space_id]
        names = {r["name"] for r in records}
        artifacts = [n for n, item in state["recordings"].items() if item["conference"] in names]
        transcripts = [n for n, item in state["transcripts"].items() if item["conference"] in names]
        sessions: dict[str, float] = defaultdict(float)
        for participant in state["participants"].values():
            if participant["name"].split("/participants/")[0] in names and participant["email"]:
                for session in state["sessions"].values():
                    if session["name"].startswith(participant["name"] + "/"):
                        sessions[participant["email"]] += session["end"] - session["start"]
        truth[label] = {
            "records": names,
            "recordings": set(artifacts),
            "transcripts": set(transcripts),
            "seconds_by_email": dict(sessions),
            "kinds": Counter(
                p["kind"]
                for p in state["participants"].values()
                if p["name"].split("/participants/")[0] in names
            ),
        }
    return truth


def expected_keys(h: PipelineHarness, day: Day, truth: dict[str, dict[str, Any]]) -> set[str]:
    keys = set()
    for label, mid in day.meetings.items():
        date = h.meeting(mid).start_time.astimezone(UTC).strftime("%Y-%m-%d")
        for name in truth[label]["recordings"]:
            keys.add(key_for("meet", "recording", date, mid, name))
        for name in truth[label]["transcripts"]:
            keys.add(key_for("meet", "transcript_text", date, mid, name))
            keys.add(key_for("meet", "transcript_entries", date, mid, name + "/entries"))
    return keys


def check_day(h: PipelineHarness, day: Day, *, archived_after: datetime) -> None:
    """Everything the pipeline issue asks of the simulated day, checked one by one."""
    truth = google_truth(h, day)
    with h.sessions() as session:
        for label, mid in day.meetings.items():
            meeting = session.get(Meeting, mid)
            assert meeting is not None
            assert meeting.status == EXPECTED_STATUS[label], (label, meeting.status)
            rows = session.scalars(
                select(ArchiveManifestEntry).where(ArchiveManifestEntry.meeting_id == mid)
            ).all()
            assert Counter(r.kind for r in rows) == Counter(EXPECTED_OBJECTS[label]), label
            assert {r.artifact_name for r in rows if r.kind == "recording"} == truth[label][
                "recordings"
            ]
            assert all(
                r.state == "archived" and r.google_state == "FILE_GENERATED" for r in rows
            ), label
            transitions = session.scalars(
                select(AuditEvent.action)
                .where(
                    AuditEvent.entity_id == mid,
                    AuditEvent.action.like("meeting.%"),
                    AuditEvent.action != "meeting.provisioned",
                    AuditEvent.action != "meeting.cancelled",
                )
                .order_by(AuditEvent.seq)
            ).all()
            assert transitions == EXPECTED_TRANSITIONS[label], (label, transitions)
            archived_events = session.scalar(
                select(func.count()).where(
                    AuditEvent.entity_id == mid, AuditEvent.action == "artifact.archived"
                )
            )
            assert archived_events == len(rows), label
        check_attendance(session, day, truth)
    check_s3(h, day, truth, archived_after=archived_after)


def check_attendance(session: Any, day: Day, truth: dict[str, dict[str, Any]]) -> None:
    for label, mid in day.meetings.items():
        invitees = session.scalars(select(Participant).where(Participant.meeting_id == mid)).all()
        seconds = truth[label]["seconds_by_email"]
        for invitee in invitees:
            if label == "cancelled":
                assert invitee.attended is None
                continue
            expected = int(seconds.get(invitee.email, 0))
            assert invitee.attended is (invitee.email in seconds), (label, invitee.email)
            assert abs((invitee.attended_seconds or 0) - expected) <= 1, (label, invitee.email)
        kinds = Counter(
            session.scalars(
                select(ConferenceParticipant.kind).where(ConferenceParticipant.meeting_id == mid)
            )
        )
        records = set(
            session.scalars(select(ConferenceRecord.name).where(ConferenceRecord.meeting_id == mid))
        )
        assert records == truth[label]["records"], label
        sessions = session.scalar(
            select(func.count())
            .select_from(ParticipantSession)
            .join(
                ConferenceParticipant, ParticipantSession.participant_id == ConferenceParticipant.id
            )
            .where(ConferenceParticipant.meeting_id == mid)
        )
        if label == "normal":
            assert kinds == {"internal": 2, "external": 1}
            assert sessions == 4  # Ann dropped out once
        if label == "external":
            assert kinds == {"external": 2, "anonymous": 1}
        if label == "transcript":
            assert kinds == {"internal": 2, "phone": 1}
        if label in ("no_show", "cancelled"):
            assert not kinds and not records


def check_s3(
    h: PipelineHarness, day: Day, truth: dict[str, dict[str, Any]], *, archived_after: datetime
) -> None:
    versions = h.s3.list_object_versions(Bucket=h.bucket).get("Versions", [])
    keys = [v["Key"] for v in versions]
    assert sorted(keys) == sorted(expected_keys(h, day, truth))  # one version per key, nothing else
    assert not h.s3.list_multipart_uploads(Bucket=h.bucket).get("Uploads")
    earliest = archived_after.replace(microsecond=0) + timedelta(days=30) - timedelta(seconds=1)
    latest = datetime.now(UTC) + timedelta(days=30)
    with h.sessions() as session:
        rows = {r.object_key: r for r in session.scalars(select(ArchiveManifestEntry))}
    for key in keys:
        head = h.s3.head_object(Bucket=h.bucket, Key=key)
        row = rows[key]
        assert head["ObjectLockMode"] == "GOVERNANCE"
        until = head["ObjectLockRetainUntilDate"]
        assert earliest <= until <= latest, (key, until)
        assert row.retain_until == until and row.lock_mode == "GOVERNANCE"
        body = h.s3.get_object(Bucket=h.bucket, Key=key)["Body"].read()
        digest = hashlib.sha256(body).hexdigest()
        assert head["Metadata"]["sha256"] == digest == row.sha256
        assert row.size == len(body) and row.version_id == head["VersionId"]
        if row.kind == "recording":
            assert row.drive_sha256 == digest and row.drive_size == len(body)
        if row.kind == "transcript_text":
            assert body.decode("utf-8-sig").startswith(
                h.meeting(row.meeting_id).meeting_code or "?"
            )
    entries = [k for k in keys if k.endswith(".entries.json")]
    transcript_mid = day.meetings["transcript"]
    speakers = {
        e["participant"]
        for k in entries
        if transcript_mid in k
        for e in json.loads(h.s3.get_object(Bucket=h.bucket, Key=k)["Body"].read())["entries"]
    }
    assert len(speakers) == 3  # organizer, Ann and the phone dial-in


def state_fingerprint(h: PipelineHarness) -> dict[str, Any]:
    """Every row the pipeline writes, the audit chain head and the S3 versions: equal
    fingerprints mean nothing changed."""
    tables = (
        Meeting,
        Participant,
        ConferenceRecord,
        ConferenceParticipant,
        ParticipantSession,
        ArchiveManifestEntry,
    )
    fingerprint: dict[str, Any] = {}
    with h.sessions() as session:
        for model in tables:
            columns = [c.key for c in model.__table__.columns]
            fingerprint[model.__tablename__] = sorted(
                tuple(str(getattr(row, c)) for c in columns)
                for row in session.scalars(select(model))
            )
        fingerprint["audit"] = session.execute(
            select(func.count(), func.max(AuditEvent.seq)).select_from(AuditEvent)
        ).one()
    fingerprint["s3"] = sorted(
        (v["Key"], v["VersionId"], v["ETag"])
        for v in h.s3.list_object_versions(Bucket=h.bucket).get("Versions", [])
    )
    fingerprint["uploads"] = h.s3.list_multipart_uploads(Bucket=h.bucket).get("Uploads", [])
    return fingerprint


def parse(moment: str) -> datetime:
    value = parse_time(moment)
    assert value is not None
    return value
