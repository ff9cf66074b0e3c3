"""Request and response values passed between the HTTP layer and the API handlers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, bad_request


@dataclass
class Token:
    """What an access token stands for: the service account, the impersonated user, scopes."""

    issuer: str
    subject: str
    scopes: frozenset[str]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # path parameters
    token: Token | None = None
    api: str = ""
    method_id: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        return list(self.query.get(name, []))

    def int_arg(self, name: str, default: int | None = None, minimum: int = 0) -> int | None:
        raw = self.arg(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise bad_request(f"Invalid value '{raw}' for {name}.", location=name) from None
        if value < minimum:
            raise bad_request(f"Invalid value '{raw}' for {name}: below {minimum}.", location=name)
        return value

    def bool_arg(self, name: str, default: bool = False) -> bool:
        raw = self.arg(name)
        if raw is None or raw == "":
            return default
        if raw.lower() in ("true", "1"):
            return True
        if raw.lower() in ("false", "0"):
            return False
        raise bad_request(f"Invalid boolean value '{raw}' for {name}.", location=name)

    def json(self, required: bool = True) -> dict[str, Any]:
        """The JSON object body; malformed JSON answers 400 as Google's front end does."""
        if not self.body.strip():
            if required:
                raise bad_request("Request body is required.", reason="required")
            return {}
        try:
            value = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"Invalid JSON payload received. {exc}", "parseError") from None
        if not isinstance(value, dict):
            raise ApiError(400, "Invalid JSON payload received. Expected an object.", "parseError")
        return value

    @property
    def subject(self) -> str:
        assert self.token is not None
        return self.token.subject


@dataclass
class Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # A streamed body: chunks whose total length is `length` (media downloads).
    stream: Iterable[bytes | memoryview] | None = None
    length: int | None = None
    json_value: Any = None  # kept for the request log and schema checks
    media: bool = False

    @property
    def content_length(self) -> int:
        return (
            self.length if self.stream is not None and self.length is not None else len(self.body)
        )

    def chunks(self) -> Iterator[bytes | memoryview]:
        if self.stream is not None:
            yield from self.stream
        elif self.body:
            yield self.body


def json_response(value: Any, status: int = 200) -> Response:
    body = json.dumps(value, indent=1).encode()
    return Response(
        status=status,
        headers={"Content-Type": "application/json; charset=UTF-8"},
        body=body,
        json_value=value,
    )


def empty_response(status: int = 204) -> Response:
    return Response(status=status)
