"""Google is not asked about finished meetings that Google has nothing more for: once the
rejoin gap has passed (a tick looked after it) and every record's recording and transcript
are generated, the meeting is dropped; a meeting still owed a file is asked about every
FINISHED_POLL_INTERVAL until ``artifact_wait``, not every tick. What comes after that (a
rejoin, a file generated late) is taken by the daily ``harvest_day`` sweep."""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import select

from meet_core.days import day_of
from meet_core.db.models import (
    ArchiveManifestEntry,
    ConferenceRecord,
    LedgerEntry,
    Participant,
    ViolationReason,
)
from meet_core.harvest.watchlist import FINISHED_POLL_INTERVAL, look_after_gap
from meet_pipeline.defs.compliance.assets import compliance_ledger
from meet_pipeline.defs.compliance.resources import ComplianceResource
from meet_pipeline.policy import SENSOR_INTERVAL_SECONDS
from meet_sandbox.emulator import SandboxClient
from meet_sandbox.pipeline_harness import HARVEST_ASSETS, ORGANIZER, PipelineHarness
from tests.pipeline.conftest import HarnessFactory

CARL = ("carl@partner.org", "Carl Partner")
LOOK_AFTER_GAP = look_after_gap(timedelta(seconds=SENSOR_INTERVAL_SECONDS))
# A shorter artifact wait than the harness's keeps the minute-by-minute ticks few.
WINDOWS = {"MEET_ARTIFACT_WAIT_MINUTES": "15"}


def meet_calls(people: SandboxClient) -> int:
    return sum(1 for r in people.requests() if r["api"] == "meet")


def held_meeting(
    h: PipelineHarness,
    external_id: str,
    *,
    who: tuple[str, str] = (ORGANIZER, "Olga Organizer"),
    transcription: bool = True,
) -> tuple[str, datetime]:
    """A meeting scheduled for 10 minutes and held for 3 by ``who``; returns its id and when
    the conference ended. Ticks once a minute while it runs, as the daemon does."""
    t0 = h.now()
    meeting_id = h.add_meeting(
        external_id, start=t0 - timedelta(minutes=1), end=t0 + timedelta(minutes=10), guests=[CARL]
    )
    h.tick("provisioning_sensor")
    space = h.space(meeting_id)
    if not transcription:
        h.gateway.enable_auto_artifacts(space, subject=ORGANIZER, auto_transcription=False)
    h.people.join(space, who[0], display_name=who[1])
    for _ in range(3):
        h.tick("conference_sensor")
        h.advance(1)
    h.people.leave(space, who[0])  # the conference ends (nobody left)
    return meeting_id, h.now()


def tick_every_minute(
    h: PipelineHarness, until: datetime, every: int = 1
) -> list[tuple[datetime, int, int]]:
    """(time, meetings looked at, Meet calls) of each conference-sensor tick, one a minute
    (or ``every`` minutes), at half minutes so no tick falls on a boundary."""
    h.advance(0.5)
    ticks = []
    while h.now() < until:
        h.people.call("DELETE", "requests")
        now = h.now()
        h.tick("conference_sensor")
        ticks.append((now, h.cursor("conference_sensor")["looked"], meet_calls(h.people)))
        h.advance(every)
    return ticks


def test_a_finished_meeting_with_every_file_generated_is_dropped_after_the_rejoin_gap(
    harness_factory: HarnessFactory,
) -> None:
    h = harness_factory(env=WINDOWS)
    meeting_id, ended = held_meeting(h, "DONE-1")
    gap, wait = h.pipeline.window.rejoin_gap, h.pipeline.window.artifact_wait
    scheduled_end = h.meeting(meeting_id).end_time

    ticks = tick_every_minute(h, scheduled_end + wait + timedelta(minutes=5))

    assert h.meeting(meeting_id).status == "finished"
    settled = ended + gap + LOOK_AFTER_GAP
    looked = [now for now, count, _ in ticks if count]
    assert looked == [now for now, _, _ in ticks if now < settled]
    assert any(now >= ended + gap for now in looked)  # a look after the gap saw no rejoin
    dropped = [(now, calls) for now, _, calls in ticks if now >= settled]
    assert len(dropped) >= 15 and sum(calls for _, calls in dropped) == 0
    with h.sessions() as session:
        rows = session.scalars(
            select(ArchiveManifestEntry).where(ArchiveManifestEntry.meeting_id == meeting_id)
        ).all()
    assert sorted(r.kind for r in rows) == ["recording", "transcript_entries", "transcript_text"]
    assert {r.google_state for r in rows} == {"FILE_GENERATED"}  # handed to the archive


@pytest.mark.parametrize("owed", ["recording", "transcript"])
def test_a_finished_meeting_owed_a_file_is_polled_every_few_minutes_until_artifact_wait(
    harness_factory: HarnessFactory, owed: str
) -> None:
    h = harness_factory(env=WINDOWS)
    if owed == "recording":  # only an external guest: Meet records nothing
        meeting_id, ended = held_meeting(h, "OWED-R", who=CARL)
    else:  # transcription off: the transcript may still come later
        meeting_id, ended = held_meeting(h, "OWED-T", transcription=False)
    gap, wait = h.pipeline.window.rejoin_gap, h.pipeline.window.artifact_wait
    window_end = h.meeting(meeting_id).end_time + wait

    ticks = tick_every_minute(h, window_end + timedelta(minutes=10))

    settled = ended + gap + LOOK_AFTER_GAP
    backed_off = [now for now, count, _ in ticks if count and settled <= now]
    assert backed_off[-1] > window_end - FINISHED_POLL_INTERVAL  # watched until artifact_wait
    spacing = [b - a for a, b in zip(backed_off, backed_off[1:], strict=False)]
    assert all(
        FINISHED_POLL_INTERVAL <= d < FINISHED_POLL_INTERVAL + timedelta(minutes=1) for d in spacing
    )
    assert len(backed_off) >= 3
    assert sum(calls for now, _, calls in ticks if now > window_end) == 0

    if owed == "recording":  # the ledger still finds it held without a recording
        h.advance(181)
        resources = {**h.resources, "compliance": ComplianceResource()}
        partition = day_of(h.meeting(meeting_id).start_time)
        dg.materialize([compliance_ledger], partition_key=partition, resources=resources)
        with h.sessions() as session:
            row = session.scalars(
                select(LedgerEntry).where(LedgerEntry.meeting_id == meeting_id)
            ).one()
        assert row.violation_reasons == ViolationReason.HELD_WITHOUT_RECORDING.value


def test_the_daily_sweep_takes_a_rejoin_after_the_meeting_was_dropped(
    harness_factory: HarnessFactory,
) -> None:
    h = harness_factory(env=WINDOWS)
    meeting_id, ended = held_meeting(h, "REJOIN-1")
    gap = h.pipeline.window.rejoin_gap
    tick_every_minute(h, ended + gap + LOOK_AFTER_GAP + timedelta(minutes=2))
    space = h.space(meeting_id)
    h.people.join(space, ORGANIZER, display_name="Olga Organizer")  # the organizer is back
    h.advance(4)
    h.people.leave(space, ORGANIZER)
    h.advance(2)  # files generated

    h.people.call("DELETE", "requests")
    h.tick("conference_sensor")
    assert h.cursor("conference_sensor")["watched"] == 0 and meet_calls(h.people) == 0
    with h.sessions() as session:
        assert (
            len(
                session.scalars(
                    select(ConferenceRecord).where(ConferenceRecord.meeting_id == meeting_id)
                ).all()
            )
            == 1
        )

    h.materialize(HARVEST_ASSETS, day_of(h.meeting(meeting_id).start_time))  # harvest_day

    with h.sessions() as session:
        records = session.scalars(
            select(ConferenceRecord).where(ConferenceRecord.meeting_id == meeting_id)
        ).all()
        rows = session.scalars(
            select(ArchiveManifestEntry).where(ArchiveManifestEntry.meeting_id == meeting_id)
        ).all()
        organizer = session.scalars(
            select(Participant).where(
                Participant.meeting_id == meeting_id, Participant.email == ORGANIZER
            )
        ).one()
    assert len(records) == 2
    assert sorted(r.conference_record_name for r in rows) == sorted(
        [r.name for r in records for _ in range(3)]  # a recording, a transcript, its entries each
    )
    assert {r.google_state for r in rows} == {"FILE_GENERATED"}
    assert 7 * 60 <= (organizer.attended_seconds or 0) < 8 * 60  # 3 + 4 minutes: both sessions
    h.archive_ready()
    with h.sessions() as session:
        assert {
            r.state
            for r in session.scalars(
                select(ArchiveManifestEntry).where(ArchiveManifestEntry.meeting_id == meeting_id)
            )
        } == {"archived"}


def test_the_daily_sweep_takes_a_file_google_generates_after_artifact_wait(
    harness_factory: HarnessFactory, people: SandboxClient
) -> None:
    h = harness_factory(env=WINDOWS)
    people.settings(recording_ready_delay_seconds=4 * 3600.0)
    meeting_id, ended = held_meeting(h, "LATE-FILE")
    window_end = h.meeting(meeting_id).end_time + h.pipeline.window.artifact_wait
    tick_every_minute(h, window_end + timedelta(minutes=1), every=5)
    h.advance(4 * 60)  # Google generates the recording; no conference-sensor tick sees it

    h.materialize(HARVEST_ASSETS, day_of(h.meeting(meeting_id).start_time))  # harvest_day

    with h.sessions() as session:
        recording = session.scalars(
            select(ArchiveManifestEntry).where(
                ArchiveManifestEntry.meeting_id == meeting_id,
                ArchiveManifestEntry.kind == "recording",
            )
        ).one()
    assert recording.google_state == "FILE_GENERATED"
    h.archive_ready()
    with h.sessions() as session:
        assert {
            r.state
            for r in session.scalars(
                select(ArchiveManifestEntry).where(ArchiveManifestEntry.meeting_id == meeting_id)
            )
        } == {"archived"}
    h.people.call("DELETE", "requests")
    h.tick("conference_sensor")
    assert h.cursor("conference_sensor")["watched"] == 0 and meet_calls(h.people) == 0
