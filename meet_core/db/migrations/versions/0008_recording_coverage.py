"""recording coverage: ledger seconds present/recorded/unrecorded, coverage, the gaps

``compliance_ledger`` gains what :mod:`meet_core.compliance.coverage` computes per meeting;
``compliance_daily_summary`` counts the new ``unrecorded_time`` reason; two views show
coverage per meeting and per day (docs/compliance.md, "Recording coverage").

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEDGER_COLUMNS = ("present_seconds", "recorded_seconds", "unrecorded_seconds")

# Held meetings only: a meeting nobody attended owes no recording time. Per day, coverage
# is 1 - unrecorded / present over the day's seconds (not an average of fractions).
VIEWS = [
    """
    CREATE VIEW compliance_coverage AS
    SELECT partition_date, meeting_id, external_id, title, scheduled_start,
           conference_start, conference_end, compliance_status, present_seconds,
           recorded_seconds, unrecorded_seconds, coverage, unrecorded_intervals
    FROM compliance_ledger
    WHERE held
    """,
    """
    CREATE VIEW compliance_coverage_daily AS
    SELECT partition_date, count(*) AS held_meetings,
           sum(CASE WHEN unrecorded_seconds > 0 THEN 1 ELSE 0 END) AS meetings_with_unrecorded_time,
           sum(present_seconds) AS present_seconds,
           sum(recorded_seconds) AS recorded_seconds,
           sum(unrecorded_seconds) AS unrecorded_seconds,
           CASE WHEN sum(present_seconds) > 0
                THEN round(1.0 - 1.0 * sum(unrecorded_seconds) / sum(present_seconds), 4)
           END AS coverage
    FROM compliance_ledger
    WHERE held
    GROUP BY partition_date
    """,
]
VIEW_NAMES = ["compliance_coverage", "compliance_coverage_daily"]


def upgrade() -> None:
    for name in LEDGER_COLUMNS:
        op.add_column("compliance_ledger", sa.Column(name, sa.Integer(), nullable=True))
    op.add_column("compliance_ledger", sa.Column("coverage", sa.Float(), nullable=True))
    op.add_column("compliance_ledger", sa.Column("unrecorded_intervals", sa.JSON(), nullable=True))
    op.add_column(
        "compliance_daily_summary",
        sa.Column("unrecorded_time", sa.Integer(), nullable=False, server_default="0"),
    )
    for statement in VIEWS:
        op.execute(statement)


def downgrade() -> None:
    for view in reversed(VIEW_NAMES):
        op.execute(f"DROP VIEW IF EXISTS {view}")
    # Plain DROP COLUMN (SQLite >= 3.35): a batch table copy would break the 0004 views
    # that read compliance_ledger.
    op.execute("ALTER TABLE compliance_daily_summary DROP COLUMN unrecorded_time")
    for name in ("unrecorded_intervals", "coverage", *reversed(LEDGER_COLUMNS)):
        op.execute(f"ALTER TABLE compliance_ledger DROP COLUMN {name}")
