"""Errors raised by the Google gateway.

Callers branch on the class (not found, conflict, quota, unavailable …); ``status``,
``reason`` and ``method`` keep Google's own words for logs and audit rows.
"""

from __future__ import annotations


class GoogleError(Exception):
    """A Google call failed; ``status`` is the HTTP status (None for transport failures)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str | None = None,
        method: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        self.method = method
        # Server-suggested wait, kept so a GoogleUnavailable can tell the caller when to come back.
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method else ""
        status = f"HTTP {self.status} " if self.status is not None else ""
        reason = f"[{self.reason}] " if self.reason else ""
        return f"{where}{status}{reason}{self.message}"


class NotFound(GoogleError):
    """404 / 410: the resource does not exist (or is gone)."""


class PermissionDenied(GoogleError):
    """401 / 403 (not a rate limit): the impersonated user or the scopes do not allow it."""


class InvalidRequest(GoogleError):
    """400 and other client errors: the request itself is wrong; retrying cannot help."""


class Conflict(GoogleError):
    """409: e.g. an event id that already exists."""


class QuotaExhausted(GoogleError):
    """403 quotaExceeded / dailyLimitExceeded: a quota that will not recover within a retry."""


class GoogleUnavailable(GoogleError):
    """Retryable failures persisted until the retry deadline ran out."""


class ConferenceCreationFailed(GoogleError):
    """Calendar reported ``createRequest.status.statusCode = failure`` for the Meet conference."""


class IncompleteDownload(GoogleError):
    """A media download ended with a different number of bytes than expected."""
