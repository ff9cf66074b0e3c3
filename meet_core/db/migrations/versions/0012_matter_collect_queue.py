"""matter_collect_queue: archived objects whose matter collection is still to do

Written in the transaction that records an archived object (or re-indexes it for search),
deleted by the transaction that joins its meeting to matching matters and records the holds;
the matters reconcile (meet_pipeline/defs/matters) retries what a crash or a fault left.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from meet_core.db.types import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "matter_collect_queue",
        sa.Column("manifest_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["manifest_id"], ["archive_manifest.id"], ondelete="CASCADE",
                                name=op.f("fk_matter_collect_queue_manifest_id_archive_manifest")),
        sa.PrimaryKeyConstraint("manifest_id", name=op.f("pk_matter_collect_queue")),
    )


def downgrade() -> None:
    op.drop_table("matter_collect_queue")
