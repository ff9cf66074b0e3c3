"""Sensor ticks stay small: Google is asked about active meetings only, never history; a
tick looks at a bounded batch and the JSON cursor carries the round robin; Google
failures in a tick are logged and retried by the next one."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
from sqlalchemy import select

from meet_core.db.models import (
    ArchiveManifestEntry,
    ArtifactKind,
    ManifestState,
    Meeting,
    MeetingStatus,
)
from meet_sandbox.emulator import SandboxClient
from meet_sandbox.pipeline_harness import ORGANIZER, PipelineHarness
from tests.pipeline.conftest import HarnessFactory

CONFERENCE_LIST = "meet.conferenceRecords.list"
PARTICIPANT_LIST = "meet.conferenceRecords.participants.list"


def calls(people: SandboxClient, method_id: str) -> int:
    return sum(1 for r in people.requests() if r["method_id"] == method_id)


def add_history(h: PipelineHarness, count: int) -> None:
    """Meetings of past days in every settled state, with archived artifacts."""
    now = h.now()
    for number in range(count):
        start = now - timedelta(days=2 + number % 20, hours=1)
        status = (MeetingStatus.FINISHED, MeetingStatus.NOT_HELD, MeetingStatus.CANCELLED)[
            number % 3
        ]
        meeting_id = h.add_meeting(
            f"OLD-{number}", start=start, end=start + timedelta(hours=1), guests=[]
        )
        with h.sessions.begin() as session:
            meeting = session.get(Meeting, meeting_id)
            assert meeting is not None
            meeting.status, meeting.space_name = status, f"spaces/old{number:04d}"
            if status == MeetingStatus.FINISHED:
                session.add(
                    ArchiveManifestEntry(
                        artifact_name=f"conferenceRecords/old{number}/recordings/r1",
                        kind=ArtifactKind.RECORDING,
                        meeting_id=meeting_id,
                        conference_record_name=f"conferenceRecords/old{number}",
                        partition_date=start.strftime("%Y-%m-%d"),
                        google_state="FILE_GENERATED",
                        state=ManifestState.ARCHIVED,
                        attempts=1,
                        legal_hold=False,
                        artifact_start_time=start,
                    )
                )


def test_google_is_asked_about_active_meetings_only(
    harness: PipelineHarness, people: SandboxClient
) -> None:
    add_history(harness, 30)
    t0 = harness.now()
    active = harness.add_meeting(
        "NOW-1", start=t0 - timedelta(minutes=1), end=t0 + timedelta(minutes=30), guests=[]
    )
    later = harness.add_meeting(
        "LATER-1", start=t0 + timedelta(days=2), end=t0 + timedelta(days=2, hours=1), guests=[]
    )
    harness.tick("provisioning_sensor")
    assert harness.meeting(later).status == "scheduled"
    people.join(harness.space(active), ORGANIZER, display_name="Olga Organizer")
    people.call("DELETE", "requests")

    harness.tick("conference_sensor")
    assert harness.cursor("conference_sensor")["watched"] == 1
    assert calls(people, CONFERENCE_LIST) == 1  # not the 30 old ones, not tomorrow's
    assert harness.meeting(active).status == "in_progress"

    people.leave(harness.space(active), ORGANIZER)
    harness.advance(1)
    harness.tick("conference_sensor")  # ended: attendance read once more, after the end
    assert harness.meeting(active).status == "in_progress"  # within the rejoin gap
    people.call("DELETE", "requests")
    harness.tick("conference_sensor")
    assert calls(people, CONFERENCE_LIST) == 1
    assert calls(people, PARTICIPANT_LIST) == 0  # final attendance is not fetched again


def test_a_tick_is_bounded_and_the_cursor_goes_round(
    harness_factory: HarnessFactory, people: SandboxClient
) -> None:
    h = harness_factory(env={"MEET_SENSOR_MEETINGS_PER_TICK": "2"})
    t0 = h.now()
    ids = sorted(
        h.add_meeting(f"RR-{n}", start=t0, end=t0 + timedelta(minutes=30), guests=[])
        for n in range(5)
    )
    h.tick("provisioning_sensor")
    people.call("DELETE", "requests")
    seen: list[str | None] = []
    for tick in range(3):
        h.tick("conference_sensor")
        cursor = h.cursor("conference_sensor")
        assert cursor["looked"] == 2 and cursor["watched"] == 5
        seen.append(cursor["after"])
        if tick == 1:
            assert calls(people, CONFERENCE_LIST) == 4  # four different meetings in two ticks
    assert seen == [ids[1], ids[3], ids[0]]  # the third tick took ids[4], then wrapped to ids[0]


def test_google_failures_in_a_tick_are_logged_and_retried_next_tick(
    harness_factory: HarnessFactory, people: SandboxClient
) -> None:
    h = harness_factory(google={"deadline_seconds": 1})
    t0 = h.now()
    meeting_id = h.add_meeting("FAULT-1", start=t0, end=t0 + timedelta(minutes=30), guests=[])
    people.faults(kinds=["503"], apis=["calendar"])
    h.tick("provisioning_sensor")
    pending = h.meeting(meeting_id)
    assert pending.status == "pending" and "GoogleUnavailable" in (pending.last_error or "")
    assert h.cursor("provisioning_sensor")["pending"] == 1
    people.clear_faults()
    h.advance(5)  # past the provisioning backoff
    h.tick("provisioning_sensor")
    assert h.meeting(meeting_id).status == "scheduled"

    people.join(h.space(meeting_id), ORGANIZER, display_name="Olga Organizer")
    people.faults(kinds=["500", "reset"], apis=["meet"])
    h.tick("conference_sensor")
    assert h.cursor("conference_sensor")["errors"] == 1
    assert h.meeting(meeting_id).status == "scheduled"
    people.clear_faults()
    h.tick("conference_sensor")
    assert h.cursor("conference_sensor")["errors"] == 0
    assert h.meeting(meeting_id).status == "in_progress"
    with h.sessions() as session:
        assert (
            session.scalars(select(Meeting.status).where(Meeting.id == meeting_id)).one()
            == "in_progress"
        )


def test_what_a_tick_changes_shows_as_the_days_materialization(
    harness: PipelineHarness, people: SandboxClient
) -> None:
    """The lineage is not "0 % filled" after the sensor did the work: each day a tick changed
    gets a runless materialization of conference_records and attendance, with counts."""
    t0 = harness.now()
    meeting = harness.add_meeting(
        "LINEAGE-1", start=t0 - timedelta(minutes=1), end=t0 + timedelta(minutes=30), guests=[]
    )
    day = harness.meeting(meeting).start_time.strftime("%Y-%m-%d")
    harness.tick("provisioning_sensor")
    people.join(harness.space(meeting), ORGANIZER, display_name="Olga Organizer")

    result = harness.tick("conference_sensor")  # scheduled → in_progress

    by_asset = {e.asset_key.to_user_string(): e for e in result.asset_events}
    assert set(by_asset) == {"conference_records", "attendance"}
    assert {e.partition for e in by_asset.values()} == {day}
    records = {k: v.value for k, v in by_asset["conference_records"].metadata.items()}
    assert (records["meetings_changed"], records["transitions"], records["participants"]) == (1, 1, 1)
    assert by_asset["attendance"].metadata["meetings"].value == 1
    for key in ("conference_records", "attendance"):
        stored = harness.instance.get_latest_materialization_event(dg.AssetKey(key))
        assert stored is not None and stored.asset_materialization is not None
        assert stored.asset_materialization.partition == day
