"""Alembic environment: the URL comes from the caller (meet_core.db.migrate) or settings."""

from __future__ import annotations

from alembic import context

from meet_core.db.engine import make_engine
from meet_core.db.migrate import include_name
from meet_core.db.models import Base

config = context.config
url: str = config.get_main_option("sqlalchemy.url") or ""
if not url:
    from meet_core.settings import get_settings

    url = get_settings().database_url


def run_migrations() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
