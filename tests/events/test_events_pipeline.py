"""Events mode end to end: the emulator's Workspace Events and Pub/Sub, moto S3 over HTTP,
both databases, sensors ticked as the daemon does.

* Lost events: with 30 % of events never published and 20 % duplicated, every recording is
  archived exactly once (the backstop finds the rest and counts it) and the compliance
  ledger's verdicts are those of the run without loss (tests/compliance).
* A sensor killed between the commit and the acknowledgement: Pub/Sub redelivers, the
  redelivery is deduplicated.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from meet_core.db.models import ArchiveManifestEntry, LedgerEntry, Meeting, ReceivedEvent
from meet_core.events.intake import pull_and_store
from meet_core.events.setup import setup
from meet_core.events.subscriptions import keep_subscriptions
from meet_sandbox.pipeline_harness import PipelineHarness
from tests.compliance.test_ledger_on_pipeline_day import EXPECTED, judge
from tests.pipeline.conftest import *  # noqa: F403 - the pipeline's fixtures, reused as they are
from tests.pipeline.conftest import HarnessFactory
from tests.pipeline.scenario import (
    EXPECTED_OBJECTS,
    EXPECTED_STATUS,
    Day,
    check_s3,
    google_truth,
    play_day,
    schedule_day,
)


class SensorKilled(BaseException):
    """Like the process dying: nothing catches it on the way out."""


EVENTS_ENV = {
    "MEET_INGESTION": "events",
    "MEET_EVENTS_TOPIC": "projects/events-tests/topics/meet-events",
    "MEET_EVENTS_SUBSCRIPTION": "projects/events-tests/subscriptions/meet-pipeline",
}


def events_harness(harness_factory: HarnessFactory) -> PipelineHarness:
    harness = harness_factory(env=EVENTS_ENV)
    settings = harness.settings
    assert settings.events_topic and settings.events_subscription
    setup(harness.gateway, topic=settings.events_topic, subscription=settings.events_subscription)
    outcome = keep_subscriptions(
        harness.gateway,
        harness.sessions,
        topic=settings.events_topic,
        default_subject=settings.google_subject,
        now=harness.now(),
    )
    assert outcome.created == 1 and not outcome.errors
    return harness


def run_events_until_settled(harness: PipelineHarness, day: Day, *, minutes: int = 50) -> None:
    """Minute by minute as the daemon ticks, past every meeting's end plus the artifact wait."""
    for _ in range(minutes):
        harness.advance(1)
        harness.tick("provisioning_sensor")
        harness.tick("events_sensor")
        harness.tick("conference_sensor")
        harness.archive_ready(raise_on_error=False)
    for _ in range(4):  # what the last ticks asked for
        harness.tick("events_sensor")
        if not harness.archive_ready(raise_on_error=False):
            break


def check_archived_once(harness: PipelineHarness, day: Day) -> None:
    truth = google_truth(harness, day)
    with harness.sessions() as session:
        for label, mid in day.meetings.items():
            meeting = session.get(Meeting, mid)
            assert meeting is not None and meeting.status == EXPECTED_STATUS[label], label
            rows = session.scalars(
                select(ArchiveManifestEntry).where(ArchiveManifestEntry.meeting_id == mid)
            ).all()
            assert Counter(r.kind for r in rows) == Counter(EXPECTED_OBJECTS[label]), label
            assert {r.artifact_name for r in rows if r.kind == "recording"} == truth[label]["recordings"]
            assert all(r.state == "archived" for r in rows), label
    check_s3(harness, day, truth, archived_after=day.t0 - timedelta(days=1))


def test_lost_and_duplicated_events_still_archive_every_recording_once(
    harness_factory: HarnessFactory,
) -> None:
    harness = events_harness(harness_factory)
    harness.people.settings(event_drop_rate=0.3, event_duplicate_rate=0.2, event_seed=14)
    day = schedule_day(harness)
    play_day(harness, day)
    run_events_until_settled(harness, day)
    check_archived_once(harness, day)
    with harness.sessions() as session:
        received = session.scalar(
            select(func.count()).where(ReceivedEvent.origin == "pubsub")
        )
        lost = session.scalar(select(func.count()).where(ReceivedEvent.origin == "backstop"))
        duplicates = session.scalar(
            select(func.count()).where(ReceivedEvent.deliveries > 1)
        )
    emitted = harness.people.state()["event_sequence"]  # every event sent, dropped or not
    assert received and received < emitted and duplicates  # some never came, some twice
    assert lost is not None  # what the backstop found that no event announced (often none:
    # another event's read, e.g. the end's, covered most of what was dropped)
    # The ledger judges the same as the run without loss.
    partition = harness.meeting(day.meetings["normal"]).start_time.strftime("%Y-%m-%d")
    harness.advance(181)
    judge(harness, partition)
    with harness.sessions() as session:
        rows = {r.meeting_id: r for r in session.scalars(select(LedgerEntry))}
    differ = []
    for label, expected in EXPECTED.items():
        row = rows[day.meetings[label]]
        if (row.outcome, row.compliance_status, row.violation_reasons) != expected[:3]:
            differ.append(label)
        assert (row.recordings_found, row.recordings_archived) == expected[6], label
        assert (row.transcripts_found, row.transcripts_archived) == expected[7], label
    assert not differ, differ


def test_a_crash_between_commit_and_acknowledge_is_deduplicated(
    harness_factory: HarnessFactory,
) -> None:
    harness = events_harness(harness_factory)
    settings = harness.settings
    assert settings.events_subscription
    day = schedule_day(harness)
    play_day(harness, day)
    harness.advance(2)

    def killed(ack_ids: list[str]) -> None:
        raise SensorKilled("the sensor process dies before the acknowledgement")

    with pytest.raises(SensorKilled):
        pull_and_store(harness.gateway, harness.sessions, settings.events_subscription,
                       now=harness.now, acknowledge=killed)
    with harness.sessions() as session:
        stored = {r.ce_id: r.deliveries for r in session.scalars(select(ReceivedEvent))}
    assert stored and set(stored.values()) == {1}
    harness.advance(2)  # past the ack deadline: Pub/Sub redelivers
    again = pull_and_store(harness.gateway, harness.sessions, settings.events_subscription,
                           now=harness.now)
    assert again.duplicates >= len(stored) and again.stored == again.pulled - again.duplicates
    with harness.sessions() as session:
        rows = {r.ce_id: r.deliveries for r in session.scalars(select(ReceivedEvent))}
    assert all(rows[ce_id] == 2 for ce_id in stored)  # stored once, delivered twice
    run_events_until_settled(harness, day)
    check_archived_once(harness, day)
