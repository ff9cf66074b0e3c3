"""Fault injection: random (rate + seed), deterministic (the next N matching requests), or all.

A rule matches requests by API (`calendar`, `meet`, `drive`, `token`) and method id
(`drive.files.get`, or its tail `files.get`); the HTTP layer turns the chosen kind into
the wire behaviour (status, reset, slow answer, truncated body).
"""

from __future__ import annotations

import itertools
import random
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = ("429", "500", "503", "403_rate", "reset", "slow", "truncate")
APIS = (
    "calendar", "meet", "drive", "people", "directory", "workspaceevents", "pubsub", "token"
)


class FaultSpecError(ValueError):
    """The fault specification is malformed; the message says what to fix."""


@dataclass
class FaultRule:
    kinds: list[str]
    mode: str = "all"
    rate: float = 1.0
    count: int | None = None  # None: unlimited
    apis: list[str] | None = None
    methods: list[str] | None = None
    seed: int | None = None
    retry_after: int = 1
    slow_seconds: float = 0.5
    truncate_fraction: float = 0.5
    rate_reason: str = "rateLimitExceeded"
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)
    cycle: Any = field(default=None, repr=False)

    def matches(self, api: str, method_id: str) -> bool:
        if self.apis and api not in self.apis:
            return False
        return not self.methods or any(
            method_id == m or method_id.endswith("." + m) for m in self.methods
        )

    def describe(self) -> dict[str, Any]:
        return {
            "kinds": self.kinds,
            "mode": self.mode,
            "rate": self.rate,
            "remaining": self.count,
            "apis": self.apis,
            "methods": self.methods,
            "seed": self.seed,
            "retry_after": self.retry_after,
            "slow_seconds": self.slow_seconds,
            "truncate_fraction": self.truncate_fraction,
            "rate_reason": self.rate_reason,
            "fired": self.fired,
        }


def _list(spec: dict[str, Any], name: str, allowed: tuple[str, ...] | None) -> list[str] | None:
    value = spec.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise FaultSpecError(f"{name}: expected a non-empty list of strings")
    if allowed:
        unknown = [v for v in value if v not in allowed]
        if unknown:
            raise FaultSpecError(f"{name}: unknown {unknown}; expected some of {list(allowed)}")
    return value


def _number(spec: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = spec.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise FaultSpecError(f"{name}: expected a number between {low} and {high}")
    return float(value)


def parse_rule(spec: Any) -> FaultRule:
    if not isinstance(spec, dict):
        raise FaultSpecError("expected a JSON object")
    unknown = set(spec) - {
        "kinds",
        "rate",
        "count",
        "apis",
        "methods",
        "seed",
        "retry_after",
        "slow_seconds",
        "truncate_fraction",
        "rate_reason",
        "mode",
    }
    if unknown:
        raise FaultSpecError(f"unknown fields {sorted(unknown)}")
    kinds = _list(spec, "kinds", KINDS) or ["500"]
    count = spec.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise FaultSpecError("count: expected a positive whole number")
    mode = spec.get("mode", "random" if "rate" in spec else "all")
    if mode not in ("random", "all"):
        raise FaultSpecError("mode: expected 'random' or 'all'")
    seed = spec.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise FaultSpecError("seed: expected a whole number")
    reason = spec.get("rate_reason", "rateLimitExceeded")
    if reason not in ("rateLimitExceeded", "userRateLimitExceeded"):
        raise FaultSpecError("rate_reason: expected rateLimitExceeded or userRateLimitExceeded")
    rule = FaultRule(
        kinds=kinds,
        mode=mode,
        rate=1.0 if mode == "all" else _number(spec, "rate", 0.3, 0.0, 1.0),
        count=count,
        apis=_list(spec, "apis", APIS),
        methods=_list(spec, "methods", None),
        seed=seed,
        retry_after=int(_number(spec, "retry_after", 1, 0, 3600)),
        slow_seconds=_number(spec, "slow_seconds", 0.5, 0.0, 60.0),
        truncate_fraction=_number(spec, "truncate_fraction", 0.5, 0.0, 0.999),
        rate_reason=reason,
    )
    rule.rng = random.Random(seed)
    rule.cycle = itertools.cycle(kinds)
    return rule


class Faults:
    """The active rules; the first matching rule that fires decides the request's fate."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rules: list[FaultRule] = []

    def add(self, spec: Any) -> FaultRule:
        rule = parse_rule(spec)
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self.lock:
            return [rule.describe() for rule in self.rules]

    def pick(self, api: str, method_id: str) -> tuple[str, FaultRule] | None:
        with self.lock:
            for rule in list(self.rules):
                if not rule.matches(api, method_id):
                    continue
                if rule.mode == "random" and rule.rng.random() >= rule.rate:
                    continue
                kind = rule.rng.choice(rule.kinds) if rule.mode == "random" else next(rule.cycle)
                rule.fired += 1
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count == 0:
                        self.rules.remove(rule)
                return kind, rule
        return None
