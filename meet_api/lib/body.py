"""Strict JSON request bodies, handed to handlers as the ``data`` they declare.

Why not Litestar's own decoding: it converts leniently (``"1"`` becomes ``1``), answers
invalid UTF-8 with a 500 and does not name the offending field the way our problem
documents do. So a write handler declares ``data: MeetingCreate`` with
``dto=StrictBody[MeetingCreate]``, and Litestar's DTO hook hands
the raw bytes to :class:`StrictBody`, which decodes them once with msgspec in strict mode
(unknown fields refused by the Structs): bad UTF-8 or malformed JSON is a 400, a wrong field
a 422 with ``errors``. The OpenAPI document still shows the Struct as the request body.

Two checks come before the bytes reach the DTO and run as the route's ``before_request``
(:func:`require_json_body`): the media type (415, before any byte is read, so a huge body
of the wrong type is a 415 as it always was) and the size (Litestar's 413 while reading).
An empty body is refused there too (400): Litestar's DTO hook skips empty bodies, which
would otherwise surface as a "missing parameter" instead of malformed JSON.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Generator
from typing import Any, Generic, TypeVar

import msgspec
from litestar import Request
from litestar.dto import AbstractDTO, DTOFieldDefinition
from litestar.typing import FieldDefinition

from meet_api.lib.problems import ApiProblem, FieldError, validation_problem

T = TypeVar("T")
_JSON_MEDIA = re.compile(r"application/([a-z0-9.+-]+\+)?json")
_AT = re.compile(r" - at `\$(.*)`$")


@functools.cache
def _decoder(struct: type[Any]) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(struct, strict=True)


def _field_error(exc: msgspec.ValidationError) -> FieldError:
    message = str(exc)
    match = _AT.search(message)
    path = match.group(1).lstrip(".") if match else ""
    return FieldError(field=path or "body", message=_AT.sub("", message))


def _malformed(reason: object) -> ApiProblem:
    return ApiProblem(400, f"the body is not valid JSON: {reason}", slug="malformed-body")


def decode_strict(struct: Any, raw: bytes) -> Any:
    """``raw`` as ``struct``: 400 for bad UTF-8 or malformed JSON, 422 for a wrong field."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiProblem(400, "the body is not valid UTF-8", slug="malformed-body") from None
    try:
        value = _decoder(struct).decode(raw)
    except msgspec.ValidationError as exc:
        raise validation_problem([_field_error(exc)]) from None
    except msgspec.DecodeError as exc:
        raise _malformed(exc) from None
    return value


def _check_media_type(request: Request[Any, Any, Any]) -> None:
    header = request.headers.get("content-type", "")
    media, _, params = header.partition(";")
    if not _JSON_MEDIA.fullmatch(media.strip().lower()):
        raise ApiProblem(415, "send the body as application/json", slug="unsupported-media-type")
    charset = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_-]+)", params)
    if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
        raise ApiProblem(415, "JSON bodies must be UTF-8", slug="unsupported-media-type")


async def require_json_body(request: Request[Any, Any, Any]) -> None:
    """``before_request`` of routes with a body: JSON media type (415), size (413), not empty."""
    _check_media_type(request)
    # Litestar raises 413 past the route's request_max_body_size; the bytes stay cached on
    # the connection, so the DTO below does not read them again.
    if not await request.body():
        raise _malformed("Input data was truncated")


class StrictBody(AbstractDTO[T], Generic[T]):
    """A DTO that only decodes: ``StrictBody[Struct]`` turns the body into ``Struct`` with
    :func:`decode_strict`. No transfer model and no field mapping (the Structs are the wire
    format); returned values are encoded by Litestar as usual (``return_dto=None``)."""

    __slots__ = ()

    def decode_bytes(self, value: bytes) -> Any:
        return decode_strict(self.model_type, value)

    def decode_builtins(self, value: dict[str, Any]) -> Any:  # not reached for JSON bodies
        return msgspec.convert(value, self.model_type, strict=True)

    @classmethod
    def create_for_field_definition(
        cls, field_definition: FieldDefinition, handler_id: str, backend_cls: Any = None
    ) -> None:
        return None  # nothing to build: decoding needs only the Struct

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any
    ) -> Any:
        return schema_creator.for_field_definition(
            FieldDefinition.from_annotation(
                cls.model_type, kwarg_definition=field_definition.kwarg_definition
            )
        )

    @classmethod
    def generate_field_definitions(
        cls, model_type: type[Any]
    ) -> Generator[DTOFieldDefinition, None, None]:
        yield from ()

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        return False

