"""Per-key fixed-window rate limit shared by every API process, with the IETF ``RateLimit-*``
headers.

The count lives in the app database (table ``api_rate_windows``, one row per key), so it is
exact whichever process or replica answers: N requests per key per window, in total. Each
request costs one statement, an atomic upsert that opens, resets or counts the key's window
and returns the new count::

    INSERT ... VALUES (:key_id, <database now>, 1)
    ON CONFLICT (key_id) DO UPDATE SET count = <1 if the window is over, else count + 1>,
                                       window_start = <now if the window is over, else as is>
    RETURNING count, window_start

PostgreSQL serialises concurrent upserts of one key on its row (the update re-reads the
latest committed row) and SQLite on its write lock (``BEGIN IMMEDIATE``, one file shared by
the processes of one machine), so no two requests can read the same count. The clock is the
database's, so replicas with skewed clocks still agree on when a window ends. A key's window
opens with its first request (not on clock minutes), so a burst cannot straddle two windows
for twice the limit. Refused requests are counted too (``Remaining`` stays 0); they do not
extend the window. On PostgreSQL the upsert and the key lookup are one statement
(:func:`counted_lookup`, a CTE), never in a request's transaction: in autocommit, so the row
is locked for the statement alone, and the table is UNLOGGED, so its commit waits for no disk flush; on SQLite it
runs right after the lookup, in the authentication's own short transaction.

When the statement fails (database down, table missing) the request is refused with 503 and
``Retry-After`` (fail closed), as every other database outage is: an unmetered API would let
one client starve the others exactly when the database is struggling. See docs/api.md.

Why not Litestar's ``RateLimitConfig`` (``litestar.middleware.rate_limit``)? It can key by
API key (``identifier_for_request``, if it runs after authentication), but its middleware
reads a key's history from the store, appends to it in Python and writes it back
(``store.get`` then ``store.set``): two processes that read the same history both write it
back with one request each, so counts are lost and a client gets more than N. Exactness
needs an atomic increment in the store, which Litestar's ``Store`` interface does not have,
and its shared stores are Redis and Valkey: a new component the product must run without.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    TextClause,
    bindparam,
    case,
    literal,
    literal_column,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import insert

from meet_core.apikeys import KEY_LOOKUP, ActiveKey, presented, verified
from meet_core.db.models import ApiRateWindow

# The database's clock in milliseconds since the epoch, per dialect.
_NOW_MS = {
    "postgresql": "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
    "sqlite": "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
}
_UPSERT = """
INSERT INTO api_rate_windows (key_id, window_start, count) VALUES (:key_id, {now}, 1)
ON CONFLICT (key_id) DO UPDATE SET
  count = CASE WHEN api_rate_windows.window_start > excluded.window_start - :window_ms
               THEN api_rate_windows.count + 1 ELSE 1 END,
  window_start = CASE WHEN api_rate_windows.window_start > excluded.window_start - :window_ms
                      THEN api_rate_windows.window_start ELSE excluded.window_start END
RETURNING count, window_start
"""


class RateLimitUnavailable(RuntimeError):
    """The shared count could not be read or written: the request is refused (fail closed)."""


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


def decide(count: int, window_start_ms: int, now_ms: float, limit: int, window_seconds: int) -> Decision:
    """The answer for the ``count``-th request of a window opened at ``window_start_ms``."""
    ends = window_start_ms / 1000 + window_seconds
    reset = min(window_seconds, max(1, math.ceil(ends - now_ms / 1000)))
    return Decision(count <= limit, limit, max(0, limit - count), reset, window_seconds)


class SharedWindowLimiter:
    """``limit`` requests per ``window_seconds`` per key, counted in the app database."""

    def __init__(self, limit: int, window_seconds: int = 60) -> None:
        if limit < 1 or window_seconds < 1:
            raise ValueError("rate limit and window must be positive")
        self.limit, self.window = limit, window_seconds
        self._statements: dict[str, TextClause] = {}

    def _statement(self, dialect: str) -> TextClause:
        statement = self._statements.get(dialect)
        if statement is None:
            if dialect not in _NOW_MS:
                raise ValueError(f"no rate-limit statement for {dialect!r}")
            statement = self._statements[dialect] = text(_UPSERT.format(now=_NOW_MS[dialect]))
        return statement

    def hit(self, conn: Connection, key_id: str) -> Decision:
        """Count one request of ``key_id`` on ``conn`` (the caller commits, if in a transaction);
        :class:`RateLimitUnavailable` when the database cannot."""
        try:
            count, window_start = conn.execute(
                self._statement(conn.dialect.name),
                {"key_id": key_id, "window_ms": self.window * 1000},
            ).one()
        except Exception as exc:  # any failure of the store: refuse, as documented
            raise _unavailable(exc) from exc
        return decide(count, window_start, time.time() * 1000, self.limit, self.window)

    def authenticate_and_hit(self, conn: Connection, token: str) -> tuple[ActiveKey, Decision] | None:
        """The key of ``token`` and its request counted; None for an unknown, revoked or
        malformed key (nothing counted). On PostgreSQL in one statement
        (:func:`counted_lookup`); elsewhere the lookup, then :meth:`hit`."""
        key = presented(token)
        if key is None:
            return None
        if conn.dialect.name != "postgresql":
            active = verified(key, conn.execute(KEY_LOOKUP, {"key_id": key.key_id}).one_or_none())
            return None if active is None else (active, self.hit(conn, active.key_id))
        params = {"key_id": key.key_id, "secret_hash": key.secret_hash, "window_ms": self.window * 1000}
        try:
            row = conn.execute(counted_lookup(), params).one_or_none()
        except Exception as exc:  # as in hit: the statement is the count's too
            raise _unavailable(exc) from exc
        active = verified(key, row)
        if active is None or row is None:
            return None
        return active, decide(row.counted, row.window_start, time.time() * 1000, self.limit, self.window)


def _unavailable(exc: Exception) -> RateLimitUnavailable:
    return RateLimitUnavailable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


@functools.cache
def counted_lookup() -> Select[Any]:
    """PostgreSQL: the key's row (:data:`KEY_LOOKUP`) with the request counted in the same
    statement, which saves a round trip and a statement's overhead on every request. The
    count is taken only if ``:secret_hash`` matches an active key, so a wrong secret never
    uses up a key's allowance (the caller still compares in constant time, and an unmatched
    hash in SQL tells nothing about the stored one)."""
    key = KEY_LOOKUP.cte("key")
    windows = ApiRateWindow
    now: ColumnElement[int] = literal_column(_NOW_MS["postgresql"])
    new = insert(windows).from_select(
        ["key_id", "window_start", "count"],
        select(key.c.key_id, now, literal(1)).where(
            key.c.secret_hash == bindparam("secret_hash"), key.c.revoked_at.is_(None)
        ),
    )
    current = windows.window_start > new.excluded.window_start - bindparam("window_ms")
    counted = (
        new.on_conflict_do_update(
            index_elements=[windows.key_id],
            set_={
                "count": case((current, windows.count + 1), else_=1),
                "window_start": case((current, windows.window_start), else_=new.excluded.window_start),
            },
        )
        .returning(windows.count, windows.window_start)
        .cte("counted")
    )
    # (``counted``: a Row's ``count`` is tuple.count)
    return select(key, counted.c.count.label("counted"), counted.c.window_start).outerjoin(counted, true())
