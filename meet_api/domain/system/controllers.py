"""Health (no auth, for load balancers and orchestrators) and Prometheus metrics (admin).

/metrics sits behind an admin key: it names routes, Google methods and error counts, which
is operational detail an outsider should not read. Prometheus sends the key with
``authorization: {type: Bearer, credentials_file: ...}`` in its scrape config.
"""

from __future__ import annotations

import anyio.to_thread
import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect
from sqlalchemy import text

from meet_api.domain.auth.guards import ADMIN_ONLY
from meet_api.lib.metrics import CONTENT_TYPE
from meet_api.lib.problems import AUTHENTICATED_ERRORS, ApiProblem, problem_responses
from meet_api.lib.state import AppState
from meet_core.db.migrate import current_revision, head_revision


class Health(msgspec.Struct, kw_only=True):
    status: str
    database: str | None = None
    migration: str | None = None


def _readiness(state: AppState) -> tuple[bool, str, str]:
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision = current_revision(state.engine)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the reason is reported
        return False, f"unreachable: {type(exc).__name__}", "unknown"
    head = head_revision()
    return revision == head, "ok", f"{revision or 'none'} (head {head})"


class SystemController(Controller):
    tags = ["system"]

    @get("/", include_in_schema=False)
    async def root(self) -> Redirect:
        """Someone who opens the API's address lands on its documentation."""
        return Redirect("/schema", status_code=307)

    @get(
        "/health/live",
        summary="Liveness: the process answers",
        security=[{}],
        responses=problem_responses(500),
    )
    async def live(self) -> Health:
        return Health(status="ok")

    @get(
        "/health/ready",
        summary="Readiness: database reachable and migrations current",
        security=[{}],
        responses=problem_responses(503, 500),
    )
    async def ready(self, app_state: NamedDependency[AppState]) -> Health:
        ok, database, migration = await anyio.to_thread.run_sync(_readiness, app_state)
        if not ok:
            raise ApiProblem(
                503,
                f"not ready: database {database}, migration {migration}",
                slug="not-ready",
                extra={"database": database, "migration": migration},
            )
        return Health(status="ready", database=database, migration=migration)

    @get(
        "/metrics",
        guards=[ADMIN_ONLY],
        summary="Prometheus metrics (admin)",
        media_type=CONTENT_TYPE,
        responses={
            200: ResponseSpec(
                str,
                description="Prometheus text format 0.0.4",
                media_type=CONTENT_TYPE,
                generate_examples=False,
            ),
            **problem_responses(*AUTHENTICATED_ERRORS),
        },
    )
    async def metrics(self, app_state: NamedDependency[AppState]) -> Response[str]:
        return Response(app_state.metrics.render(), media_type=CONTENT_TYPE)
