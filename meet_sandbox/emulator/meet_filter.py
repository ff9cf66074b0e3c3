"""The EBNF filters of Meet list methods: `space.name = "spaces/x" AND end_time IS NULL`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .clock import parse_rfc3339
from .errors import bad_request

_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<op>>=|<=|!=|=|>|<)|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))'
)
TIME_FIELDS = ("start_time", "end_time", "earliest_start_time", "latest_end_time")

# A clause compares one field of a row: (field, operator, value or None for IS [NOT] NULL).
Clause = tuple[str, str, Any]


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match:
            raise bad_request(f"Invalid filter: unexpected text at {position}: {text[position:]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        out.append((kind, value[1:-1].replace('\\"', '"') if kind == "string" else value))
        position = match.end()
    return out


def parse_filter(text: str | None, fields: tuple[str, ...]) -> list[Clause]:
    """AND-ed clauses; 400 INVALID_ARGUMENT for anything else."""
    if not text or not text.strip():
        return []
    tokens = _tokens(text)
    clauses: list[Clause] = []
    i = 0
    while True:
        if i >= len(tokens) or tokens[i][0] != "word" or tokens[i][1] not in fields:
            raise bad_request(f"Invalid filter {text!r}: expected one of {', '.join(fields)}.")
        field = tokens[i][1]
        rest = [t[1].upper() if t[0] == "word" else t[1] for t in tokens[i + 1 : i + 4]]
        if rest[:2] == ["IS", "NULL"]:
            clauses.append((field, "IS", None))
            i += 3
        elif rest[:3] == ["IS", "NOT", "NULL"]:
            clauses.append((field, "IS NOT", None))
            i += 4
        elif len(rest) >= 2 and tokens[i + 1][0] == "op" and tokens[i + 2][0] == "string":
            value: Any = tokens[i + 2][1]
            if field in TIME_FIELDS:
                value = parse_rfc3339(value, "filter")
            clauses.append((field, tokens[i + 1][1], value))
            i += 3
        else:
            raise bad_request(f"Invalid filter {text!r}.")
        if i == len(tokens):
            return clauses
        if tokens[i] != ("word", "AND") and tokens[i][1].upper() != "AND":
            raise bad_request(f"Invalid filter {text!r}: only AND is supported.")
        i += 1


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">=": lambda a, b: a is not None and a >= b,
    "<=": lambda a, b: a is not None and a <= b,
    ">": lambda a, b: a is not None and a > b,
    "<": lambda a, b: a is not None and a < b,
    "IS": lambda a, _b: a is None,
    "IS NOT": lambda a, _b: a is not None,
}


def matches(clauses: list[Clause], row: dict[str, Any]) -> bool:
    return all(_OPS[op](row.get(field), value) for field, op, value in clauses)
