"""The Litestar application factory."""

from __future__ import annotations

import logging
from typing import Any

import anyio
from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import (
    JsonRenderPlugin,
    ScalarRenderPlugin,
    SwaggerRenderPlugin,
    YamlRenderPlugin,
)
from litestar.openapi.spec import Components, SecurityScheme, Server
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

from meet_api.config import ApiConfig
from meet_api.domain.auth.middleware import ApiKeyAuthMiddleware
from meet_api.domain.matters.controllers import MatterController
from meet_api.domain.meetings.controllers import MeetingController
from meet_api.domain.search.controllers import SearchController
from meet_api.domain.system.controllers import SystemController
from meet_api.lib.dependencies import dependencies
from meet_api.lib.metrics import ApiMetrics
from meet_api.lib.problems import problem_plugin
from meet_api.lib.query import record_query_parameters, refuse_unknown_query_parameters
from meet_api.lib.ratelimit import SharedWindowLimiter
from meet_api.lib.requests import observe_request
from meet_api.lib.state import AppState, read_engine
from meet_core.db import make_engine, make_session_factory
from meet_core.google.gateway import GoogleGateway
from meet_core.settings import Settings, get_settings

log = logging.getLogger("meet_api")
API_DESCRIPTION = """Meetings API for XOMA: Google Calendar events with self-recording Meet spaces,
their participants, archived recordings and audit trail.

Every route but health and these documents needs `Authorization: Bearer <api key>`.
Errors are RFC 9457 problem documents (`application/problem+json`). See docs/integration.md."""


class MeetArchiveApi(Litestar):
    """Litestar with one outermost layer for request ids, access logs and request metrics,
    so that even unmatched routes (404/405) carry an X-Request-ID and are counted."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        state: AppState = self.state.meet
        await observe_request(scope, receive, send, super().__call__, state.metrics)


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="meet-archive API",
        version="1.0.0",
        description=API_DESCRIPTION,
        path="/schema",
        servers=[Server(url="/")],
        components=Components(
            security_schemes={
                "BearerApiKey": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="mka_<key id>_<secret>",
                    description="An API key from `meet-archive api-key create`.",
                ),
            }
        ),
        security=[{"BearerApiKey": []}],
        # Swagger UI first (served at /schema) from files shipped in a Python package, so
        # the docs work offline, as in the sandbox; Scalar (/schema/scalar) loads from a CDN.
        render_plugins=[
            SwaggerRenderPlugin(
                js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{DOCS_ASSETS}/swagger-ui-standalone-preset.js",
                favicon=f'<link rel="icon" type="image/png" href="{DOCS_ASSETS}/favicon-32x32.png">',
            ),
            ScalarRenderPlugin(),
            JsonRenderPlugin(),
            YamlRenderPlugin(),
        ],
    )


DOCS_ASSETS = "/schema/assets"


def _docs_assets() -> Any:
    return create_static_files_router(
        path=DOCS_ASSETS, directories=[swagger_ui_path], include_in_schema=False, name="docs-assets"
    )


def create_app_from_env() -> Litestar:
    """The app of one worker process of ``meet-archive api --workers N`` (uvicorn's
    ``factory=True``): settings from the environment, this process's logging configured."""
    from meet_api.lib.logging import configure_logging

    configure_logging()
    return create_app(get_settings())


def create_app(
    settings: Settings | None = None,
    *,
    gateway: GoogleGateway | None = None,
    config: ApiConfig | None = None,
) -> Litestar:
    """Build the API. Without arguments it reads the environment (meet_core.settings)."""
    settings = settings or get_settings()
    config = config or ApiConfig.from_env(settings)
    engine = make_engine(settings.database_url)
    gateway = gateway or GoogleGateway.from_settings(settings)
    state = AppState(
        settings=settings,
        config=config,
        engine=engine,
        reader=read_engine(engine),
        sessions=make_session_factory(engine),
        gateway=gateway,
        metrics=ApiMetrics(gateway.calls.snapshot),
        limiter=SharedWindowLimiter(config.rate_limit_per_minute, config.rate_limit_window_seconds),
        google_threads=anyio.CapacityLimiter(config.provisioning_threads),
    )

    def dispose() -> None:
        engine.dispose()

    app = MeetArchiveApi(
        route_handlers=[MeetingController, SearchController, MatterController, SystemController, _docs_assets()],
        middleware=[ApiKeyAuthMiddleware()],
        dependencies=dependencies(state),
        plugins=[problem_plugin()],
        openapi_config=_openapi(),
        state=State({"meet": state}),
        request_max_body_size=config.max_body_bytes,
        on_shutdown=[dispose],
        # Logging is the process's, configured once by its entry point with the Litestar
        # LoggingConfig of meet_api.lib.logging (server.main, the CLI), not by every app built
        # (tests and the demo build several in one process).
        logging_config=None,
        before_request=refuse_unknown_query_parameters,
        debug=False,
    )
    record_query_parameters(app)
    return app
