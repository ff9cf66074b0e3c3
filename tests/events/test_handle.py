"""handle_pending: the least Google work per event, in any order, and what the backstop
counts as unannounced (both engines). Google is a recording stand-in here: this is the unit
test of the handling function; the emulator-backed tests are in test_events_emulator.py."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.db.models import (
    ArchiveManifestEntry,
    BackstopLook,
    ConferenceRecord,
    Meeting,
    ReceivedEvent,
)
from meet_core.events import cloudevents as ce
from meet_core.events.backstop import (
    look,
    record_unannounced,
    settle_statuses,
    settled_record_names,
    unannounced,
)
from meet_core.events.cloudevents import WorkspaceEvent
from meet_core.events.handle import handle_pending
from meet_core.events.intake import store_events
from meet_core.google.types import (
    MeetConferenceRecord,
    MeetParticipant,
    MeetParticipantSession,
    Recording,
    Transcript,
)
from meet_core.harvest.apply import apply_snapshot, complete_record_names
from meet_core.harvest.snapshot import MeetingSnapshot, MeetingTarget, RecordSnapshot, fetch_snapshot
from meet_core.meetings_state import WindowPolicy
from tests.events.helpers import add_meeting

START = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
POLICY = WindowPolicy(
    lead=timedelta(minutes=15),
    grace=timedelta(minutes=30),
    rejoin_gap=timedelta(minutes=10),
    artifact_wait=timedelta(minutes=120),
)
RECORD = "conferenceRecords/rec-1"
RECORDING = RECORD + "/recordings/r-1"
TRANSCRIPT = RECORD + "/transcripts/t-1"


class StubGoogle:
    """Answers the reads handle_pending makes and counts them."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.ended: datetime | None = None
        self.generated = False  # Google's state never goes back: FILE_GENERATED once made

    def get_conference_record(self, name: str, *, subject: str) -> MeetConferenceRecord:
        self.calls["records.get"] += 1
        return MeetConferenceRecord(name, "spaces/m1", START, self.ended, None)

    def list_participants(self, name: str, *, subject: str) -> list[MeetParticipant]:
        self.calls["participants.list"] += 1
        return [
            MeetParticipant(
                f"{name}/participants/p{i}", "signed_in", f"users/{i}", f"P {i}", None,
                START, self.ended,
            )
            for i in range(3)
        ]

    def list_participant_sessions(self, name: str, *, subject: str) -> list[MeetParticipantSession]:
        self.calls["sessions.list"] += 1
        return [MeetParticipantSession(f"{name}/participantSessions/s", START, self.ended)]

    def list_recordings(self, name: str, *, subject: str) -> list[Recording]:
        self.calls["recordings.list"] += 1
        if self.generated:
            return [Recording(RECORDING, "FILE_GENERATED", START, self.ended, "drive-file-1", None)]
        return [Recording(RECORDING, "ENDED", START, self.ended, None, None)]

    def list_transcripts(self, name: str, *, subject: str) -> list[Transcript]:
        self.calls["transcripts.list"] += 1
        return []

    def get_person(self, user: str, *, subject: str | None = None) -> None:
        return None  # nobody resolvable: attendance by display name

    def get_directory_user(self, user: str, *, subject: str | None = None) -> None:
        return None

    def get_recording(self, name: str, *, subject: str) -> Recording:
        self.calls["recordings.get"] += 1
        self.generated = True
        return Recording(name, "FILE_GENERATED", START, self.ended, "drive-file-1", None)


def event(ce_id: str, kind: str, resource: str) -> WorkspaceEvent:
    return WorkspaceEvent(
        ce_id=ce_id, type=kind, source=None, subject="//meet.googleapis.com/spaces/m1",
        time=START, resource_name=resource,
    )


def deliver(
    sessions: sessionmaker[Session],
    google: StubGoogle,
    *events: WorkspaceEvent,
    at: timedelta = timedelta(minutes=40),
) -> Any:
    with sessions.begin() as session:
        store_events(session, events, now=START)
    return handle_pending(
        google,  # type: ignore[arg-type]
        sessions,
        now=lambda: START + at,
        policy=POLICY,
    )


def test_each_event_costs_only_its_own_reads(fresh_sessions: sessionmaker[Session]) -> None:
    add_meeting(fresh_sessions, "m1", "organizer@example.com", START, "scheduled")
    google = StubGoogle()
    deliver(fresh_sessions, google, event("1", ce.CONFERENCE_STARTED, RECORD))
    assert not google.calls  # the record comes from the event itself
    with fresh_sessions() as session:
        assert session.get(Meeting, "m1").status == "in_progress"  # type: ignore[union-attr]
        assert session.scalars(select(ConferenceRecord.name)).one() == RECORD
    joins = [
        event(f"j{i}", ce.PARTICIPANT_JOINED, f"{RECORD}/participants/p{i}/participantSessions/s")
        for i in range(20)
    ]
    outcome = deliver(fresh_sessions, google, *joins)
    assert outcome.handled == outcome.ignored == 0 and not google.calls  # nothing per join
    with fresh_sessions() as session:  # stored already ignored: they never queue
        joined = session.scalars(
            select(ReceivedEvent.state).where(ReceivedEvent.event_type == ce.PARTICIPANT_JOINED)
        ).all()
        assert len(joined) == 20 and set(joined) == {"ignored"}
    google.ended = START + timedelta(minutes=30)
    deliver(fresh_sessions, google, event("2", ce.CONFERENCE_ENDED, RECORD))
    # the record, its 3 participants' sessions, recordings and transcripts: once
    assert google.calls == {
        "records.get": 1, "participants.list": 1, "sessions.list": 3,
        "recordings.list": 1, "transcripts.list": 1,
    }
    deliver(fresh_sessions, google, event("3", ce.RECORDING_GENERATED, RECORDING))
    assert google.calls["recordings.get"] == 1
    with fresh_sessions() as session:
        row = session.scalars(select(ArchiveManifestEntry)).one()
        assert (row.artifact_name, row.google_state, row.source_id) == (RECORDING, "FILE_GENERATED", "drive-file-1")
        assert {r.state for r in session.scalars(select(ReceivedEvent))} == {"handled", "ignored"}


def test_order_does_not_matter(fresh_sessions: sessionmaker[Session]) -> None:
    add_meeting(fresh_sessions, "m1", "organizer@example.com", START, "scheduled")
    google = StubGoogle()
    google.ended = START + timedelta(minutes=30)
    deliver(fresh_sessions, google, event("3", ce.RECORDING_GENERATED, RECORDING))
    deliver(fresh_sessions, google, event("2", ce.CONFERENCE_ENDED, RECORD))
    deliver(fresh_sessions, google, event("1", ce.CONFERENCE_STARTED, RECORD))
    with fresh_sessions() as session:
        assert session.scalars(select(ArchiveManifestEntry.google_state)).one() == "FILE_GENERATED"
        assert session.scalars(select(ConferenceRecord.end_time)).one() == google.ended
    assert google.calls["records.get"] == 1  # the late start read nothing


def test_events_for_unknown_spaces_are_ignored(fresh_sessions: sessionmaker[Session]) -> None:
    google = StubGoogle()
    outcome = deliver(fresh_sessions, google, event("1", ce.RECORDING_GENERATED, RECORDING))
    assert outcome.ignored == 1 and not google.calls


def test_backstop_counts_only_what_no_event_told(fresh_sessions: sessionmaker[Session]) -> None:
    add_meeting(fresh_sessions, "m1", "organizer@example.com", START, "scheduled")
    google = StubGoogle()
    google.ended = START + timedelta(minutes=30)
    deliver(fresh_sessions, google, event("2", ce.CONFERENCE_ENDED, RECORD))
    with fresh_sessions() as session:
        target = MeetingTarget.of(session.get(Meeting, "m1"))  # type: ignore[arg-type]
    record = MeetConferenceRecord(RECORD, "spaces/m1", START, google.ended, None)
    snapshot = MeetingSnapshot(
        target,
        (RecordSnapshot(
            record, None,
            (Recording(RECORDING, "FILE_GENERATED", START, google.ended, "f", None),),
            (Transcript(TRANSCRIPT, "FILE_GENERATED", START, google.ended, "d", None),),
        ),),
    )
    with fresh_sessions.begin() as session:
        found = unannounced(session, snapshot)
        assert {f.event_type for f in found} == {ce.RECORDING_GENERATED, ce.TRANSCRIPT_GENERATED}
        assert record_unannounced(session, "m1", found, now=START) == 2
        assert record_unannounced(session, "m1", found, now=START) == 0  # once
    with fresh_sessions() as session:
        lost = session.scalars(select(ReceivedEvent).where(ReceivedEvent.origin == "backstop")).all()
        assert len(lost) == 2


def test_ended_meetings_settle_without_google(fresh_sessions: sessionmaker[Session]) -> None:
    add_meeting(fresh_sessions, "m1", "organizer@example.com", START, "scheduled")
    google = StubGoogle()
    deliver(fresh_sessions, google, event("1", ce.CONFERENCE_STARTED, RECORD), at=timedelta(minutes=5))
    google.ended = START + timedelta(minutes=20)
    deliver(fresh_sessions, google, event("2", ce.CONFERENCE_ENDED, RECORD), at=timedelta(minutes=21))
    with fresh_sessions() as session:
        assert session.get(Meeting, "m1").status == "in_progress"  # type: ignore[union-attr]
    assert settle_statuses(fresh_sessions, now=START + timedelta(minutes=25), policy=POLICY) == 0
    assert settle_statuses(fresh_sessions, now=START + timedelta(minutes=31), policy=POLICY) == 1
    with fresh_sessions() as session:
        assert session.get(Meeting, "m1").status == "finished"  # type: ignore[union-attr]


class SweptGoogle(StubGoogle):
    """StubGoogle plus what a full look (the backstop's, the daily sweep's) lists."""

    def list_conference_records(self, space: str, *, subject: str | None = None) -> list[MeetConferenceRecord]:
        self.calls["records.list"] += 1
        return [MeetConferenceRecord(RECORD, "spaces/m1", START, self.ended, None)]

    def list_smart_notes(self, name: str, *, subject: str | None = None) -> list[Any]:
        self.calls["smartNotes.list"] += 1
        return []


def sweep(sessions: sessionmaker[Session], google: SweptGoogle, at: timedelta) -> None:
    """What events mode's conference_records asset does for one meeting."""
    with sessions() as session:
        complete = complete_record_names(session, "m1")
        settled = settled_record_names(session, "m1")
    target = MeetingTarget("m1", "spaces/m1", "organizer@example.com", "finished", START, START + timedelta(hours=1))
    snapshot = fetch_snapshot(
        google,  # type: ignore[arg-type]
        target, complete_records=complete, settled_records=settled,
    )
    with sessions.begin() as session:
        apply_snapshot(session, snapshot, now=START + at, policy=POLICY, actor="test")


def test_the_sweep_skips_only_what_is_settled(fresh_sessions: sessionmaker[Session]) -> None:
    """Events mode's daily sweep re-reads neither attendance read after the end nor the
    artifact lists the final backstop look took, unless an artifact is still owed: a file
    slower than the artifact wait whose event was lost is still found."""
    add_meeting(fresh_sessions, "m1", "organizer@example.com", START, "scheduled")
    google = SweptGoogle()
    google.ended = START + timedelta(minutes=30)
    deliver(fresh_sessions, google, event("2", ce.CONFERENCE_ENDED, RECORD))
    after_wait = timedelta(minutes=30 + 125)
    assert look(
        google,  # type: ignore[arg-type]
        fresh_sessions, "m1", now=lambda: START + after_wait, policy=POLICY,
    ) == 0
    with fresh_sessions() as session:
        assert session.get(BackstopLook, "m1").final  # type: ignore[union-attr]
        # the recording is listed but not generated yet: the record is not settled
        assert settled_record_names(session, "m1") == frozenset()
    google.generated = True  # the file comes after the wait; its event is lost
    google.calls.clear()
    sweep(fresh_sessions, google, timedelta(days=1))
    assert google.calls == {"records.list": 1, "recordings.list": 1, "transcripts.list": 1, "smartNotes.list": 1}
    with fresh_sessions() as session:
        row = session.scalars(select(ArchiveManifestEntry)).one()
        assert row.google_state == "FILE_GENERATED"
        assert settled_record_names(session, "m1") == {RECORD}
    google.calls.clear()
    sweep(fresh_sessions, google, timedelta(days=1, minutes=5))
    assert google.calls == {"records.list": 1}  # settled: nothing else is asked for
    with fresh_sessions() as session:
        record = session.scalars(select(ConferenceRecord)).one()
        assert record.recording_count == 1 and record.synced_at >= record.end_time


def test_a_late_started_event_does_not_make_attendance_final(
    fresh_sessions: sessionmaker[Session],
) -> None:
    """The root cause of lost unrecorded time: a record stored after its end without its
    attendance (a late conference.started, its end lost) must stay owed to the next look."""
    add_meeting(fresh_sessions, "m1", "organizer@example.com", START, "scheduled")
    google = SweptGoogle()
    google.ended = START + timedelta(minutes=30)
    target = MeetingTarget("m1", "spaces/m1", "organizer@example.com", "finished", START, START + timedelta(hours=1))
    bare = RecordSnapshot(
        record=MeetConferenceRecord(RECORD, "spaces/m1", START, google.ended, None),
        participants=None, recordings=(), transcripts=(),
    )
    with fresh_sessions.begin() as session:
        apply_snapshot(
            session, MeetingSnapshot(target=target, records=(bare,)),
            now=START + timedelta(minutes=40), policy=POLICY, actor="test",
        )
    with fresh_sessions() as session:
        assert complete_record_names(session, "m1") == frozenset()
    assert look(
        google,  # type: ignore[arg-type]
        fresh_sessions, "m1", now=lambda: START + timedelta(minutes=160), policy=POLICY,
    ) is not None
    assert google.calls["participants.list"] == 1 and google.calls["sessions.list"] == 3
    with fresh_sessions() as session:
        assert complete_record_names(session, "m1") == {RECORD}
