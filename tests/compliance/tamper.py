"""What a database owner or an S3 administrator with governance bypass could do."""

from __future__ import annotations

from sqlalchemy import Engine, text

TRIGGERS = {
    "audit_events": (
        "audit_events_append_only",
        ["audit_events_no_update", "audit_events_no_delete"],
    ),
    "compliance_digests": (
        "compliance_digests_append_only",
        ["compliance_digests_no_update", "compliance_digests_no_delete"],
    ),
}


def as_owner(engine: Engine, table: str, *statements: str, params: dict | None = None) -> None:
    """Run statements on an append-only table with its triggers out of the way."""
    pg_trigger, sqlite_triggers = TRIGGERS[table]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {pg_trigger}"))
        else:
            for name in sqlite_triggers:
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        for statement in statements:
            conn.execute(text(statement), params or {})
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {pg_trigger}"))
