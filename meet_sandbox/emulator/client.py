"""A small client of the `/_emulator/` control API, for tests, the demo and scripts."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit


class SandboxError(RuntimeError):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status, self.body = status, body


class SandboxClient:
    """Plays the people of the sandbox: joins, leaves, recordings, the clock, faults."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json"} if payload is not None else {}
            connection.request(
                method, "/_emulator/" + path.lstrip("/"), body=payload, headers=headers
            )
            response = connection.getresponse()
            value = json.loads(response.read() or b"{}")
        finally:
            connection.close()
        if response.status >= 400:
            raise SandboxError(response.status, value)
        return value

    def join(
        self,
        space: str,
        email: str | None = None,
        *,
        kind: str = "signedinUser",
        display_name: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        body = {"space": space, "kind": kind, **extra}
        if email:
            body["email"] = email
        if display_name:
            body["display_name"] = display_name
        return self.call("POST", "participants/join", body)

    def leave(
        self, space: str, email: str | None = None, *, display_name: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"space": space}
        if email:
            body["email"] = email
        if display_name:
            body["display_name"] = display_name
        return self.call("POST", "participants/leave", body)

    def start_conference(
        self, space: str, recording_size_bytes: int | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"space": space}
        if recording_size_bytes is not None:
            body["recording_size_bytes"] = recording_size_bytes
        return self.call("POST", "conferences/start", body)

    def end_conference(self, space: str) -> dict[str, Any]:
        return self.call("POST", "conferences/end", {"space": space})

    def start_recording(self, space: str, by: str) -> dict[str, Any]:
        return self.call("POST", "recordings/start", {"space": space, "by": by})

    def stop_recording(self, space: str) -> dict[str, Any]:
        return self.call("POST", "recordings/stop", {"space": space})

    def advance(self, seconds: float) -> dict[str, Any]:
        return self.call("POST", "clock/advance", {"seconds": seconds})

    def settings(self, **values: Any) -> dict[str, Any]:
        return self.call("POST", "settings", values)

    def suspend_subscription(
        self,
        subscription: str | None = None,
        *,
        user: str | None = None,
        reason: str = "USER_AUTHORIZATION_FAILURE",
    ) -> dict[str, Any]:
        """Suspend a Workspace Events subscription (by name, or the one of a user's email)."""
        body: dict[str, Any] = {"reason": reason}
        if subscription:
            body["subscription"] = subscription
        if user:
            body["user"] = user
        return self.call("POST", "subscriptions/suspend", body)

    def faults(self, **spec: Any) -> dict[str, Any]:
        return self.call("POST", "faults", spec)

    def clear_faults(self) -> dict[str, Any]:
        return self.call("DELETE", "faults")

    def requests(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "requests")["requests"])

    def invitations(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "invitations")["invitations"])

    def state(self) -> dict[str, Any]:
        return dict(self.call("GET", "state"))

    def reset(self) -> None:
        self.call("POST", "reset", {})
