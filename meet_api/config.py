"""API-only knobs (the shared ones live in meet_core.settings). All optional."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from meet_core.settings import Settings, env_int


@dataclass(frozen=True, slots=True)
class ApiConfig:
    # Requests per key per minute (MEET_API_RATE_LIMIT).
    rate_limit_per_minute: int = 600
    rate_limit_window_seconds: int = 60
    # Largest accepted request body (MEET_API_MAX_BODY_BYTES); 100 participants fit in ~40 KiB.
    max_body_bytes: int = 256 * 1024
    # How long POST waits for Google before answering 202 pending
    # (MEET_API_PROVISION_DEADLINE_SECONDS; default: MEET_GOOGLE_DEADLINE_SECONDS).
    provisioning_deadline_seconds: float = 30.0
    # Largest page a list may return.
    max_page_size: int = 200
    # Worker threads that may wait on Google at once (MEET_API_PROVISIONING_THREADS); kept
    # below anyio's default 40 so that an outage cannot starve database work of threads.
    provisioning_threads: int = 16

    @classmethod
    def from_env(cls, settings: Settings, env: Mapping[str, str] | None = None) -> ApiConfig:
        env = os.environ if env is None else env
        return cls(
            rate_limit_per_minute=env_int(env, "MEET_API_RATE_LIMIT", 600, 1, 1_000_000),
            max_body_bytes=env_int(env, "MEET_API_MAX_BODY_BYTES", 256 * 1024, 1024, 16 * 1024 * 1024),
            provisioning_threads=env_int(env, "MEET_API_PROVISIONING_THREADS", 16, 1, 32),
            provisioning_deadline_seconds=float(
                env_int(
                    env,
                    "MEET_API_PROVISION_DEADLINE_SECONDS",
                    settings.google_deadline_seconds,
                    1,
                    3600,
                )
            ),
        )
