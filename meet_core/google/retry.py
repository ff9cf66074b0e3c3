"""The one retry policy for every Google call, media chunks included.

Retried: 429, 5xx, 403 rateLimitExceeded/userRateLimitExceeded, connection resets, timeouts
and truncated bodies. Never retried: every other 4xx (retrying a bad request only burns quota).
Backoff is capped, jittered and exponential, honours ``Retry-After`` (and AIP-193
``RetryInfo``), and stops at a total deadline so callers (an HTTP request, a sensor tick)
get an answer in bounded time.
"""

from __future__ import annotations

import errno
import http.client
import json
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

import google.auth.exceptions
import httplib2
from googleapiclient.errors import HttpError

from meet_core.google.errors import (
    Conflict,
    GoogleError,
    GoogleUnavailable,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    QuotaExhausted,
)

T = TypeVar("T")

RATE_LIMIT_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"}
)
# OAuth token-endpoint error codes that are transient (google-auth only knows the 5xx ones).
TRANSIENT_OAUTH_ERRORS = frozenset(
    {"rate_limit_exceeded", "internal_failure", "server_error", "temporarily_unavailable"}
)
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
# errno names of transient socket failures (resets, refused while a server restarts, timeouts).
_TRANSIENT_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "EPIPE", "ETIMEDOUT")
    if hasattr(errno, name)
)


class TruncatedBody(Exception):
    """A 2xx answer whose body is cut short, over-long or not the JSON it should be."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped, jittered exponential backoff within a total deadline (seconds)."""

    base: float = 0.2
    cap: float = 8.0
    deadline: float = 30.0
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base or self.deadline <= 0:
            raise ValueError("RetryPolicy: need 0 < base <= cap and deadline > 0")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("RetryPolicy: max_attempts must be >= 1")

    def delay(self, retry_number: int, retry_after: float | None, rand: float) -> float:
        """Sleep before retry ``retry_number`` (0-based); ``rand`` is uniform in [0, 1).

        Equal jitter: half the exponential step is fixed so the backoff really grows, the
        other half is random so many clients do not retry in lock-step. A server-given
        Retry-After is a floor and is not capped: the server knows best.
        """
        step = min(self.cap, self.base * 2.0**retry_number)
        jittered = step / 2 + rand * step / 2
        return max(jittered, retry_after) if retry_after is not None else jittered


def _duration(text: str) -> float | None:
    """Protobuf Duration JSON ("3s", "0.5s") to seconds."""
    try:
        return float(text[:-1]) if text.endswith("s") else None
    except ValueError:
        return None


def parse_error_body(content: bytes | str | None) -> tuple[str, str | None, float | None]:
    """(message, reason, retry delay) from a Calendar/Drive envelope, an AIP-193 envelope or
    a non-JSON body (a 503 HTML page from a load balancer)."""
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else (content or "")
    try:
        error = json.loads(text)["error"]
    except (ValueError, KeyError, TypeError):
        return (" ".join(text.split())[:200] or "(empty body)", None, None)
    if not isinstance(error, dict):
        return (str(error)[:200], None, None)
    message = str(error.get("message") or "")
    reason: str | None = None
    legacy = error.get("errors")
    if isinstance(legacy, list) and legacy and isinstance(legacy[0], dict):
        reason = legacy[0].get("reason")
    delay: float | None = None
    for detail in error.get("details") or []:
        if not isinstance(detail, dict):
            continue
        kind = str(detail.get("@type", ""))
        if kind.endswith("google.rpc.ErrorInfo") and reason is None:
            reason = detail.get("reason")
        elif kind.endswith("google.rpc.RetryInfo"):
            delay = _duration(str(detail.get("retryDelay", "")))
    if reason is None and isinstance(error.get("status"), str):
        reason = error["status"]
    return (message or "(no message)", reason, delay)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date); None when absent or garbage."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def _from_http_error(exc: HttpError, method: str) -> tuple[GoogleError, bool]:
    status = int(exc.resp.status)
    message, reason, delay = parse_error_body(exc.content)
    header_delay = parse_retry_after(exc.resp.get("retry-after"))
    retry_after = header_delay if header_delay is not None else delay

    def error(cls: type[GoogleError]) -> GoogleError:
        return cls(message, status=status, reason=reason, method=method, retry_after=retry_after)

    if status == 429 or status >= 500:
        return error(GoogleError), True
    if status == 403 and reason in RATE_LIMIT_REASONS:
        return error(GoogleError), True
    if status == 403 and reason in QUOTA_REASONS:
        return error(QuotaExhausted), False
    if status in (401, 403):
        return error(PermissionDenied), False
    if status in (404, 410):
        return error(NotFound), False
    if status == 409:
        return error(Conflict), False
    return error(InvalidRequest), False


def classify(exc: BaseException, method: str) -> tuple[GoogleError, bool]:
    """Map anything a Google call can raise to (gateway error, retryable?).

    Unknown exceptions are not classified here: they are programming errors and propagate.
    """
    if isinstance(exc, GoogleError):
        return exc, False
    if isinstance(exc, HttpError):
        return _from_http_error(exc, method)
    if isinstance(exc, google.auth.exceptions.RefreshError):
        # google-auth already retried the token endpoint's 5xx; it flags what is transient.
        data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
        retryable = (
            bool(getattr(exc, "retryable", False)) or data.get("error") in TRANSIENT_OAUTH_ERRORS
        )
        cls = GoogleError if retryable else PermissionDenied
        return cls(f"token refresh failed: {exc}", method=method, reason="refresh"), retryable
    if isinstance(exc, google.auth.exceptions.TransportError):
        return GoogleError(
            f"token endpoint unreachable: {exc}", method=method, reason="transport"
        ), True
    if isinstance(exc, TruncatedBody):
        return GoogleError(str(exc), method=method, reason="truncated"), True
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return GoogleError(f"timed out: {exc}", method=method, reason="timeout"), True
    if isinstance(exc, (ConnectionError, http.client.HTTPException, httplib2.ServerNotFoundError)):
        return GoogleError(f"connection failed: {exc!r}", method=method, reason="connection"), True
    if isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS:
        return GoogleError(f"socket error: {exc!r}", method=method, reason="connection"), True
    raise exc


def call_with_retry(
    attempt: Callable[[], T],
    *,
    method: str,
    policy: RetryPolicy,
    on_attempt: Callable[[], None] = lambda: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rand: Callable[[], float] = random.random,
) -> T:
    """Run ``attempt`` until it succeeds, fails for good, or the deadline would pass."""
    started = clock()
    retry_number = 0
    while True:
        on_attempt()
        try:
            return attempt()
        except Exception as exc:  # noqa: BLE001 - classify() re-raises what it does not know
            error, retryable = classify(exc, method)
            if not retryable:
                raise error from exc
            attempts = retry_number + 1
            wait = policy.delay(retry_number, error.retry_after, rand())
            out_of_time = clock() - started + wait > policy.deadline
            out_of_tries = policy.max_attempts is not None and attempts >= policy.max_attempts
            if out_of_time or out_of_tries:
                raise GoogleUnavailable(
                    f"gave up after {attempts} attempt(s): {error}",
                    status=error.status,
                    reason=error.reason,
                    method=method,
                    retry_after=error.retry_after,
                ) from exc
            sleep(wait)
            retry_number += 1
