"""Per-thread HTTP clients and the attempt counter.

httplib2.Http is not thread-safe, so every thread gets its own ``AuthorizedHttp`` (and the
discovery-built services bound to it) per API and impersonated subject. Credentials are
shared per API and subject across threads, so one token, scoped to that API, serves them all.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import google.auth.credentials
import google_auth_httplib2
import httplib2
from googleapiclient.discovery import build

from meet_core.google.auth import API_SCOPES

# api -> (discovery name, version, path under the emulator base URL)
APIS: dict[str, tuple[str, str, str]] = {
    "calendar": ("calendar", "v3", "/calendar/v3/"),
    "meet": ("meet", "v2", "/"),
    "drive": ("drive", "v3", "/drive/v3/"),
    # Both keep Google's own paths (/v1/people/…, /admin/directory/v1/…) under the base URL.
    "people": ("people", "v1", "/"),
    "directory": ("admin", "directory_v1", "/"),
    "workspaceevents": ("workspaceevents", "v1", "/"),
    "pubsub": ("pubsub", "v1", "/"),
}
# The "subject" under which the service account calls as itself (Pub/Sub): no delegation.
SELF = "@service-account"


class CallCounter:
    """Thread-safe count of HTTP attempts keyed by discovery method id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, method: str) -> None:
        with self._lock:
            self._counts[method] += 1

    def __getitem__(self, method: str) -> int:
        with self._lock:
            return self._counts[method]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class ClientPool:
    """Hands out this thread's service for (api, subject), building it on first use."""

    def __init__(
        self,
        credentials: google.auth.credentials.Credentials,
        *,
        endpoint: str | None,
        http_timeout: float,
    ) -> None:
        self._base = credentials
        self._endpoint = endpoint.rstrip("/") if endpoint else None
        self._timeout = http_timeout
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, str], google.auth.credentials.Credentials] = {}
        self._local = threading.local()

    def credentials(self, api: str, subject: str) -> google.auth.credentials.Credentials:
        """One credential (so one token) per API and subject, shared by every thread, scoped
        to that API's own scopes (:data:`API_SCOPES`)."""
        with self._lock:
            creds = self._by_key.get((api, subject))
            if creds is None:
                # Domain-wide delegation: act as the organizer. Other credential kinds
                # (e.g. user credentials in a test) have neither scopes nor subject to set.
                with_scopes = getattr(self._base, "with_scopes", None)
                creds = with_scopes(list(API_SCOPES[api])) if with_scopes else self._base
                with_subject = getattr(creds, "with_subject", None)
                if subject != SELF and with_subject:
                    creds = with_subject(subject)
                self._by_key[(api, subject)] = creds
            return creds

    def http(self, api: str, subject: str) -> google_auth_httplib2.AuthorizedHttp:
        cache: dict[tuple[str, str], google_auth_httplib2.AuthorizedHttp] = self._thread_cache("http")
        authed = cache.get((api, subject))
        if authed is None:
            raw = httplib2.Http(timeout=self._timeout)
            authed = google_auth_httplib2.AuthorizedHttp(self.credentials(api, subject), http=raw)
            cache[(api, subject)] = authed
        return authed

    def drop_connections(self, subject: str) -> None:
        """Close this thread's sockets for ``subject`` after a transport failure, so a late
        answer to a timed-out request can never be read as the answer to the next one."""
        cache: dict[tuple[str, str], google_auth_httplib2.AuthorizedHttp] = self._thread_cache("http")
        for (_, owner), authed in cache.items():
            if owner != subject:
                continue
            connections = authed.http.connections
            for connection in list(connections.values()):
                connection.close()
            connections.clear()

    def service(self, api: str, subject: str) -> Any:
        cache: dict[tuple[str, str], Any] = self._thread_cache("services")
        service = cache.get((api, subject))
        if service is None:
            name, version, path = APIS[api]
            options = {"api_endpoint": self._endpoint + path} if self._endpoint else None
            service = build(
                name,
                version,
                http=self.http(api, subject),
                static_discovery=True,
                cache_discovery=False,
                client_options=options,
            )
            cache[(api, subject)] = service
        return service

    def _thread_cache(self, name: str) -> dict[Any, Any]:
        cache = getattr(self._local, name, None)
        if cache is None:
            cache = {}
            setattr(self._local, name, cache)
        return cache
