"""The hash chain: appends, verification, tampering, and many processes at once."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from meet_core.audit import GENESIS_HASH, AuditEntry, append_event, append_many, verify_chain
from meet_core.db import make_session_factory


def _append(engine: Engine, count: int) -> None:
    sessions = make_session_factory(engine)
    for i in range(count):
        with sessions() as session, session.begin():
            append_event(
                session,
                actor="test",
                action="thing.happened",
                entity_type="thing",
                entity_id=str(i),
                payload={"i": i, "nested": {"b": [1, 2.5, None], "a": "é"}},
            )


def _verify(engine: Engine):  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return verify_chain(session)


def _tamper(engine: Engine, statement: str) -> None:
    """Run a statement with the append-only triggers out of the way, as a DB owner could."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
            conn.execute(text(statement))
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
            conn.execute(text(statement))


def test_empty_chain_verifies(fresh_engine: Engine) -> None:
    report = _verify(fresh_engine)
    assert report.ok and report.count == 0 and report.last_hash == GENESIS_HASH


def test_appended_events_link_and_verify(fresh_engine: Engine) -> None:
    _append(fresh_engine, 5)
    report = _verify(fresh_engine)
    assert report.ok, report.describe()
    assert report.count == 5 and report.last_seq == 5
    with fresh_engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, prev_hash, hash FROM audit_events ORDER BY seq")).all()
    assert rows[0].prev_hash == GENESIS_HASH
    assert all(rows[i].prev_hash == rows[i - 1].hash for i in range(1, 5))


def test_database_refuses_update_and_delete(fresh_engine: Engine) -> None:
    _append(fresh_engine, 1)
    for statement in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), fresh_engine.begin() as conn:
            conn.execute(text(statement))
    assert _verify(fresh_engine).ok


@pytest.mark.parametrize(
    ("statement", "broken_seq", "problem"),
    [
        ("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3", 3, "modified"),
        ("UPDATE audit_events SET payload = '{\"i\": 99}' WHERE seq = 2", 2, "modified"),
        ("DELETE FROM audit_events WHERE seq = 3", 3, "missing"),
        ("DELETE FROM audit_events WHERE seq = 5", 5, "deleted"),
    ],
)
def test_tampering_is_detected(fresh_engine: Engine, statement: str, broken_seq: int, problem: str) -> None:
    _append(fresh_engine, 5)
    _tamper(fresh_engine, statement)
    report = _verify(fresh_engine)
    assert not report.ok
    assert report.broken_seq == broken_seq
    assert problem in (report.problem or "")


def test_reordered_pair_is_detected(fresh_engine: Engine) -> None:
    _append(fresh_engine, 5)
    # Swap the content of events 2 and 3 (hashes travel with their rows' content).
    _tamper(
        fresh_engine,
        """
        UPDATE audit_events SET seq = CASE seq WHEN 2 THEN -3 WHEN 3 THEN -2 END WHERE seq IN (2, 3)
        """,
    )
    _tamper(fresh_engine, "UPDATE audit_events SET seq = -seq WHERE seq < 0")
    report = _verify(fresh_engine)
    assert not report.ok and report.broken_seq == 2


APPENDER = """
import sys
from meet_core.db import make_engine, make_session_factory
from meet_core.audit import append_event
url, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
engine = make_engine(url)
sessions = make_session_factory(engine)
for i in range(count):
    with sessions() as session, session.begin():
        append_event(session, actor=f"worker-{worker}", action="bench.append",
                     entity_type="bench", entity_id=f"{worker}-{i}", payload={"i": i})
"""


@pytest.mark.parametrize("processes,per_process", [(8, 500)])
def test_many_processes_keep_one_linear_chain(
    fresh_engine: Engine, empty_database_url: str, processes: int, per_process: int
) -> None:
    started = time.perf_counter()
    workers = [
        subprocess.Popen([sys.executable, "-c", APPENDER, empty_database_url, str(w), str(per_process)])
        for w in range(processes)
    ]
    assert [w.wait(timeout=600) for w in workers] == [0] * processes
    elapsed = time.perf_counter() - started
    report = _verify(fresh_engine)
    assert report.ok, report.describe()
    assert report.count == processes * per_process
    with fresh_engine.connect() as conn:
        distinct = conn.execute(text("SELECT COUNT(DISTINCT entity_id) FROM audit_events")).scalar_one()
    assert distinct == processes * per_process
    print(
        f"\n[{fresh_engine.dialect.name}] {processes} processes x {per_process} appends: "
        f"{report.count / elapsed:.0f} appends/s including process start-up"
    )


def test_append_many_chains_in_order_with_single_appends(fresh_engine: Engine) -> None:
    sessions = make_session_factory(fresh_engine)
    _append(fresh_engine, 2)
    with sessions.begin() as session:
        events = append_many(
            session,
            [AuditEntry("test", "batch.item", "thing", f"b{i}", {"i": i}) for i in range(4)],
        )
        assert [e.seq for e in events] == [3, 4, 5, 6]
        assert append_many(session, []) == []
    _append(fresh_engine, 1)
    report = _verify(fresh_engine)
    assert report.ok and report.count == 7, report.describe()
    with fresh_engine.connect() as conn:
        ids = conn.execute(text("SELECT entity_id FROM audit_events ORDER BY seq")).scalars().all()
    assert ids == ["0", "1", "b0", "b1", "b2", "b3", "0"]

