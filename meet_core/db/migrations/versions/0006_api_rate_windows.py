"""api_rate_windows: the API's per-key rate-limit windows, shared by every API process

One row per key, counted with one atomic upsert per request (meet_api.lib.ratelimit). On
PostgreSQL the table is UNLOGGED: it writes no WAL, so a request's commit does not wait for
a disk flush, and a crash only resets the windows (empties the table), which is harmless.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_rate_windows",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_rate_windows")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE api_rate_windows SET UNLOGGED")


def downgrade() -> None:
    op.drop_table("api_rate_windows")
