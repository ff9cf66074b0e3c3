"""Meeting state rules shared by the pipeline and the API, as plain functions.

A meeting that Google has scheduled moves, as its conferences are observed, from
``scheduled`` to ``in_progress`` to ``finished``, or to ``not_held`` when its window plus a
grace period passes without any conference. Nothing here talks to Google or the database:
callers pass what they saw and the time, and get the decision back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from meet_core.db.models import AttendeeKind, MatchedBy, MeetingStatus

# Statuses in which Google is still asked about the meeting's conferences.
WATCHED_STATUSES = (MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS)
# Statuses that never change again through reconciliation.
SETTLED_STATUSES = (
    MeetingStatus.FINISHED,
    MeetingStatus.NOT_HELD,
    MeetingStatus.CANCELLED,
    MeetingStatus.FAILED,
)


@dataclass(frozen=True, slots=True)
class WindowPolicy:
    """How long around its scheduled times a meeting is watched.

    ``lead``: watched from this long before the start (people join early).
    ``grace``: after the scheduled end, how long to wait for a first conference before
    calling the meeting not held.
    ``rejoin_gap``: a conference that ended before the scheduled end may be followed by a
    new one (everybody dropped and came back); the meeting is finished only when this long
    has passed since the last conference ended, or at the scheduled end.
    ``artifact_wait``: after a finished meeting's scheduled end, how long Google is still
    asked for recordings and transcripts that have not appeared yet.
    """

    lead: timedelta = timedelta(minutes=15)
    grace: timedelta = timedelta(minutes=30)
    rejoin_gap: timedelta = timedelta(minutes=10)
    artifact_wait: timedelta = timedelta(hours=2)

    def __post_init__(self) -> None:
        for name in ("lead", "grace", "rejoin_gap", "artifact_wait"):
            if getattr(self, name) < timedelta(0):
                raise ValueError(f"{name} must not be negative")

    def watch_from(self, start: datetime) -> datetime:
        return start - self.lead

    def no_show_after(self, end: datetime) -> datetime:
        return end + self.grace


@dataclass(frozen=True, slots=True)
class ConferenceSpan:
    """One conference of the meeting's space: when it started and (if it did) ended."""

    start: datetime
    end: datetime | None


@dataclass(frozen=True, slots=True)
class ConferenceFacts:
    """What Google says about a meeting's conferences, summed up."""

    held: bool  # at least one conference started
    active: bool  # one is running now
    last_end: datetime | None  # when the last ended conference ended

    @classmethod
    def from_spans(cls, spans: Iterable[ConferenceSpan]) -> ConferenceFacts:
        spans = list(spans)
        ends = [s.end for s in spans if s.end is not None]
        return cls(
            held=bool(spans),
            active=any(s.end is None for s in spans),
            last_end=max(ends) if ends else None,
        )


def next_status(
    current: str,
    *,
    start: datetime,
    end: datetime,
    facts: ConferenceFacts,
    now: datetime,
    policy: WindowPolicy,
) -> MeetingStatus | None:
    """The status the meeting should move to now, or None if it stays as it is.

    Only ``scheduled`` and ``in_progress`` meetings move; transitions are one-way
    (``scheduled`` → ``in_progress`` → ``finished``; ``scheduled`` → ``finished`` when a whole
    conference happened between two looks; ``scheduled`` → ``not_held``).
    """
    if current not in WATCHED_STATUSES:
        return None
    if facts.active:
        return MeetingStatus.IN_PROGRESS if current != MeetingStatus.IN_PROGRESS else None
    if facts.held:
        assert facts.last_end is not None  # held and nothing active: every conference ended
        if now >= min(end, facts.last_end + policy.rejoin_gap):
            return MeetingStatus.FINISHED
        return MeetingStatus.IN_PROGRESS if current != MeetingStatus.IN_PROGRESS else None
    if current == MeetingStatus.SCHEDULED and now >= policy.no_show_after(end):
        return MeetingStatus.NOT_HELD
    return None


def is_watched(status: str, *, start: datetime, now: datetime, policy: WindowPolicy) -> bool:
    """Should Google be asked about this (scheduled or running) meeting's conferences now?

    A scheduled meeting is watched from ``lead`` before its start until a decision moves it
    on (in progress, finished or not held), so a late look still settles it.
    """
    if status == MeetingStatus.IN_PROGRESS:
        return True
    return status == MeetingStatus.SCHEDULED and now >= policy.watch_from(start)


# --- attendance -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interval:
    start: datetime
    end: datetime | None  # None: still in the meeting


def attended_seconds(intervals: Iterable[Interval], now: datetime) -> int:
    """Seconds covered by the union of the intervals (open ones count up to ``now``);
    overlapping sessions (two devices) are not counted twice."""
    closed = sorted((i.start, i.end if i.end is not None else now) for i in intervals)
    total = timedelta(0)
    current_start: datetime | None = None
    current_end: datetime | None = None
    for begin, finish in closed:
        if finish < begin:
            continue
        if current_end is None or begin > current_end:
            if current_start is not None and current_end is not None:
                total += current_end - current_start
            current_start, current_end = begin, finish
        else:
            current_end = max(current_end, finish)
    if current_start is not None and current_end is not None:
        total += current_end - current_start
    return int(total.total_seconds())


def first_join(intervals: Sequence[Interval]) -> datetime | None:
    return min((i.start for i in intervals), default=None)


def last_leave(intervals: Sequence[Interval]) -> datetime | None:
    """When the person last left; None while a session is still open or with no session."""
    if not intervals or any(i.end is None for i in intervals):
        return None
    return max(i.end for i in intervals if i.end is not None)


def email_domain(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].lower()


def attendee_kind(meet_kind: str, email: str | None, organizer_domain: str) -> AttendeeKind:
    """Internal (signed in, organizer's domain), external (signed in, another or unknown
    domain), anonymous or phone. ``meet_kind`` is the gateway's: signed_in, anonymous, phone;
    ``email`` the participant's own, as People / Directory resolved it (None: unknown)."""
    if meet_kind == "phone":
        return AttendeeKind.PHONE
    if meet_kind == "anonymous":
        return AttendeeKind.ANONYMOUS
    if meet_kind != "signed_in":
        raise ValueError(f"unknown Meet participant kind {meet_kind!r}")
    if email_domain(email) == organizer_domain.lower():
        return AttendeeKind.INTERNAL
    return AttendeeKind.EXTERNAL


@dataclass(frozen=True, slots=True)
class Invitee:
    email: str
    display_name: str | None


def match_invitee(
    email: str | None, display_name: str | None, invitees: Sequence[Invitee]
) -> tuple[Invitee | None, MatchedBy | None]:
    """The invited person a Meet participant is, and how that was decided.

    ``email`` is the participant's own, resolved from their ``users/{id}``. Someone whose
    email is known is matched by it or not at all: a namesake never stands in for an
    invitee. Only a participant nobody could resolve (anonymous, phone, an outsider whose
    email Google does not show) falls back to the display name, and only when exactly one
    invitee has that name.
    """
    if email:
        wanted = email.lower()
        found = next((i for i in invitees if i.email.lower() == wanted), None)
        return (found, MatchedBy.EMAIL) if found else (None, None)
    if not display_name:
        return None, None
    name = " ".join(display_name.split()).casefold()
    named = [
        i
        for i in invitees
        if i.display_name and " ".join(i.display_name.split()).casefold() == name
    ]
    return (named[0], MatchedBy.DISPLAY_NAME) if len(named) == 1 else (None, None)
