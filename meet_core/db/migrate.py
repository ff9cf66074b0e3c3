"""Apply and revert migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would choke on '%' in passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Full-text search structures that only one engine has (migration 0010): the SQLite FTS5
# table with its shadow tables, the PostgreSQL ``tsv`` column and its GIN index. Models
# cannot describe them, so model/migration comparisons leave them out.
ENGINE_SPECIFIC_PREFIXES = ("search_fts", "ix_search_documents_tsv")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic ``include_name``: skip the engine-specific search structures."""
    if type_ == "column" and name == "tsv" and parent_names.get("table_name") == "search_documents":
        return False
    return not (name or "").startswith(ENGINE_SPECIFIC_PREFIXES)


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
