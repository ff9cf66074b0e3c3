"""Google-shaped API errors.

Calendar and Drive answer with the classic envelope
``{"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}``; Meet (a
newer, One Platform API) answers with AIP-193 ``{"error": {"code", "message", "status"}}``.
The same :class:`ApiError` renders either way, depending on which API raised it.
"""

from __future__ import annotations

import json
from typing import Any

GRPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "NOT_FOUND",
    412: "FAILED_PRECONDITION",
    416: "OUT_OF_RANGE",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}

CLASSIC_APIS = ("calendar", "drive", "directory")  # People answers like Meet (AIP-193)


class ApiError(Exception):
    """An error answered to the client in the style of the API that raised it."""

    def __init__(
        self,
        code: int,
        message: str,
        reason: str = "invalid",
        *,
        status: str | None = None,
        domain: str = "global",
        location: str | None = None,
        location_type: str | None = None,
        headers: dict[str, str] | None = None,
        classic_errors_in_meet: bool = False,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.status = status or GRPC_STATUS.get(code, "UNKNOWN")
        self.domain = domain
        self.location = location
        self.location_type = location_type
        self.headers = headers or {}
        # 403 rate limits carry `errors[].reason` everywhere so one retry rule fits all APIs.
        self.classic_errors_in_meet = classic_errors_in_meet
        self.details = details  # AIP-193 `details` (google.rpc.ErrorInfo, …)

    def body(self, api: str) -> dict[str, Any]:
        item: dict[str, Any] = {
            "message": self.message,
            "domain": self.domain,
            "reason": self.reason,
        }
        if self.location:
            item["location"] = self.location
            item["locationType"] = self.location_type or "parameter"
        if api in CLASSIC_APIS:
            return {"error": {"code": self.code, "message": self.message, "errors": [item]}}
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.classic_errors_in_meet:
            error["errors"] = [item]
        if self.details:
            error["details"] = self.details
        return {"error": error}

    def render(self, api: str) -> bytes:
        return json.dumps(self.body(api), indent=2).encode()


def bad_request(message: str, *, location: str | None = None, reason: str = "invalid") -> ApiError:
    return ApiError(400, message, reason, location=location)


def not_found(message: str = "Not Found", *, location: str | None = None) -> ApiError:
    return ApiError(404, message, "notFound", location=location)


def insufficient_scopes() -> ApiError:
    return ApiError(
        403,
        "Request had insufficient authentication scopes.",
        "insufficientPermissions",
        status="PERMISSION_DENIED",
    )


def unauthenticated(message: str, reason: str = "required") -> ApiError:
    return ApiError(
        401,
        message,
        reason,
        status="UNAUTHENTICATED",
        location="Authorization",
        location_type="header",
        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
    )
