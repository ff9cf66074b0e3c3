"""Deliver the webhook outbox: POST each due event, signed; retry with exponential
backoff; dead-letter it after the last try (state ``dead``, kept with the last error).

An event is claimed (``delivering``, with a lease) before its POST, so two deliverers
never send it at once, and it is marked ``delivered`` on the first 2xx and never sent
again. The secret is only ever used to sign; it is not logged or stored.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from meet_core.compliance.signing import signed_headers
from meet_core.db.models import OutboxState, WebhookOutboxEntry

log = logging.getLogger("meet_core.compliance.delivery")

LEASE = timedelta(minutes=5)  # a claim older than this belonged to a deliverer that died
MAX_BACKOFF = timedelta(hours=6)
MAX_ERROR = 500


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    url: str
    secret: str
    max_attempts: int = 8
    backoff: timedelta = timedelta(seconds=30)
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("webhook url must be http(s)")
        if not self.secret:
            raise ValueError("webhook secret is empty")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.backoff <= timedelta(0):
            raise ValueError("backoff must be positive")

    def __repr__(self) -> str:  # never show the secret
        return (
            f"DeliveryPolicy(url={self.url!r}, max_attempts={self.max_attempts}, "
            f"backoff={self.backoff})"
        )

    def delay_after(self, attempts: int) -> timedelta:
        """backoff, 2·backoff, 4·backoff … (at most 6 h) after the n-th failed attempt."""
        return min(MAX_BACKOFF, self.backoff * (2 ** min(max(attempts - 1, 0), 20)))


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    delivered: int
    retrying: int
    dead: int

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.dead


def _due(now: datetime) -> ColumnElement[bool]:
    w = WebhookOutboxEntry
    return or_(
        (w.state == OutboxState.PENDING) & (w.next_attempt_at <= now),
        (w.state == OutboxState.DELIVERING) & (w.last_attempt_at < now - LEASE),
    )


def claim_due(sessions: sessionmaker[Session], now: datetime, limit: int) -> list[tuple[str, int]]:
    """(event id, attempt number) of due events, each claimed by a conditional update."""
    with sessions() as session:
        candidates = session.scalars(
            select(WebhookOutboxEntry.id)
            .where(_due(now))
            .order_by(WebhookOutboxEntry.next_attempt_at, WebhookOutboxEntry.id)
            .limit(limit)
        ).all()
    claimed = []
    for event_id in candidates:
        with sessions.begin() as session:
            taken = session.execute(
                update(WebhookOutboxEntry)
                .where(WebhookOutboxEntry.id == event_id, _due(now))
                .values(
                    state=OutboxState.DELIVERING,
                    attempts=WebhookOutboxEntry.attempts + 1,
                    last_attempt_at=now,
                )
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if taken == 1:
                attempts = session.scalar(
                    select(WebhookOutboxEntry.attempts).where(WebhookOutboxEntry.id == event_id)
                )
                claimed.append((event_id, int(attempts or 0)))
    return claimed


def post(
    policy: DeliveryPolicy, event_id: str, body: str, timestamp: int
) -> tuple[int | None, str | None]:
    """(HTTP status, error text); status None when no answer came."""
    request = urllib.request.Request(  # noqa: S310 - the configured URL, http(s) only
        policy.url,
        data=body.encode(),
        method="POST",
        headers={
            **signed_headers(policy.secret, event_id, timestamp, body),
            "User-Agent": "meet-archive-webhooks/1",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=policy.timeout_seconds) as answer:  # noqa: S310
            answer.read(1024)
            return answer.status, None
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR]


def _settle(
    sessions: sessionmaker[Session],
    event_id: str,
    attempt: int,
    status: int | None,
    error: str | None,
    policy: DeliveryPolicy,
    now: datetime,
) -> str:
    ok = status is not None and 200 <= status < 300
    if ok:
        values = {
            "state": OutboxState.DELIVERED,
            "delivered_at": now,
            "last_status": status,
            "last_error": None,
        }
    elif attempt >= policy.max_attempts:
        values = {"state": OutboxState.DEAD, "last_status": status, "last_error": error}
    else:
        values = {
            "state": OutboxState.PENDING,
            "last_status": status,
            "last_error": error,
            "next_attempt_at": now + policy.delay_after(attempt),
        }
    with sessions.begin() as session:
        session.execute(
            update(WebhookOutboxEntry)
            .where(
                WebhookOutboxEntry.id == event_id,
                WebhookOutboxEntry.state == OutboxState.DELIVERING,
                WebhookOutboxEntry.attempts == attempt,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return str(values["state"])


def deliver_due(
    sessions: sessionmaker[Session],
    policy: DeliveryPolicy,
    *,
    now: datetime,
    limit: int = 100,
    budget_seconds: float = 30.0,
) -> DeliveryReport:
    """One pass over due events (at most ``limit``, stopping when the budget is spent)."""
    started = time.monotonic()
    outcomes: Counter[str] = Counter()
    for event_id, attempt in claim_due(sessions, now, limit):
        if time.monotonic() - started > budget_seconds:
            _release(sessions, event_id, attempt)
            continue
        with sessions() as session:
            body = session.scalar(
                select(WebhookOutboxEntry.body).where(WebhookOutboxEntry.id == event_id)
            )
        # The timestamp is the wall clock of this attempt: receivers check it against theirs.
        status, error = post(policy, event_id, body or "", int(time.time()))
        state = _settle(sessions, event_id, attempt, status, error, policy, now)
        outcomes[state] += 1
        if state != OutboxState.DELIVERED:
            log.warning("webhook %s attempt %d: %s (%s)", event_id, attempt, error, state)
    return DeliveryReport(
        outcomes[OutboxState.DELIVERED], outcomes[OutboxState.PENDING], outcomes[OutboxState.DEAD]
    )


def _release(sessions: sessionmaker[Session], event_id: str, attempt: int) -> None:
    """Give back a claim that was not used (the attempt does not count)."""
    with sessions.begin() as session:
        session.execute(
            update(WebhookOutboxEntry)
            .where(WebhookOutboxEntry.id == event_id, WebhookOutboxEntry.attempts == attempt)
            .values(state=OutboxState.PENDING, attempts=attempt - 1)
            .execution_options(synchronize_session=False)
        )


def redeliver_dead(session: Session, event_ids: list[str], now: datetime) -> int:
    """An operator puts dead-lettered events back in the queue (after fixing the receiver)."""
    result = session.execute(
        update(WebhookOutboxEntry)
        .where(WebhookOutboxEntry.id.in_(event_ids), WebhookOutboxEntry.state == OutboxState.DEAD)
        .values(state=OutboxState.PENDING, attempts=0, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
