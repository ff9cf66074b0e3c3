"""Per-key fixed-window rate limit with the IETF ``RateLimit-*`` headers.

Kept in process memory: exact for one server process (the default ``meet-archive api``).
With several workers each enforces the limit on its own share of the traffic; put a shared
limiter in front (gateway, Redis) if XOMA is ever served by many processes.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    window_seconds: int

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
            "RateLimit-Policy": f"{self.limit};w={self.window_seconds}",
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_seconds)
        return headers


class FixedWindowLimiter:
    """``limit`` requests per ``window_seconds`` per key; a key's window opens with its first
    request (so a burst cannot straddle two clock-aligned windows for twice the limit)."""

    def __init__(
        self, limit: int, window_seconds: int = 60, clock: Callable[[], float] = time.time
    ) -> None:
        if limit < 1 or window_seconds < 1:
            raise ValueError("rate limit and window must be positive")
        self.limit, self.window = limit, window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[float, int]] = {}  # key -> (window opened at, count)

    def hit(self, key: str) -> Decision:
        now = self._clock()
        with self._lock:
            opened, count = self._counts.get(key, (now, 0))
            if now - opened >= self.window:
                opened, count = now, 0
                if len(self._counts) > 10_000:  # forget the windows of idle keys
                    self._counts = {
                        k: v for k, v in self._counts.items() if now - v[0] < self.window
                    }
            allowed = count < self.limit
            if allowed:
                count += 1
            self._counts[key] = (opened, count)
        reset = max(1, math.ceil(opened + self.window - now))
        return Decision(allowed, self.limit, max(0, self.limit - count), reset, self.window)
