from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from meet_core.db import Base, make_engine
from meet_core.db.migrate import (
    current_revision,
    downgrade,
    head_revision,
    include_name,
    is_current,
    upgrade,
)


def test_upgrade_from_empty_and_downgrade_back_to_empty(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        assert inspect(engine).get_table_names() == []
        upgrade(empty_database_url)
        assert is_current(engine)
        tables = set(inspect(engine).get_table_names())
        assert {"meetings", "participants", "api_keys", "audit_events", "idempotency_records"} <= tables
        downgrade(empty_database_url)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        assert current_revision(engine) is None
        upgrade(empty_database_url)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_models_match_migrations(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": include_name})
            diff = compare_metadata(context, Base.metadata)
        assert diff == []
    finally:
        engine.dispose()
