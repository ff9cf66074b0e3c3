"""event_subscriptions and received_events: event-driven ingestion (issue 14)

One Workspace Events subscription per organizer, with its state and expiry; every Workspace
event received once, keyed by its CloudEvents ``ce-id``; the backstop's one look per meeting.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from meet_core.db.types import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organizer_email", sa.String(length=320), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("google_name", sa.String(length=300), nullable=True),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("suspension_reason", sa.String(length=100), nullable=True),
        sa.Column("expire_time", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("renewed_at", UTCDateTime(), nullable=True),
        sa.Column("last_event_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_subscriptions")),
        sa.UniqueConstraint("organizer_email", name=op.f("uq_event_subscriptions_organizer_email")),
        sa.UniqueConstraint("google_name", name=op.f("uq_event_subscriptions_google_name")),
    )
    op.create_table(
        "received_events",
        sa.Column("ce_id", sa.String(length=300), nullable=False),
        sa.Column("event_type", sa.String(length=120), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("resource_name", sa.String(length=300), nullable=True),
        sa.Column("meeting_id", sa.String(length=36), nullable=True),
        sa.Column("event_time", UTCDateTime(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("handled_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("ce_id", name=op.f("pk_received_events")),
    )
    op.create_index("ix_received_events_state", "received_events", ["state", "received_at"])
    op.create_index(
        "ix_received_events_type_received", "received_events", ["event_type", "received_at"]
    )
    op.create_index(op.f("ix_received_events_meeting_id"), "received_events", ["meeting_id"])
    op.create_table(
        "backstop_looks",
        sa.Column("meeting_id", sa.String(length=36), nullable=False),
        sa.Column("looked_at", UTCDateTime(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("found", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("pk_backstop_looks")),
    )


def downgrade() -> None:
    op.drop_table("backstop_looks")
    op.drop_table("received_events")
    op.drop_table("event_subscriptions")
