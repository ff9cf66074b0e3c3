"""The meeting state rules, driven directly with the times and facts they decide on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meet_core.db.models import AttendeeKind, MeetingStatus
from meet_core.meetings_state import (
    ConferenceFacts,
    ConferenceSpan,
    Interval,
    Invitee,
    WindowPolicy,
    attended_seconds,
    attendee_kind,
    first_join,
    is_watched,
    last_leave,
    match_invitee,
    next_status,
)

START = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
POLICY = WindowPolicy(
    lead=timedelta(minutes=15), grace=timedelta(minutes=30), rejoin_gap=timedelta(minutes=10)
)
NOTHING = ConferenceFacts.from_spans([])


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def decide(current: str, facts: ConferenceFacts, now: datetime) -> MeetingStatus | None:
    return next_status(current, start=START, end=END, facts=facts, now=now, policy=POLICY)


def test_a_running_conference_moves_a_scheduled_meeting_in_progress_once() -> None:
    running = ConferenceFacts.from_spans([ConferenceSpan(at(-5), None)])
    assert decide(MeetingStatus.SCHEDULED, running, at(0)) == MeetingStatus.IN_PROGRESS
    assert decide(MeetingStatus.IN_PROGRESS, running, at(30)) is None


def test_finished_at_the_scheduled_end_or_after_the_rejoin_gap_whichever_first() -> None:
    ended_early = ConferenceFacts.from_spans([ConferenceSpan(at(0), at(20))])
    assert decide(MeetingStatus.IN_PROGRESS, ended_early, at(25)) is None  # may still rejoin
    assert decide(MeetingStatus.IN_PROGRESS, ended_early, at(30)) == MeetingStatus.FINISHED
    ended_late = ConferenceFacts.from_spans([ConferenceSpan(at(0), at(75))])
    assert decide(MeetingStatus.IN_PROGRESS, ended_late, at(76)) == MeetingStatus.FINISHED


def test_a_whole_conference_between_two_looks_finishes_a_scheduled_meeting() -> None:
    whole = ConferenceFacts.from_spans([ConferenceSpan(at(0), at(50))])
    assert decide(MeetingStatus.SCHEDULED, whole, at(70)) == MeetingStatus.FINISHED
    assert decide(MeetingStatus.SCHEDULED, whole, at(52)) == MeetingStatus.IN_PROGRESS


def test_a_rejoin_after_a_drop_keeps_the_meeting_running() -> None:
    dropped_and_back = ConferenceFacts.from_spans(
        [ConferenceSpan(at(0), at(10)), ConferenceSpan(at(12), None)]
    )
    assert dropped_and_back.held and dropped_and_back.active
    assert decide(MeetingStatus.IN_PROGRESS, dropped_and_back, at(40)) is None


def test_no_conference_is_not_held_only_after_end_plus_grace() -> None:
    assert decide(MeetingStatus.SCHEDULED, NOTHING, at(60 + 29)) is None
    assert decide(MeetingStatus.SCHEDULED, NOTHING, at(60 + 30)) == MeetingStatus.NOT_HELD


@pytest.mark.parametrize(
    "status",
    [
        MeetingStatus.PENDING,
        MeetingStatus.CANCELLED,
        MeetingStatus.FAILED,
        MeetingStatus.NOT_HELD,
        MeetingStatus.FINISHED,
    ],
)
def test_settled_or_unprovisioned_meetings_never_move(status: MeetingStatus) -> None:
    running = ConferenceFacts.from_spans([ConferenceSpan(at(0), None)])
    assert decide(status, running, at(10)) is None
    assert decide(status, NOTHING, at(600)) is None


def test_watched_from_the_lead_time_until_decided() -> None:
    assert not is_watched(MeetingStatus.SCHEDULED, start=START, now=at(-16), policy=POLICY)
    assert is_watched(MeetingStatus.SCHEDULED, start=START, now=at(-15), policy=POLICY)
    assert is_watched(MeetingStatus.SCHEDULED, start=START, now=at(600), policy=POLICY)
    assert is_watched(MeetingStatus.IN_PROGRESS, start=START, now=at(-60), policy=POLICY)
    for settled in (MeetingStatus.FINISHED, MeetingStatus.CANCELLED, MeetingStatus.PENDING):
        assert not is_watched(settled, start=START, now=at(0), policy=POLICY)


def test_negative_policy_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="grace"):
        WindowPolicy(grace=timedelta(minutes=-1))


def test_attended_seconds_counts_overlapping_sessions_once_and_open_ones_until_now() -> None:
    sessions = [Interval(at(0), at(10)), Interval(at(5), at(15)), Interval(at(30), None)]
    assert attended_seconds(sessions, now=at(40)) == (15 + 10) * 60
    assert first_join(sessions) == at(0)
    assert last_leave(sessions) is None
    closed = [Interval(at(0), at(10)), Interval(at(20), at(25))]
    assert attended_seconds(closed, now=at(99)) == 15 * 60
    assert last_leave(closed) == at(25)
    assert attended_seconds([], now=at(0)) == 0 and first_join([]) is None


@pytest.mark.parametrize(
    ("kind", "email", "expected"),
    [
        ("signed_in", "ann@example.com", AttendeeKind.INTERNAL),
        ("signed_in", "Bob@EXAMPLE.com", AttendeeKind.INTERNAL),
        ("signed_in", "carl@partner.org", AttendeeKind.EXTERNAL),
        ("signed_in", None, AttendeeKind.EXTERNAL),
        ("anonymous", None, AttendeeKind.ANONYMOUS),
        ("phone", None, AttendeeKind.PHONE),
    ],
)
def test_attendee_kinds(kind: str, email: str | None, expected: AttendeeKind) -> None:
    assert attendee_kind(kind, email, "example.com") == expected


def test_invitees_are_matched_by_email_else_by_a_unique_display_name() -> None:
    invitees = [
        Invitee("ann@example.com", "Ann Lee"),
        Invitee("bob@partner.org", "Bob Stone"),
        Invitee("bo1@example.com", "Sam Twin"),
        Invitee("bo2@example.com", "Sam Twin"),
    ]
    assert match_invitee("ANN@example.com", "whoever", invitees) == (invitees[0], "email")
    # Nobody could resolve them: the display name, when exactly one invitee has it.
    assert match_invitee(None, "  bob   STONE ", invitees) == (invitees[1], "display_name")
    assert match_invitee(None, "Sam Twin", invitees) == (None, None)  # ambiguous
    # A resolved namesake is not the invitee: Ann Lee (ann.lee@) is not Ann Lee (ann@).
    assert match_invitee("ann.lee@example.com", "Ann Lee", invitees) == (None, None)
    assert match_invitee(None, None, invitees) == (None, None)
