"""RFC 9457 problem details for every error the API can answer, 404 and 500 included.

Every problem carries ``type``, ``title``, ``status``, ``detail``, ``instance`` (the path)
and ``request_id`` (also in the ``X-Request-ID`` header) so that XOMA can quote it to us.
Field errors add ``errors: [{"field", "message"}]``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy.exc import OperationalError

from meet_api.lib.context import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:meet-archive:problem:"
log = logging.getLogger("meet_api.errors")

# Short titles for the statuses that have no problem type of their own.
_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
}


class FieldError(msgspec.Struct, kw_only=True):
    field: str
    message: str


class Problem(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem document (documented in OpenAPI; answered as a plain dict)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class ApiProblem(ProblemDetailsException):
    """Raise to answer with a problem document; ``slug`` names the problem type."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        errors: Sequence[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            detail=detail,
            status_code=status,
            headers=dict(headers or {}),
            type_=f"{TYPE_PREFIX}{slug}" if slug else "about:blank",
            title=title or _TITLES.get(status, "Error"),
        )
        self.errors = list(errors or [])
        self.extra_members = dict(extra or {})

    def to_response(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        # Extension members never override the standard ones.
        body: dict[str, Any] = {
            **self.extra_members,
            "type": self.type_ or "about:blank",
            "title": self.title or _TITLES.get(self.status_code, "Error"),
            "status": self.status_code,
            "detail": self.detail,
            "instance": request.url.path,
            "request_id": current_request_id(),
        }
        if self.errors:
            body["errors"] = [msgspec.to_builtins(e) for e in self.errors]
        return Response(
            body, status_code=self.status_code, headers=self.headers, media_type=PROBLEM_MEDIA_TYPE
        )


def validation_problem(errors: Sequence[FieldError], *, status: int = 422) -> ApiProblem:
    first = errors[0] if errors else FieldError(field="body", message="invalid")
    return ApiProblem(
        status,
        f"{first.field}: {first.message}"
        + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
        slug="validation-error",
        title="Request validation failed",
        errors=errors,
    )


def _from_http_exception(exc: HTTPException) -> ApiProblem:
    headers = dict(exc.headers or {})
    if isinstance(exc, NotAuthorizedException):
        headers.setdefault("WWW-Authenticate", 'Bearer realm="meet-archive"')
    detail = exc.detail if exc.detail and exc.detail != _TITLES.get(exc.status_code) else ""
    return ApiProblem(
        exc.status_code, detail or _TITLES.get(exc.status_code, "Error"), headers=headers
    )


TIME_FORMAT_HELP = (
    "must be an RFC 3339 time with an offset, e.g. 2026-01-07T10:00:00Z or "
    "2026-01-07T11:00:00%2B01:00: in a query string '+' must be sent as %2B (a bare '+' "
    "arrives as a space), or use Z"
)


def _in_words(field: str, message: str) -> str:
    """Litestar names the regular expression a value failed; a client needs words."""
    if "regex" not in message:
        return message
    if field in ("start_from", "start_to"):
        return TIME_FORMAT_HELP
    return "does not have the expected format (see the OpenAPI document)"


def _from_validation_exception(exc: ValidationException) -> ApiProblem:
    # Litestar raises this for path and query parameters (bodies are decoded strictly by us).
    errors = [
        FieldError(field=field, message=_in_words(field, str(item.get("message"))))
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
        for field in [str(item.get("key") or item.get("source") or "request")]
    ]
    return validation_problem(
        errors or [FieldError(field="request", message=str(exc.detail))], status=400
    )


def _from_database_unavailable(exc: OperationalError) -> ApiProblem:
    # The database restarting or failing over is transient: tell the client to retry.
    log.warning("database unavailable: %s", type(exc.orig).__name__ if exc.orig else exc)
    return ApiProblem(
        HTTP_503_SERVICE_UNAVAILABLE,
        "The database is unavailable for a moment; retry after the indicated delay.",
        slug="database-unavailable",
        headers={"Retry-After": "5"},
    )


def _from_unexpected(exc: Exception) -> ApiProblem:
    log.error("unhandled error", exc_info=exc)
    return ApiProblem(
        HTTP_500_INTERNAL_SERVER_ERROR, "An unexpected error occurred; quote the request id."
    )


def problem_plugin() -> ProblemDetailsPlugin:
    """Every exception, HTTP or not, becomes a problem document."""
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            exception_to_problem_detail_map={
                ValidationException: _from_validation_exception,
                HTTPException: _from_http_exception,
                OperationalError: _from_database_unavailable,
                Exception: _from_unexpected,
            }
        )
    )


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem documents a route can answer."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_TITLES.get(status, "Error") + " (problem details)",
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in statuses
    }


# What every authenticated route may answer besides its own successes.
AUTHENTICATED_ERRORS = (400, 401, 403, 404, 405, 429, 500, 503)
