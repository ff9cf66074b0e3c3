"""/api/v1/meetings: create, list, read, update, cancel, participants, recordings, audit."""

from __future__ import annotations

import functools
from typing import Annotated, Any

import anyio
import anyio.to_thread
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from meet_api.domain.auth.guards import ANY_ROLE, AUDIT_READERS, WRITERS, forbid
from meet_api.domain.auth.principal import Principal
from meet_api.domain.meetings import idempotency, queries, services
from meet_api.domain.meetings.schemas import (
    AuditTrail,
    MeetingCreate,
    MeetingDetail,
    MeetingOut,
    MeetingPage,
    MeetingPatch,
    MeetingStatusName,
    ParticipantList,
    RecordingList,
)
from meet_api.domain.meetings.validation import validate_create, validate_patch
from meet_api.lib.body import StrictBody, require_json_body
from meet_api.lib.problems import AUTHENTICATED_ERRORS, ApiProblem, problem_responses
from meet_api.lib.state import AppState
from meet_api.lib.threads import run
from meet_core.db.models import MeetingStatus, Role
from meet_core.provisioning import ProvisionOutcome, ProvisionResult, provision_meeting

RFC3339_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
MeetingId = Annotated[str, PathParameter(max_length=64, description="The meeting's id (a UUID)")]
BODY_ERRORS = (*AUTHENTICATED_ERRORS, 409, 413, 415, 422)
# How long a repeat waits for the first request with its Idempotency-Key, beyond the deadline.
IDEMPOTENT_WAIT_MARGIN = 15.0


def _doc(text: str) -> str:
    """One paragraph for OpenAPI from an indented, wrapped literal."""
    return " ".join(text.split())


CREATE_DOC = _doc("""
Stores the meeting as `pending`, then provisions it in Google (Calendar event with a Meet
conference, auto recording and transcription ON) within the deadline. 201 `scheduled` on
success; 202 `pending` when Google is unavailable or over quota (retried later); 502 when Google
refused it for good (the meeting is kept as `failed`). With `Idempotency-Key`, a repeat of the
same body returns the first answer (header `Idempotent-Replayed: true`). Roles: admin, service.
""")
UPDATE_DOC = _doc("""
Optimistic concurrency: `If-Match` with the ETag (or `version` in the body); 409 on a mismatch
or for a meeting that is not pending or scheduled; 428 without either. Synced to the Calendar
event with notifications to every guest; 503 (nothing changed) when Google is unavailable.
Roles: admin, service.
""")
CANCEL_DOC = _doc("""
Deletes the Calendar event with notifications to every guest and marks the meeting `cancelled`;
the record and its audit trail stay. Repeating it is harmless. 409 for a meeting in progress or
over; 503 (nothing changed) when Google is unavailable. Roles: admin, service.
""")
RECORDINGS_DOC = _doc("""
S3 URI, object version, SHA-256, size and Object Lock retention of every archived object.
`presign=true` adds a download link valid for 5 minutes (admin and auditor only). Roles: all.
""")
LIST_DOC = _doc("""
Ordered by (start_time, id). Service keys see their own client's meetings only. Follow
`next_cursor` for the next page until it is null. `total` is null unless `include_total=true`,
which counts every match (slower on broad filters). Roles: all.
""")
DETAIL_DOC = _doc("""
The `ETag` is the meeting's version (use it in `If-Match` to update). Roles: all.
""")
PARTICIPANTS_DOC = _doc("""
Attendance (attended, join and leave times, seconds) is null until the pipeline has harvested
the meeting's conference records. Roles: all.
""")
AUDIT_DOC = _doc("""
Follow `next_after_seq` for more. Roles: admin, auditor.
""")


def _etag(version: int) -> str:
    return f'"{version}"'


def _meeting_response(out: MeetingOut | MeetingDetail, status: int = HTTP_200_OK) -> Response[Any]:
    headers = {"ETag": _etag(out.version)}
    if status in (HTTP_201_CREATED, HTTP_202_ACCEPTED):
        headers["Location"] = f"/api/v1/meetings/{out.id}"
    return Response(out, status_code=status, headers=headers)


def _replay(replay: idempotency.Replay) -> Response[Any]:
    media = "application/problem+json" if replay.status >= 400 else "application/json"
    headers = {"Idempotent-Replayed": "true"}
    if isinstance(replay.body, dict) and "id" in replay.body and replay.status < 400:
        headers["Location"] = f"/api/v1/meetings/{replay.body['id']}"
        headers["ETag"] = _etag(int(replay.body.get("version", 1)))
    return Response(replay.body, status_code=replay.status, headers=headers, media_type=media)


def _status_for(out: MeetingOut) -> int:
    return HTTP_201_CREATED if out.status == MeetingStatus.SCHEDULED else HTTP_202_ACCEPTED


def _parse_if_match(header: str | None, body_version: int | None) -> int:
    if header is not None:
        value = header.strip().removeprefix("W/").strip('"')
        if not value.isdigit() or len(value) > 9:
            raise ApiProblem(
                400,
                'If-Match must be the meeting version as an ETag, e.g. "3"',
                slug="bad-if-match",
            )
        if body_version is not None and body_version != int(value):
            raise ApiProblem(400, "If-Match and the body's version disagree", slug="bad-if-match")
        return int(value)
    if body_version is None:
        raise ApiProblem(
            428,
            "send If-Match with the meeting's ETag (or its version in the body)",
            slug="version-required",
        )
    return body_version


class MeetingController(Controller):
    path = "/api/v1/meetings"
    tags = ["meetings"]

    @post(
        "/",
        guards=[WRITERS],
        dto=StrictBody[MeetingCreate],
        return_dto=None,
        before_request=require_json_body,
        status_code=HTTP_201_CREATED,
        summary="Create a meeting",
        description=CREATE_DOC,
        responses={
            202: ResponseSpec(
                MeetingOut,
                description="Accepted: stored as pending, provisioning retried later",
                generate_examples=False,
            ),
            **problem_responses(*BODY_ERRORS, 502),
        },
    )
    async def create_meeting(
        self,
        app_state: NamedDependency[AppState],
        principal: NamedDependency[Principal],
        data: JSONBody[MeetingCreate],
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name="Idempotency-Key",
                required=False,
                pattern=r"^[!-~]{1,257}$",
                description="Unique per client and request: 1 to 255 printable ASCII characters "
                "(optionally in double quotes).",
            ),
        ] = None,
    ) -> Response[MeetingOut]:
        key = idempotency.parse_key(idempotency_key)
        new = validate_create(
            data,
            organizer_domain=app_state.settings.organizer_domain,
            default_organizer=app_state.settings.google_subject,
        )
        request_hash = idempotency.fingerprint("POST", "/api/v1/meetings", data)
        started = await run(services.start_create, app_state, principal, new, key, request_hash)
        if isinstance(started, idempotency.Replay):
            return _replay(started)
        if isinstance(started, idempotency.InFlight):
            return await self._await_first(app_state, principal, started)
        status, outcome = await self._provision(
            app_state, principal, started.meeting_id, started.record_id
        )
        if not isinstance(outcome, MeetingOut):
            raise ApiProblem(
                status,
                outcome["detail"],
                slug="provisioning-failed",
                extra={"meeting_id": started.meeting_id},
            )
        return _meeting_response(outcome, status)

    @staticmethod
    async def _provision(
        state: AppState, principal: NamedDependency[Principal], meeting_id: str, record_id: int | None
    ) -> tuple[int, MeetingOut | dict[str, Any]]:
        """Provision within the deadline; past it the thread finishes on its own and the
        caller gets 202 (the meeting is claimed, so nobody else provisions it meanwhile).
        Returns the status and the meeting, or a problem body when Google refused for good;
        either is stored as the answer to a repeat with the same Idempotency-Key."""
        outcome: ProvisionOutcome | None = None
        with anyio.move_on_after(state.config.provisioning_deadline_seconds):
            outcome = await anyio.to_thread.run_sync(
                functools.partial(
                    provision_meeting,
                    state.sessions,
                    state.gateway,
                    meeting_id,
                    actor=principal.actor,
                    audit_context=principal.audit_context(),
                ),
                abandon_on_cancel=True,
                limiter=state.google_threads,
            )
        result = outcome.result if outcome else "deadline"
        state.metrics.provisioning.inc(result=str(result))
        if outcome and outcome.error_kind:
            state.metrics.google_errors.inc(
                method=outcome.error_method or "unknown", kind=outcome.error_kind
            )
        if outcome and outcome.result == ProvisionResult.FAILED:
            problem = {
                "type": "urn:meet-archive:problem:provisioning-failed",
                "title": "Bad gateway",
                "status": 502,
                "detail": f"Google refused the meeting: {outcome.error}",
                "meeting_id": meeting_id,
            }
            await run(services.complete_idempotent, state, record_id, 502, problem)
            return 502, problem
        out = await run(services.finish_create, state, principal, meeting_id, record_id, _status_for)
        return _status_for(out), out

    @staticmethod
    async def _await_first(
        state: AppState, principal: NamedDependency[Principal], first: idempotency.InFlight
    ) -> Response[Any]:
        with anyio.move_on_after(
            state.config.provisioning_deadline_seconds + IDEMPOTENT_WAIT_MARGIN
        ):
            pause = 0.05
            while True:
                replay = await run(services.poll_idempotent, state, first.record_id)
                if replay is not None:
                    return _replay(replay)
                await anyio.sleep(pause)
                pause = min(pause * 1.5, 0.5)
        if first.meeting_id is None:
            raise ApiProblem(
                409,
                "a request with this Idempotency-Key is still in progress; retry",
                slug="idempotency-in-progress",
                headers={"Retry-After": "5"},
            )
        # The first request is gone or stuck: answer with what the meeting is now.
        out = await run(services.read_out, state, principal, first.meeting_id)
        return _meeting_response(out, _status_for(out))

    @get(
        "/",
        guards=[ANY_ROLE],
        summary="List meetings",
        description=LIST_DOC,
        responses=problem_responses(*AUTHENTICATED_ERRORS),
    )
    async def list_meetings(
        self,
        app_state: NamedDependency[AppState],
        principal: NamedDependency[Principal],
        status: Annotated[MeetingStatusName | None, QueryParameter()] = None,
        external_id: Annotated[str | None, QueryParameter(max_length=200)] = None,
        participant: Annotated[
            str | None, QueryParameter(max_length=320, description="Invited email")
        ] = None,
        start_from: Annotated[
            str | None,
            QueryParameter(pattern=RFC3339_PATTERN, description="RFC 3339; start_time >= this"),
        ] = None,
        start_to: Annotated[
            str | None,
            QueryParameter(pattern=RFC3339_PATTERN, description="RFC 3339; start_time < this"),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200, description="Page size (max 200)")] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
        include_total: Annotated[
            bool,
            QueryParameter(description="true: `total` counts every match; false (default): null"),
        ] = False,
    ) -> MeetingPage:
        where = queries.MeetingFilter(
            status=status,
            external_id=external_id,
            participant=participant,
            start_from=queries.parse_time("start_from", start_from),
            start_to=queries.parse_time("start_to", start_to),
        )
        return await run(
            queries.list_meetings,
            app_state,
            principal,
            where,
            limit=min(limit, app_state.config.max_page_size),
            cursor=cursor,
            include_total=include_total,
        )

    @get(
        "/{meeting_id:str}",
        guards=[ANY_ROLE],
        summary="Read a meeting with its recording and compliance state",
        description=DETAIL_DOC,
        responses=problem_responses(*AUTHENTICATED_ERRORS),
    )
    async def get_meeting(
        self, app_state: NamedDependency[AppState], principal: NamedDependency[Principal], meeting_id: MeetingId
    ) -> Response[MeetingDetail]:
        return _meeting_response(await run(queries.get_detail, app_state, principal, meeting_id))

    @patch(
        "/{meeting_id:str}",
        guards=[WRITERS],
        dto=StrictBody[MeetingPatch],
        return_dto=None,
        before_request=require_json_body,
        summary="Update title, description, times or participants",
        description=UPDATE_DOC,
        responses=problem_responses(*BODY_ERRORS, 428, 502, 503),
    )
    async def update_meeting(
        self,
        meeting_id: MeetingId,
        app_state: NamedDependency[AppState],
        principal: NamedDependency[Principal],
        data: JSONBody[MeetingPatch],
        if_match: Annotated[
            str | None,
            HeaderParameter(
                name="If-Match",
                required=False,
                pattern=r'^(W/)?"?[0-9]{1,9}"?$',
                description='The ETag of the meeting, e.g. "3"',
            ),
        ] = None,
    ) -> Response[MeetingOut]:
        expected = _parse_if_match(
            if_match, data.version if isinstance(data.version, int) else None
        )
        current = await run(services.read_out, app_state, principal, meeting_id)
        changes = validate_patch(
            data,
            current_start=current.start_time,
            current_end=current.end_time,
            organizer=current.organizer_email,
        )
        out = await run(services.update_meeting, app_state, principal, meeting_id, changes, expected)
        return _meeting_response(out)

    @delete(
        "/{meeting_id:str}",
        guards=[WRITERS],
        status_code=HTTP_200_OK,
        summary="Cancel a meeting",
        description=CANCEL_DOC,
        responses=problem_responses(*AUTHENTICATED_ERRORS, 409, 502, 503),
    )
    async def cancel_meeting(
        self, app_state: NamedDependency[AppState], principal: NamedDependency[Principal], meeting_id: MeetingId
    ) -> Response[MeetingOut]:
        return _meeting_response(await run(services.cancel_meeting, app_state, principal, meeting_id))

    @get(
        "/{meeting_id:str}/participants",
        guards=[ANY_ROLE],
        summary="Invited participants, with attendance once the meeting has been harvested",
        description=PARTICIPANTS_DOC,
        responses=problem_responses(*AUTHENTICATED_ERRORS),
    )
    async def list_participants(
        self, app_state: NamedDependency[AppState], principal: NamedDependency[Principal], meeting_id: MeetingId
    ) -> ParticipantList:
        return await run(queries.get_participants, app_state, principal, meeting_id)

    @get(
        "/{meeting_id:str}/recordings",
        guards=[ANY_ROLE],
        summary="Archived recordings and transcripts",
        description=RECORDINGS_DOC,
        responses=problem_responses(*AUTHENTICATED_ERRORS, 503),
    )
    async def list_recordings(
        self,
        request: Request[Any, Any, Any],
        app_state: NamedDependency[AppState],
        principal: NamedDependency[Principal],
        meeting_id: MeetingId,
        presign: Annotated[
            bool, QueryParameter(description="Add presigned download URLs (admin, auditor)")
        ] = False,
    ) -> RecordingList:
        if presign and principal.role == Role.SERVICE:
            await forbid(request, principal, "download links are for admin and auditor keys only")
        return await run(queries.get_recordings, app_state, principal, meeting_id, presign=presign)

    @get(
        "/{meeting_id:str}/audit",
        guards=[AUDIT_READERS],
        summary="The meeting's audit trail (hash-chained events)",
        description=AUDIT_DOC,
        responses=problem_responses(*AUTHENTICATED_ERRORS),
    )
    async def get_audit(
        self,
        app_state: NamedDependency[AppState],
        principal: NamedDependency[Principal],
        meeting_id: MeetingId,
        after_seq: Annotated[
            int, QueryParameter(ge=0, le=2**53, description="Only events after this seq")
        ] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
    ) -> AuditTrail:
        return await run(
            queries.get_audit, app_state, principal, meeting_id, after_seq=after_seq, limit=limit
        )
