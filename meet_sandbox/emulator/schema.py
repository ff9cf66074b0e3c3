"""Request bodies checked against the discovery schemas, as Google's front end does.

Wrong JSON types and unknown enum values answer 400. Unknown properties answer 400 in Meet
(One Platform: "Unknown name") and are dropped silently by Calendar.
"""

from __future__ import annotations

from typing import Any

from .discovery import document
from .errors import bad_request

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def clean_body(api: str, schema_name: str, value: Any, *, strict: bool) -> dict[str, Any]:
    """The body reduced to known properties; 400 naming the first offending field."""
    schemas = document(api)["schemas"]
    return _clean(
        schemas, {"$ref": schema_name}, value, schema_name[0].lower() + schema_name[1:], strict
    )


def _clean(
    schemas: dict[str, Any], schema: dict[str, Any], value: Any, where: str, strict: bool
) -> Any:
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type", "object")
    if value is None:
        return None
    if kind in ("integer", "number"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if schema.get("format") in ("int64", "uint64") and isinstance(value, str):
            ok = value.lstrip("-").isdigit()
        if not ok:
            raise bad_request(f"Invalid value at '{where}': expected a number, got {value!r}.")
        return value
    if kind == "any":
        return value
    if not isinstance(value, _JSON_TYPES.get(kind, (object,))):
        raise bad_request(
            f"Invalid value at '{where}': expected {kind}, got {type(value).__name__}."
        )
    if kind == "string" and "enum" in schema and value not in schema["enum"]:
        raise bad_request(f"Invalid value at '{where}', \"{value}\".")
    if isinstance(value, list):
        return [
            _clean(schemas, schema.get("items", {}), item, f"{where}[{i}]", strict)
            for i, item in enumerate(value)
        ]
    if not isinstance(value, dict):
        return value
    properties = schema.get("properties")
    extra = schema.get("additionalProperties")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if properties and key in properties:
            out[key] = _clean(schemas, properties[key], item, f"{where}.{key}", strict)
        elif extra is not None:
            out[key] = _clean(schemas, extra, item, f"{where}.{key}", strict)
        elif strict:
            raise bad_request(
                f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': "
                "Cannot find field."
            )
    return out
