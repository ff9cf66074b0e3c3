"""/api/v1/matters: legal matters (admin to change, auditor to read)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from meet_api.domain.auth.guards import ADMIN_ONLY, AUDIT_READERS
from meet_api.domain.auth.principal import Principal
from meet_api.domain.matters import services
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
from meet_api.lib.body import StrictBody, require_json_body
from meet_api.lib.problems import AUTHENTICATED_ERRORS, problem_responses
from meet_api.lib.state import AppState
from meet_api.lib.threads import run

MatterRef = Annotated[str, PathParameter(max_length=200, description="The matter's name or number")]
BODY_ERRORS = (*AUTHENTICATED_ERRORS, 409, 413, 415, 422)


class MatterController(Controller):
    path = "/api/v1/matters"
    tags = ["matters"]

    @get("/", guards=[AUDIT_READERS], summary="List matters",
         responses=problem_responses(*AUTHENTICATED_ERRORS))
    async def list_matters(self, app_state: NamedDependency[AppState]) -> MatterList:
        return await run(services.listing, app_state)

    @post("/", guards=[ADMIN_ONLY], dto=StrictBody[MatterCreate], return_dto=None,
          before_request=require_json_body, status_code=HTTP_201_CREATED, summary="Open a matter (audited)",
          responses=problem_responses(*BODY_ERRORS))
    async def create_matter(
        self, app_state: NamedDependency[AppState], principal: NamedDependency[Principal],
        data: JSONBody[MatterCreate],
    ) -> MatterOut:
        return await run(services.create, app_state, principal.actor, data)

    @get("/{matter:str}", guards=[AUDIT_READERS], summary="A matter with its meetings and objects",
         responses=problem_responses(*AUTHENTICATED_ERRORS))
    async def get_matter(self, app_state: NamedDependency[AppState], matter: MatterRef) -> MatterOut:
        return await run(services.detail, app_state, matter)

    @post("/{matter:str}/meetings", guards=[ADMIN_ONLY], dto=StrictBody[MatterAdd], return_dto=None,
          before_request=require_json_body, status_code=HTTP_200_OK,
          summary="Add meetings by id, or by a search that keeps collecting",
          responses=problem_responses(*BODY_ERRORS))
    async def add_meetings(
        self, app_state: NamedDependency[AppState], principal: NamedDependency[Principal],
        matter: MatterRef, data: JSONBody[MatterAdd],
    ) -> AddOut:
        return await run(services.add, app_state, principal.actor, matter, data)

    @post("/{matter:str}/hold", guards=[ADMIN_ONLY], status_code=HTTP_200_OK,
          summary="S3 legal hold ON for every archived object of the matter (read back)",
          responses=problem_responses(*AUTHENTICATED_ERRORS, 409))
    async def hold(
        self, app_state: NamedDependency[AppState], principal: NamedDependency[Principal], matter: MatterRef,
    ) -> HoldOut:
        return await run(services.hold, app_state, principal.actor, matter)

    @post("/{matter:str}/release", guards=[ADMIN_ONLY], dto=StrictBody[MatterRelease], return_dto=None,
          before_request=require_json_body, status_code=HTTP_200_OK,
          summary="Release the matter's hold (a named person, with a note)",
          responses=problem_responses(*BODY_ERRORS))
    async def release(
        self, app_state: NamedDependency[AppState], matter: MatterRef, data: JSONBody[MatterRelease],
    ) -> ReleaseOut:
        return await run(services.release, app_state, matter, data)
