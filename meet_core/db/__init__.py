"""Database: typed models, engine factory and migrations (SQLite and PostgreSQL alike)."""

from meet_core.db.engine import make_engine, make_session_factory
from meet_core.db.models import Base

__all__ = ["Base", "make_engine", "make_session_factory"]
