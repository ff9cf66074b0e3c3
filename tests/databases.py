"""Throw-away databases for tests: every run makes its own and drops it afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ENGINES = tuple(e for e in os.environ.get("MEET_TEST_ENGINES", "sqlite,postgresql").split(",") if e)
POSTGRES_ADMIN_URL = os.environ.get(
    "MEET_TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://127.0.0.1:5432/postgres"
)


@contextmanager
def temporary_database(engine: str, folder: Path) -> Iterator[str]:
    """Yield the URL of a new empty database of the given engine; drop it on exit."""
    name = f"meet_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    if engine == "sqlite":
        yield f"sqlite:///{folder / (name + '.db')}"
        return
    if engine != "postgresql":
        raise ValueError(f"unknown engine {engine!r}")
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def dagster_postgres_env(url: str) -> dict[str, str]:
    """The DAGSTER_PG_* variables that deploy/dagster*.yaml read, for a database URL."""
    parts = make_url(url)
    return {
        "DAGSTER_PG_HOST": parts.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(parts.port or 5432),
        "DAGSTER_PG_USER": parts.username or os.environ.get("USER", "postgres"),
        "DAGSTER_PG_PASSWORD": parts.password or "",
        "DAGSTER_PG_DB": parts.database or "",
    }
