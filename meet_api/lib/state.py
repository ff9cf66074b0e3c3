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
    sessions: sessionmaker[Session]
    gateway: GoogleGateway
    metrics: ApiMetrics
    limiter: SharedWindowLimiter
    # Caps the threads that provision (and so wait on Google) at the same time.
    google_threads: anyio.CapacityLimiter


def app_state(app: Any) -> AppState:
    """The AppState of a Litestar app (``connection.app`` or ``request.app``)."""
    state: AppState = app.state.meet
    return state
