"""Matter requests and answers (JSON in snake_case; unknown fields refused)."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import UNSET, Meta, Struct, UnsetType

Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
Person = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
Note = Annotated[str, Meta(min_length=1, max_length=4000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
MeetingId = Annotated[str, Meta(min_length=1, max_length=64)]
Short = Annotated[str, Meta(max_length=500)]


class MatterCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    description: Note | None = None


class SearchFiltersIn(Struct, kw_only=True, forbid_unknown_fields=True):
    text: Short | None = None
    client: Short | None = None
    start_from: Short | None = None
    start_to: Short | None = None
    participant: Short | None = None
    organizer: Short | None = None
    title: Short | None = None
    compliance_status: Short | None = None


class MatterAdd(Struct, kw_only=True, forbid_unknown_fields=True):
    """Either ``meeting_ids`` or ``search`` (saved: later archives that match join)."""

    meeting_ids: Annotated[list[MeetingId], Meta(min_length=1, max_length=1000)] | UnsetType = UNSET
    search: SearchFiltersIn | UnsetType = UNSET


class MatterRelease(Struct, kw_only=True, forbid_unknown_fields=True):
    by: Person
    note: Note


class MatterOut(Struct, kw_only=True):
    matter: dict[str, Any]


class MatterList(Struct, kw_only=True):
    items: list[dict[str, Any]]


class HoldOut(Struct, kw_only=True):
    matter: str
    objects: int
    newly_held: int


class ReleaseOut(Struct, kw_only=True):
    matter: str
    released: int
    kept_for_other_matters: int


class AddOut(Struct, kw_only=True):
    matter: str
    added: list[str]
    newly_held: int
