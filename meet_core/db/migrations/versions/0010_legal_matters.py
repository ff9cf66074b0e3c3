"""search_documents, matters, matter_meetings, matter_holds: search and legal holds

Search: one row per archived transcript (or smart note) with its text and lines. The text is
indexed by engine-specific means: on PostgreSQL a stored generated column
``tsv = to_tsvector('simple', body)`` with a GIN index (the ``simple`` configuration lower-cases and splits on non-letters
without any language's stemming or stop words, since transcripts are in any language); on
SQLite an FTS5 table ``search_fts`` (``unicode61``, diacritics kept, like ``simple``) kept in
step by triggers. docs/compliance.md explains the choice.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from meet_core.db.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(body, content='search_documents', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN "
    "INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body); END",
]
POSTGRES_FTS = [
    # Stored, so a match never recomputes the vector (rechecks, and plans that test rows one
    # by one in start-time order, stay cheap).
    "ALTER TABLE search_documents ADD COLUMN tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, body)) STORED",
    "CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)",
]


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("manifest_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("indexed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["manifest_id"], ["archive_manifest.id"], ondelete="CASCADE",
                                name=op.f("fk_search_documents_manifest_id_archive_manifest")),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], ondelete="CASCADE",
                                name=op.f("fk_search_documents_meeting_id_meetings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_documents")),
        sa.UniqueConstraint("manifest_id", name=op.f("uq_search_documents_manifest_id")),
    )
    op.create_index("ix_search_documents_meeting_id", "search_documents", ["meeting_id"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_FTS:
            op.execute(statement)
    else:
        for statement in SQLITE_FTS:
            op.execute(statement)

    op.create_table(
        "matters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("opened_by", sa.String(length=200), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("saved_filters", sa.JSON(), nullable=True),
        sa.Column("held_at", UTCDateTime(), nullable=True),
        sa.Column("held_by", sa.String(length=200), nullable=True),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("release_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matters")),
        sa.UniqueConstraint("name", name=op.f("uq_matters_name")),
    )
    op.create_table(
        "matter_meetings",
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.String(length=36), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_via", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"],
                                name=op.f("fk_matter_meetings_matter_id_matters")),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"],
                                name=op.f("fk_matter_meetings_meeting_id_meetings")),
        sa.PrimaryKeyConstraint("matter_id", "meeting_id", name=op.f("pk_matter_meetings")),
    )
    op.create_index("ix_matter_meetings_meeting", "matter_meetings", ["meeting_id"])
    op.create_table(
        "matter_holds",
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("manifest_id", sa.Integer(), nullable=False),
        sa.Column("placed_at", UTCDateTime(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"],
                                name=op.f("fk_matter_holds_matter_id_matters")),
        sa.ForeignKeyConstraint(["manifest_id"], ["archive_manifest.id"],
                                name=op.f("fk_matter_holds_manifest_id_archive_manifest")),
        sa.PrimaryKeyConstraint("matter_id", "manifest_id", name=op.f("pk_matter_holds")),
    )
    op.create_index("ix_matter_holds_manifest", "matter_holds", ["manifest_id", "released_at"])


def downgrade() -> None:
    op.drop_table("matter_holds")
    op.drop_table("matter_meetings")
    op.drop_table("matters")
    if op.get_bind().dialect.name != "postgresql":
        for trigger in ("search_documents_ai", "search_documents_ad", "search_documents_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_documents")
