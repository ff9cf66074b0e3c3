"""Recording coverage as a plain function: presence minus recording, per conference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meet_core.compliance.coverage import (
    Coverage,
    PresenceSpan,
    RecordingSpan,
    coverage_of,
    describe_gaps,
    gaps_as_json,
    subtract,
    union,
)

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=5)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def here(who: str, start: float, end: float | None, conference: str = "c1") -> PresenceSpan:
    return PresenceSpan(conference, who, at(start), at(end) if end is not None else None)


def rec(start: float | None, end: float | None, conference: str = "c1") -> RecordingSpan:
    return RecordingSpan(
        conference,
        at(start) if start is not None else None,
        at(end) if end is not None else None,
    )


def cover(presence: list[PresenceSpan], recordings: list[RecordingSpan], **kw: object) -> Coverage:
    return coverage_of(presence, recordings, now=kw.pop("now", NOW), **kw)  # type: ignore[arg-type]


def test_union_and_subtract() -> None:
    spans = union([(at(10), at(20)), (at(0), at(5)), (at(5), at(7)), (at(15), at(25))])
    assert spans == [(at(0), at(7)), (at(10), at(25))]
    assert subtract(spans, [(at(3), at(12)), (at(20), at(30))]) == [
        (at(0), at(3)),
        (at(12), at(20)),
    ]


def test_late_host_leaves_the_first_fifteen_minutes_unrecorded() -> None:
    result = cover(
        [here("guest@partner.example", 0, 30), here("host@example.com", 15, 30)],
        [rec(15, 30)],
    )
    assert (result.present_seconds, result.recorded_seconds, result.unrecorded_seconds) == (
        1800,
        900,
        900,
    )
    assert result.coverage == 0.5
    (gap,) = result.gaps
    assert (gap.start, gap.end, gap.participants) == (at(0), at(15), ("guest@partner.example",))
    assert gaps_as_json(result) == [
        {"start": "2025-06-02T09:00:00Z", "end": "2025-06-02T09:15:00Z"}
    ]
    detail = describe_gaps(result)
    assert "900 s of 1800 s" in detail
    assert "2025-06-02 09:00:00–2025-06-02 09:15:00 UTC" in detail
    assert "guest@partner.example" in detail


def test_paused_recording_leaves_ten_minutes_unrecorded() -> None:
    result = cover([here("host@example.com", 0, 30)], [rec(0, 5), rec(15, 30)])
    assert result.unrecorded_seconds == 600
    assert result.recorded_seconds == 1200
    assert [(g.start, g.end) for g in result.gaps] == [(at(5), at(15))]


def test_gaps_shorter_than_the_tolerance_are_ignored() -> None:
    # The recording starts 40 s after the first join: not a finding at 60 s tolerance.
    result = cover([here("a", 0, 30)], [rec(40 / 60, 30)])
    assert result.unrecorded_seconds == 0 and result.gaps == ()
    assert result.coverage == 1.0
    assert result.recorded_seconds == 1800 - 40
    # A gap of exactly the tolerance is a finding.
    assert cover([here("a", 0, 30)], [rec(1, 30)]).unrecorded_seconds == 60
    strict = cover([here("a", 0, 30)], [rec(40 / 60, 30)], tolerance=timedelta(0))
    assert strict.unrecorded_seconds == 40


def test_overlapping_recordings_count_once() -> None:
    result = cover([here("a", 0, 30)], [rec(0, 20), rec(10, 30), rec(5, 6)])
    assert (result.recorded_seconds, result.unrecorded_seconds) == (1800, 0)


def test_a_recording_still_running_covers_nothing() -> None:
    # STARTED: Google gave a start but no end yet; nothing is covered until it does.
    result = cover([here("a", 0, 30)], [rec(0, None)])
    assert (result.recorded_seconds, result.unrecorded_seconds) == (0, 1800)


def test_an_ended_recording_without_times_covers_nothing() -> None:
    result = cover([here("a", 0, 30)], [rec(None, None), rec(None, 30)])
    assert result.unrecorded_seconds == 1800


def test_two_conferences_are_judged_apart() -> None:
    # The second conference's recording does not cover the first conference's time.
    result = cover(
        [here("a", 0, 30, "c1"), here("a", 60, 90, "c2")],
        [rec(0, 30, "c1"), rec(0, 90, "c2")],
    )
    assert result.present_seconds == 3600
    assert result.unrecorded_seconds == 0
    result = cover(
        [here("a", 0, 30, "c1"), here("b", 60, 90, "c2")],
        [rec(60, 90, "c2")],
    )
    assert result.unrecorded_seconds == 1800
    assert [g.participants for g in result.gaps] == [("a",)]


def test_a_participant_who_rejoins_is_present_only_in_their_sessions() -> None:
    # Nobody was there between 10 and 20: that time owes no recording.
    result = cover([here("a", 0, 10), here("a", 20, 30)], [rec(0, 10), rec(20, 30)])
    assert (result.present_seconds, result.unrecorded_seconds) == (1200, 0)
    result = cover([here("a", 0, 10), here("a", 20, 30)], [rec(0, 30)])
    assert result.recorded_seconds == 1200


def test_open_session_counts_up_to_now() -> None:
    result = cover([here("a", 0, None)], [rec(0, 20)], now=at(30))
    assert result.unrecorded_seconds == 600
    assert result.gaps[0].end == at(30)


def test_nobody_present_has_no_coverage_figure() -> None:
    result = cover([], [rec(0, 30)])
    assert result.coverage is None
    assert (result.present_seconds, result.recorded_seconds, result.unrecorded_seconds) == (0, 0, 0)
