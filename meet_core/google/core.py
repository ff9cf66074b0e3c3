"""Plumbing shared by the gateway's method groups.

Every call goes through ``_execute``/``_run``: one retry policy, one attempt counter, one
thread-local client per subject.
"""

from __future__ import annotations

import dataclasses
import http.client
from collections.abc import Callable
from typing import Any, TypeVar

import google.auth.credentials
import google.auth.exceptions
import httplib2

from meet_core.google import validate
from meet_core.google.auth import load_service_account
from meet_core.google.config import GoogleConfig, google_config
from meet_core.google.errors import GoogleError
from meet_core.google.retry import RetryPolicy, TruncatedBody, call_with_retry
from meet_core.google.transport import CallCounter, ClientPool
from meet_core.settings import Settings

R = TypeVar("R")
# Failures after which the connection's state is unknown (half-read answer, late answer).
TRANSPORT_ERRORS = (
    OSError,
    http.client.HTTPException,
    httplib2.HttpLib2Error,
    google.auth.exceptions.TransportError,
    TruncatedBody,
)


class GatewayCore:
    """Configuration, credentials, retry policy and call counter of one gateway.

    ``config`` is a :class:`GoogleConfig` (what the gateway needs, e.g. from a Dagster
    resource) or the app's :class:`Settings` (the API, the CLI).
    """

    def __init__(
        self,
        config: Settings | GoogleConfig,
        credentials: google.auth.credentials.Credentials | None = None,
        *,
        http_timeout: float = 30.0,
        deadline: float | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        if http_timeout <= 0:
            raise ValueError(f"http_timeout must be positive, got {http_timeout!r}")
        self.config = google_config(config)
        self.calls = CallCounter()
        policy = retry_policy or RetryPolicy()
        self.retry_policy = dataclasses.replace(
            policy,
            deadline=float(deadline if deadline is not None else self.config.deadline_seconds),
        )
        self._pool = ClientPool(
            credentials if credentials is not None else load_service_account(self.config),
            endpoint=self.config.endpoint,
            http_timeout=http_timeout,
        )

    def _subject(self, subject: str | None) -> str:
        return validate.subject(subject if subject is not None else self.config.subject)

    def _calendar_id(self, calendar_id: str | None) -> str:
        return validate.calendar_id(
            calendar_id if calendar_id is not None else self.config.calendar_id
        )

    def _service(self, api: str, subject: str) -> Any:
        return self._pool.service(api, subject)

    def _run(self, method: str, attempt: Callable[[], R], subject: str) -> R:
        """Run one logical call under the retry policy, counting every attempt."""

        def guarded() -> R:
            try:
                return attempt()
            except TRANSPORT_ERRORS:
                self._pool.drop_connections(subject)
                raise

        return call_with_retry(
            guarded,
            method=method,
            policy=self.retry_policy,
            on_attempt=lambda: self.calls.add(method),
        )

    def _execute(
        self, api: str, subject: str, make: Callable[[Any], Any], *, json: bool = True
    ) -> Any:
        """Build the request with ``make(service)`` per attempt (a fresh request each time)
        and execute it without the client's own retries, so backoff and counting are ours."""
        service = self._service(api, subject)
        method = make(service).methodId

        def attempt() -> Any:
            result = make(service).execute(num_retries=0)
            if json and not isinstance(result, dict):
                # The client hands back the raw text when the JSON does not parse: a cut body.
                raise TruncatedBody(
                    f"{method}: response body is not a JSON object ({str(result)[:80]!r})"
                )
            return result

        return self._run(method, attempt, subject)

    def _list_all(
        self, api: str, subject: str, make_page: Callable[[Any, str | None], Any], key: str
    ) -> list[dict[str, Any]]:
        """Follow nextPageToken to the end; each page is its own retried call."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        seen: set[str] = set()
        while True:

            def request(service: Any, token: str | None = token) -> Any:
                return make_page(service, token)

            page = self._execute(api, subject, request)
            items.extend(page.get(key) or [])
            token = page.get("nextPageToken") or None
            if token is None:
                return items
            if token in seen:  # a server bug must not become an endless loop
                raise GoogleError(f"page token repeated: {token!r}", reason="pageTokenLoop")
            seen.add(token)
