"""Strict JSON request bodies.

Litestar converts bodies leniently (``"1"`` becomes ``1``) and answers invalid UTF-8 with a
500, so routes with a body run this ``before_request`` hook first: it requires a JSON media
type (415), honours the route's size limit (413), and decodes the bytes with msgspec in
strict mode against the route's Struct (``opt={"body": Struct}``): malformed JSON or bad
UTF-8 is a 400, a wrong field a 422. Litestar's own decoding of ``data`` then only ever sees
bodies that already passed, and OpenAPI still documents the Struct.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec
from litestar import Request

from meet_api.lib.problems import ApiProblem, FieldError, validation_problem

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


def _check_media_type(request: Request[Any, Any, Any]) -> None:
    header = request.headers.get("content-type", "")
    media, _, params = header.partition(";")
    if not _JSON_MEDIA.fullmatch(media.strip().lower()):
        raise ApiProblem(415, "send the body as application/json", slug="unsupported-media-type")
    charset = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_-]+)", params)
    if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
        raise ApiProblem(415, "JSON bodies must be UTF-8", slug="unsupported-media-type")


async def decode_strict_body(request: Request[Any, Any, Any]) -> None:
    struct = request.route_handler.opt.get("body")
    if struct is None:
        return
    _check_media_type(request)
    raw = await request.body()  # raises 413 past the route's request_max_body_size
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiProblem(400, "the body is not valid UTF-8", slug="malformed-body") from None
    try:
        request.state.body = _decoder(struct).decode(raw)
    except msgspec.ValidationError as exc:
        raise validation_problem([_field_error(exc)]) from None
    except msgspec.DecodeError as exc:
        raise ApiProblem(400, f"the body is not valid JSON: {exc}", slug="malformed-body") from None
