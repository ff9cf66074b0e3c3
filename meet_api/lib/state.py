"""What the app shares between requests: settings, database, Google gateway, metrics, limiter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from meet_api.config import ApiConfig
from meet_api.lib.metrics import ApiMetrics
from meet_api.lib.ratelimit import SharedWindowLimiter
from meet_core.google.gateway import GoogleGateway
from meet_core.settings import Settings


@dataclass(slots=True)
class AppState:
    settings: Settings
    config: ApiConfig
    engine: Engine
    reader: Engine  # see read_engine
    sessions: sessionmaker[Session]
    gateway: GoogleGateway
    metrics: ApiMetrics
    limiter: SharedWindowLimiter
    # Caps the threads that provision (and so wait on Google) at the same time.
    google_threads: anyio.CapacityLimiter


def read_engine(engine: Engine) -> Engine:
    """The same pool in autocommit on PostgreSQL, for reads and the authentication's single
    statements: a read at READ COMMITTED gains nothing from a transaction, and skipping
    BEGIN and COMMIT/ROLLBACK saves four of a detail request's nine round trips. SQLite
    keeps its own transaction handling (meet_core.db.engine)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine


def app_state(app: Any) -> AppState:
    """The AppState of a Litestar app (``connection.app`` or ``request.app``)."""
    state: AppState = app.state.meet
    return state
