"""Google's partial-response ``fields``: ``id,name``, ``items(id,start/dateTime)``, ``*``."""

from __future__ import annotations

from typing import Any

from .errors import bad_request

# A selection maps a property name to its sub-selection; None means "the whole value".
Selection = dict[str, "Selection | None"]


def parse_fields(text: str) -> Selection:
    selection, rest = _parse_list(text.replace(" ", ""), 0)
    if rest != len(text.replace(" ", "")):
        raise _invalid(text)
    if not selection:
        raise _invalid(text)
    return selection


def _invalid(text: str) -> Exception:
    return bad_request(f"Invalid field selection {text}", location="fields")


def _parse_list(text: str, pos: int) -> tuple[Selection, int]:
    selection: Selection = {}
    while pos < len(text):
        path_end = pos
        while path_end < len(text) and text[path_end] not in ",()":
            path_end += 1
        path = text[pos:path_end]
        if not path or any(not part for part in path.split("/")):
            raise _invalid(text)
        sub: Selection | None = None
        pos = path_end
        if pos < len(text) and text[pos] == "(":
            sub, pos = _parse_list(text, pos + 1)
            if pos >= len(text) or text[pos] != ")" or not sub:
                raise _invalid(text)
            pos += 1
        _merge(selection, path.split("/"), sub)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        break
    return selection, pos


def _merge(selection: Selection, parts: list[str], sub: Selection | None) -> None:
    head, rest = parts[0], parts[1:]
    if head in selection and selection[head] is None:
        return  # the whole value is already selected
    if not rest and sub is None:
        selection[head] = None
        return
    child = selection.setdefault(head, {})
    assert child is not None
    if rest:
        _merge(child, rest, sub)
    else:
        child.update(sub or {})


def apply_fields(value: Any, selection: Selection | None) -> Any:
    """Keep only the selected properties (lists are filtered element by element)."""
    if selection is None or "*" in selection and len(selection) == 1 and selection["*"] is None:
        return value
    if isinstance(value, list):
        return [apply_fields(item, selection) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if "*" in selection:
            out[key] = (
                apply_fields(item, selection["*"])
                if key not in selection
                else apply_fields(item, selection[key])
            )
        elif key in selection:
            out[key] = apply_fields(item, selection[key])
    return out


def selects(selection: Selection | None, name: str) -> bool:
    """Whether the selection asks for a top-level property (or everything)."""
    return selection is not None and (name in selection or "*" in selection)


def check_fields(
    selection: Selection, schema: dict[str, Any], schemas: dict[str, Any], text: str
) -> None:
    """400 for a selected property that the response schema does not have, as Google answers."""
    while "$ref" in schema or schema.get("type") == "array":
        schema = schemas[schema["$ref"]] if "$ref" in schema else schema.get("items", {})
    properties = schema.get("properties")
    extra = schema.get("additionalProperties")
    for key, sub in selection.items():
        if key == "*":
            continue
        if properties is not None and key in properties:
            child = properties[key]
        elif extra is not None:
            child = extra
        else:
            raise bad_request(f"Invalid field selection {key}", location="fields")
        if sub:
            check_fields(sub, child, schemas, text)
