"""Matter requests to meet_core.matters: input errors become 400/404/409 problems, S3 that
does not confirm a hold a 503 (the request can be repeated: holds are idempotent)."""

from __future__ import annotations

from typing import Any

import msgspec

from meet_api.domain.matters.schemas import (
    AddOut,
    HoldOut,
    MatterAdd,
    MatterCreate,
    MatterList,
    MatterOut,
    MatterRelease,
    ReleaseOut,
)
from meet_api.domain.search.services import parsed
from meet_api.lib.problems import ApiProblem, FieldError, validation_problem
from meet_api.lib.state import AppState
from meet_core.archive import s3_client
from meet_core.matters.holds import hold_matter, release_matter
from meet_core.matters.service import (
    MatterNotFound,
    add_meetings,
    create_matter,
    find_matter,
    list_matters,
    matter_detail,
)


def _not_found(exc: MatterNotFound) -> ApiProblem:
    return ApiProblem(404, str(exc), slug="not-found")


def _conflict(exc: ValueError) -> ApiProblem:
    return ApiProblem(409, str(exc), slug="conflict")


def _s3_failures(failures: list[str], what: str) -> None:
    if failures:
        raise ApiProblem(503, f"S3 did not confirm {len(failures)} {what}; repeat the request",
                         slug="s3-unavailable", extra={"failures": failures[:20]})


def create(state: AppState, actor: str, data: MatterCreate) -> MatterOut:
    with state.sessions.begin() as session:
        try:
            matter = create_matter(session, name=data.name, description=data.description, actor=actor)
        except ValueError as exc:
            if "exists already" in str(exc):
                raise _conflict(exc) from None
            raise validation_problem([FieldError(field="name", message=str(exc))]) from None
        return MatterOut(matter=matter_detail(session, matter))


def listing(state: AppState) -> MatterList:
    with state.sessions() as session:
        return MatterList(items=list_matters(session))


def detail(state: AppState, ref: str) -> MatterOut:
    with state.sessions() as session:
        try:
            return MatterOut(matter=matter_detail(session, find_matter(session, ref)))
        except MatterNotFound as exc:
            raise _not_found(exc) from None


def add(state: AppState, actor: str, ref: str, data: MatterAdd) -> AddOut:
    has_ids, has_search = data.meeting_ids is not msgspec.UNSET, data.search is not msgspec.UNSET
    if has_ids == has_search:
        raise validation_problem([FieldError(field="body", message="give meeting_ids or search (one of them)")])
    filters = None
    if has_search:
        raw: dict[str, Any] = msgspec.structs.asdict(data.search)  # type: ignore[arg-type]
        filters = parsed(raw)
        if filters.is_empty():
            raise validation_problem([FieldError(field="search", message="needs at least one filter")])
    with state.sessions.begin() as session:
        try:
            matter = find_matter(session, ref)
        except MatterNotFound as exc:
            raise _not_found(exc) from None
        try:
            added = add_meetings(session, matter, actor=actor,
                                 meeting_ids=data.meeting_ids if has_ids else (),  # type: ignore[arg-type]
                                 filters=filters)
        except ValueError as exc:
            if "released" in str(exc):
                raise _conflict(exc) from None
            raise validation_problem([FieldError(field="meeting_ids", message=str(exc))]) from None
        name, held = matter.name, matter.state == "held"
    newly_held = 0
    if held and added:
        report = hold_matter(state.sessions, s3_client(state.settings), ref, actor=actor)
        _s3_failures(report.failures, "legal hold(s)")
        newly_held = report.newly_held
    return AddOut(matter=name, added=added, newly_held=newly_held)


def hold(state: AppState, actor: str, ref: str) -> HoldOut:
    try:
        report = hold_matter(state.sessions, s3_client(state.settings), ref, actor=actor)
    except MatterNotFound as exc:
        raise _not_found(exc) from None
    except ValueError as exc:
        raise _conflict(exc) from None
    _s3_failures(report.failures, "legal hold(s)")
    return HoldOut(matter=report.matter, objects=report.objects, newly_held=report.newly_held)


def release(state: AppState, ref: str, data: MatterRelease) -> ReleaseOut:
    try:
        report = release_matter(state.sessions, s3_client(state.settings), ref, by=data.by, note=data.note)
    except MatterNotFound as exc:
        raise _not_found(exc) from None
    except ValueError as exc:
        raise _conflict(exc) from None
    _s3_failures(report.failures, "hold release(s)")
    return ReleaseOut(matter=report.matter, released=report.released, kept_for_other_matters=report.kept)
