"""Recording coverage: how much of the time people were in a conference was recorded.

Per conference, *presence* is the union of the participants' sessions and *recording* the
union of the recordings' ``[startTime, endTime]``; unrecorded time is presence minus
recording, without the gaps shorter than a tolerance (the seconds a recording takes to
start are not a finding). A recording covers time only once Google has given both its
``startTime`` and its ``endTime``: one still ``STARTED`` (no end yet) or ``ENDED`` without
its times covers nothing, so time is never "covered" before Google has said so. The rules
(:mod:`meet_core.compliance.rules`) decide when such a recording has waited long enough.

Plain functions, no database: :mod:`meet_core.compliance.facts` gathers the inputs.
docs/compliance.md states the same rule for auditors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DEFAULT_TOLERANCE = timedelta(seconds=60)
MAX_LISTED_GAPS = 20  # a violation detail names at most this many intervals


@dataclass(frozen=True, slots=True)
class PresenceSpan:
    """One participant session: ``end`` None while the participant is still in the call."""

    conference: str
    who: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True, slots=True)
class RecordingSpan:
    """One recording as Google lists it; times None until Google gives them."""

    conference: str
    start: datetime | None
    end: datetime | None

    @property
    def confirmed(self) -> bool:
        """Google has said when it started and ended (so the span is covered)."""
        return self.start is not None and self.end is not None and self.end > self.start


@dataclass(frozen=True, slots=True)
class Gap:
    """An unrecorded interval and the participants present during it."""

    start: datetime
    end: datetime
    participants: tuple[str, ...]

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())


@dataclass(frozen=True, slots=True)
class Coverage:
    present_seconds: int
    recorded_seconds: int  # present and recorded
    unrecorded_seconds: int  # present, not recorded, in gaps >= the tolerance
    gaps: tuple[Gap, ...]

    @property
    def coverage(self) -> float | None:
        """1 - unrecorded / present, rounded to 4 places; None when nobody was present."""
        if self.present_seconds <= 0:
            return None
        return round(1 - self.unrecorded_seconds / self.present_seconds, 4)


Span = tuple[datetime, datetime]


def union(spans: Iterable[Span]) -> list[Span]:
    """Sorted, non-overlapping spans covering the same time (touching spans merge)."""
    merged: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract(spans: Sequence[Span], cuts: Sequence[Span]) -> list[Span]:
    """``spans`` minus ``cuts``; both sorted and non-overlapping (as :func:`union` gives)."""
    result: list[Span] = []
    for start, end in spans:
        cursor = start
        for cut_start, cut_end in cuts:
            if cut_end <= cursor or cut_start >= end:
                continue
            if cut_start > cursor:
                result.append((cursor, cut_start))
            cursor = max(cursor, cut_end)
            if cursor >= end:
                break
        if cursor < end:
            result.append((cursor, end))
    return result


def _seconds(spans: Iterable[Span]) -> int:
    return int(sum((e - s).total_seconds() for s, e in spans))


def coverage_of(
    presence: Iterable[PresenceSpan],
    recordings: Iterable[RecordingSpan],
    *,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> Coverage:
    """Coverage over every conference of a meeting. A session still open counts up to
    ``now``; recordings only cover time within their own conference."""
    by_conference: dict[str, list[PresenceSpan]] = {}
    for p in presence:
        by_conference.setdefault(p.conference, []).append(p)
    recorded_by_conference: dict[str, list[Span]] = {}
    for r in recordings:
        if r.confirmed:
            recorded_by_conference.setdefault(r.conference, []).append((r.start, r.end))  # type: ignore[arg-type]
    present = recorded = unrecorded = 0
    gaps: list[Gap] = []
    for conference, sessions in by_conference.items():
        closed = [(p.start, p.end or max(now, p.start)) for p in sessions]
        there = union(closed)
        covered = union(recorded_by_conference.get(conference, ()))
        missing = subtract(there, covered)
        present += _seconds(there)
        recorded += _seconds(there) - _seconds(missing)
        for start, end in missing:
            if end - start < tolerance:
                continue
            who = sorted(
                {p.who for p, (s, e) in zip(sessions, closed, strict=True) if s < end and e > start}
            )
            gaps.append(Gap(start, end, tuple(who)))
            unrecorded += int((end - start).total_seconds())
    gaps.sort(key=lambda g: g.start)
    return Coverage(present, recorded, unrecorded, tuple(gaps))


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def describe_gaps(result: Coverage) -> str:
    """One line for a violation: the total, then each interval (UTC) with who was there."""
    parts = [
        f"{_utc(g.start)}–{_utc(g.end)} UTC ({g.seconds} s; present: "
        f"{', '.join(g.participants) or 'unknown'})"
        for g in result.gaps[:MAX_LISTED_GAPS]
    ]
    more = len(result.gaps) - MAX_LISTED_GAPS
    if more > 0:
        parts.append(f"and {more} more")
    return (
        f"{result.unrecorded_seconds} s of {result.present_seconds} s with participants present "
        f"not recorded: " + "; ".join(parts)
    )


def gaps_as_json(result: Coverage) -> list[dict[str, str]]:
    """The intervals as stored in the ledger and shown by the API: ISO 8601 UTC."""
    return [
        {
            "start": g.start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "end": g.end.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
        for g in result.gaps
    ]
