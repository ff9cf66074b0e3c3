"""Rules a request must meet beyond its JSON shape; every broken rule is reported at once."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import available_timezones

from msgspec import UNSET

from meet_api.domain.meetings.schemas import (
    MAX_DURATION_HOURS,
    MeetingCreate,
    MeetingPatch,
    ParticipantIn,
)
from meet_api.lib.problems import FieldError, validation_problem
from meet_core.db.types import utcnow


@dataclass(frozen=True, slots=True)
class InviteeInput:
    email: str
    display_name: str | None
    role: str


@dataclass(frozen=True, slots=True)
class NewMeeting:
    external_id: str
    title: str
    description: str | None
    start_time: datetime
    end_time: datetime
    timezone: str
    organizer_email: str
    participants: tuple[InviteeInput, ...]


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _single_line(errors: list[FieldError], field: str, value: str | None) -> None:
    # msgspec's "$" also matches before a final newline; refuse line breaks explicitly.
    if value is not None and ("\n" in value or "\r" in value):
        errors.append(FieldError(field=field, message="must be a single line"))


def _check_zone(errors: list[FieldError], zone: str) -> None:
    if zone not in _zones():
        errors.append(FieldError(field="timezone", message=f"not an IANA time zone: {zone!r}"))


def _check_times(errors: list[FieldError], start: datetime, end: datetime, now: datetime) -> None:
    if end <= start:
        errors.append(FieldError(field="end_time", message="must be after start_time"))
    elif end - start > timedelta(hours=MAX_DURATION_HOURS):
        errors.append(
            FieldError(
                field="end_time",
                message=f"a Google Meet call lasts at most {MAX_DURATION_HOURS} hours",
            )
        )
    if end <= now:
        errors.append(FieldError(field="end_time", message="is in the past"))


def _invitees(errors: list[FieldError], items: list[ParticipantIn]) -> tuple[InviteeInput, ...]:
    """Lower-cased, de-duplicated (first mention wins, an organizer role is kept)."""
    seen: dict[str, InviteeInput] = {}
    for index, item in enumerate(items):
        _single_line(errors, f"participants[{index}].email", item.email)
        _single_line(errors, f"participants[{index}].display_name", item.display_name)
        email = item.email.lower()
        earlier = seen.get(email)
        role = (
            "organizer"
            if item.role == "organizer" or (earlier and earlier.role == "organizer")
            else "guest"
        )
        seen[email] = InviteeInput(email, earlier.display_name if earlier else item.display_name, role)
    organizers = [p.email for p in seen.values() if p.role == "organizer"]
    if len(organizers) > 1:
        errors.append(
            FieldError(field="participants", message="at most one participant can be the organizer")
        )
    return tuple(seen.values())


def _organizer(
    errors: list[FieldError],
    given: str | None,
    invitees: tuple[InviteeInput, ...],
    default: str,
    domain: str,
) -> str:
    listed = next((p.email for p in invitees if p.role == "organizer"), None)
    organizer = (given or listed or default).lower()
    if given and listed and given.lower() != listed:
        errors.append(
            FieldError(
                field="organizer_email",
                message="differs from the participant whose role is organizer",
            )
        )
    if organizer.rsplit("@", 1)[-1] != domain.lower():
        errors.append(
            FieldError(
                field="organizer_email",
                message=f"the organizer must belong to {domain} (the delegated domain)",
            )
        )
    return organizer


def validate_create(
    body: MeetingCreate,
    *,
    organizer_domain: str,
    default_organizer: str,
    now: datetime | None = None,
) -> NewMeeting:
    errors: list[FieldError] = []
    for field in ("external_id", "title", "organizer_email", "timezone"):
        _single_line(errors, field, getattr(body, field))
    _check_zone(errors, body.timezone)
    _check_times(errors, body.start_time, body.end_time, now or utcnow())
    invitees = _invitees(errors, body.participants)
    organizer = _organizer(
        errors, body.organizer_email, invitees, default_organizer, organizer_domain
    )
    if errors:
        raise validation_problem(errors)
    return NewMeeting(
        external_id=body.external_id,
        title=body.title,
        description=body.description,
        start_time=body.start_time,
        end_time=body.end_time,
        timezone=body.timezone,
        organizer_email=organizer,
        participants=invitees,
    )


@dataclass(frozen=True, slots=True)
class MeetingChanges:
    """Validated PATCH: None means unchanged (``clear_description`` empties it)."""

    title: str | None
    description: str | None
    clear_description: bool
    start_time: datetime | None
    end_time: datetime | None
    timezone: str | None
    participants: tuple[InviteeInput, ...] | None

    @property
    def empty(self) -> bool:
        return (
            all(
                v is None
                for v in (
                    self.title,
                    self.description,
                    self.start_time,
                    self.end_time,
                    self.timezone,
                    self.participants,
                )
            )
            and not self.clear_description
        )


def validate_patch(
    body: MeetingPatch,
    *,
    current_start: datetime,
    current_end: datetime,
    organizer: str,
    now: datetime | None = None,
) -> MeetingChanges:
    errors: list[FieldError] = []
    title = None if body.title is UNSET else body.title
    _single_line(errors, "title", title)
    zone = None if body.timezone is UNSET else body.timezone
    if zone is not None:
        _single_line(errors, "timezone", zone)
        _check_zone(errors, zone)
    start = None if body.start_time is UNSET else body.start_time
    end = None if body.end_time is UNSET else body.end_time
    if start is not None or end is not None:
        _check_times(errors, start or current_start, end or current_end, now or utcnow())
    participants = None
    if body.participants is not UNSET:
        participants = _invitees(errors, body.participants)
        listed = next((p.email for p in participants if p.role == "organizer"), None)
        if listed and listed != organizer:
            errors.append(
                FieldError(
                    field="participants",
                    message="the organizer cannot change; create a new meeting instead",
                )
            )
    changes = MeetingChanges(
        title=title,
        description=body.description if isinstance(body.description, str) else None,
        clear_description=body.description is None,
        start_time=start,
        end_time=end,
        timezone=zone,
        participants=participants,
    )
    if not errors and changes.empty:
        errors.append(FieldError(field="body", message="nothing to change"))
    if errors:
        raise validation_problem(errors)
    return changes
