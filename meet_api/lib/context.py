"""Per-request context (the request id) that every log line and audit event carries.

A context variable rather than request state, so that code running in worker threads
(anyio copies the context into them) and library code without a request can read it.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("meet_api_request_id", default=None)
# A caller-supplied id is kept only if it is short and harmless in logs and headers.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def request_id_from_header(value: str | None) -> str:
    """The caller's X-Request-ID when it is safe to echo, else a new random id."""
    if value and _SAFE_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return REQUEST_ID.get()
