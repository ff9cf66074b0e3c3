"""Serving the API with uvicorn: in the foreground (the CLI) or on a background thread
(tests and the demo, which need the real HTTP server on a free loopback port)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from litestar import Litestar

from meet_api.lib.logging import configure_logging
from meet_core.db.migrate import upgrade
from meet_core.settings import Settings

log = logging.getLogger("meet_api.server")


# One set of uvicorn settings for one process and for workers. Our own JSON access log
# replaces uvicorn's (it has no request id).
UVICORN_SETTINGS: dict[str, Any] = {
    "log_config": None,
    "access_log": False,
    "lifespan": "on",
    "server_header": False,
    "timeout_graceful_shutdown": 10,
}


def _config(app: Litestar, host: str = "127.0.0.1", port: int = 8000) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, **UVICORN_SETTINGS)


def serve(app: Litestar, host: str, port: int) -> None:
    """Serve until interrupted."""
    uvicorn.Server(_config(app, host=host, port=port)).run()


class BackgroundServer:
    """The app on ``host:port`` (0: a free port) in a daemon thread; ``base_url`` once started."""

    def __init__(self, app: Litestar, host: str = "127.0.0.1", port: int = 0) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        self._server = uvicorn.Server(_config(app))
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name="meet-api",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        self._thread.start()
        give_up = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > give_up:
                raise RuntimeError("the API server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._socket.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


class GoogleNotConfigured(RuntimeError):
    """The API was asked to serve with no Google to talk to."""


def require_google(settings: Settings) -> None:
    """Fail fast, in one line, when neither Google credentials nor an endpoint are set."""
    if not (settings.google_endpoint or settings.google_credentials_file):
        raise GoogleNotConfigured(
            "no Google configured: set GOOGLE_APPLICATION_CREDENTIALS (production) or "
            "MEET_GOOGLE_ENDPOINT (an emulator), or run `meet-archive api --sandbox`"
        )


APP_FACTORY = "meet_api.app:create_app_from_env"


def serve_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    """``workers`` processes on one socket (uvicorn's supervisor restarts one that dies).
    Each builds its own app from the environment (:data:`APP_FACTORY`), so what this process
    resolved (an embedded emulator's endpoint and account) is handed down through it."""
    if settings.google_endpoint:
        os.environ["MEET_GOOGLE_ENDPOINT"] = settings.google_endpoint
    if settings.google_credentials_file:
        os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = str(settings.google_credentials_file)
    os.environ.setdefault("MEET_DATABASE_URL", settings.database_url)
    uvicorn.run(APP_FACTORY, factory=True, workers=workers, host=host, port=port, **UVICORN_SETTINGS)


def main(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """``meet-archive api``: the embedded SQLite default is migrated; a configured database is
    never migrated behind the operator's back. ``workers`` > 1: that many processes, which
    share the rate limit through the database (meet_api.lib.ratelimit)."""
    from meet_api.app import create_app

    require_google(settings)
    configure_logging()
    if "MEET_DATABASE_URL" not in os.environ:
        upgrade(settings.database_url)
    # Built here even for workers: a configuration error then ends this command (exit 2)
    # instead of killing every worker at start, which uvicorn's supervisor would restart.
    app = create_app(settings)
    if workers > 1:
        app.state.meet.engine.dispose()
        serve_workers(settings, host, port, workers)
        return
    serve(app, host, port)
