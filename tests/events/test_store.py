"""Storing events once by ce-id, and lifecycle events on the subscription row (both engines)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.db.models import AuditEvent, EventSubscription, ReceivedEvent
from meet_core.events import cloudevents as ce
from meet_core.events.cloudevents import WorkspaceEvent
from meet_core.events.health import coverage
from meet_core.events.intake import store_events

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
SOURCE = "//workspaceevents.googleapis.com/subscriptions/s1"


def event(ce_id: str, kind: str = ce.PARTICIPANT_JOINED, **extra: object) -> WorkspaceEvent:
    values: dict[str, object] = {
        "ce_id": ce_id,
        "type": kind,
        "source": SOURCE,
        "subject": "//meet.googleapis.com/spaces/abc",
        "time": NOW,
        "resource_name": "conferenceRecords/r1/participants/p1/participantSessions/s1",
    }
    values.update(extra)
    return WorkspaceEvent(**values)  # type: ignore[arg-type]


def subscription(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        session.add(
            EventSubscription(
                organizer_email="organizer@example.com",
                google_name="subscriptions/s1",
                state="ACTIVE",
                expire_time=NOW + timedelta(days=6),
                created_at=NOW,
                updated_at=NOW,
            )
        )


def test_each_ce_id_is_stored_once_and_redeliveries_are_counted(
    fresh_sessions: sessionmaker[Session],
) -> None:
    subscription(fresh_sessions)
    with fresh_sessions.begin() as session:
        fresh, duplicates = store_events(session, [event("a"), event("b"), event("a")], now=NOW)
    assert [e.ce_id for e in fresh] == ["a", "b"] and duplicates == 1
    with fresh_sessions.begin() as session:  # the redelivery after a crash before the ack
        fresh, duplicates = store_events(session, [event("a"), event("c")], now=NOW)
    assert [e.ce_id for e in fresh] == ["c"] and duplicates == 1
    with fresh_sessions() as session:
        rows = {r.ce_id: r for r in session.scalars(select(ReceivedEvent))}
        assert sorted(rows) == ["a", "b", "c"]
        assert rows["a"].deliveries == 3 and rows["b"].deliveries == 1
        # joins need no work: stored already ignored, never queued as pending
        assert {r.state for r in rows.values()} == {"ignored"}
        sub = session.scalars(select(EventSubscription)).one()
        assert sub.last_event_at == NOW


def test_lifecycle_events_change_the_row_with_an_audit_event(
    fresh_sessions: sessionmaker[Session],
) -> None:
    subscription(fresh_sessions)
    suspended = event(
        "s", ce.SUSPENDED, subject=SOURCE, resource_name=None, suspension_reason="USER_SCOPE_REVOKED"
    )
    with fresh_sessions.begin() as session:
        store_events(session, [suspended], now=NOW)
    with fresh_sessions() as session:
        sub = session.scalars(select(EventSubscription)).one()
        assert (sub.state, sub.suspension_reason) == ("SUSPENDED", "USER_SCOPE_REVOKED")
        assert session.get(ReceivedEvent, "s").state == "handled"  # type: ignore[union-attr]
        actions = list(session.scalars(select(AuditEvent.action)))
        assert "event_subscription.suspended" in actions
    with fresh_sessions.begin() as session:
        store_events(session, [event("x", ce.EXPIRED, subject=SOURCE, resource_name=None)], now=NOW)
    with fresh_sessions() as session:
        assert session.scalars(select(EventSubscription.state)).one() == "MISSING"


def test_garbage_events_are_stored_as_ignored(fresh_sessions: sessionmaker[Session]) -> None:
    with fresh_sessions.begin() as session:
        store_events(
            session, [event("pubsub:m1", ce.UNREADABLE, error="message without ce-id")], now=NOW
        )
    with fresh_sessions() as session:
        row = session.get(ReceivedEvent, "pubsub:m1")
        assert row is not None and row.state == "ignored" and row.error


def test_coverage_names_organizers_without_an_active_subscription(
    fresh_sessions: sessionmaker[Session],
) -> None:
    from tests.events.helpers import add_meeting

    add_meeting(fresh_sessions, "m1", "organizer@example.com", NOW + timedelta(hours=1), "scheduled")
    add_meeting(fresh_sessions, "m2", "boss@example.com", NOW - timedelta(hours=2), "in_progress")
    with fresh_sessions() as session:
        found = coverage(session, now=NOW)
    assert found.uncovered == {"organizer@example.com": "none", "boss@example.com": "none"}
    subscription(fresh_sessions)
    with fresh_sessions() as session:
        found = coverage(session, now=NOW)
    assert found.uncovered == {"boss@example.com": "none"}
    assert not found.healthy
