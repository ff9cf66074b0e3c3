"""meetings: (client_id, status, start_time, id) index for the API's filtered lists

A service key's list filters by client and usually by status, ordered by (start_time, id):
this index serves that page in order without a sort, and lets PostgreSQL count the
matches for ``total`` from the index alone (docs/performance.md §2).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_meetings_client_status_start",
        "meetings",
        ["client_id", "status", "start_time", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_meetings_client_status_start", table_name="meetings")
