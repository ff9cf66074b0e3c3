"""Attendance by identity, smart notes: google_identities, participant match columns,
ledger counts, attendee kind "internal", and compliance_attendance with the new columns

* ``google_identities``: what People / Directory said a Meet ``users/{id}`` is (cache).
* ``conference_participants.matched_by`` ("email" / "display_name") and ``is_organizer``.
* Attendee kind ``signed_in`` becomes ``internal`` (the contract's name).
* ``compliance_ledger``: ``smart_notes_found``, ``smart_notes_archived``, ``uninvited_count``.
* ``compliance_attendance`` gains ``matched_by`` and ``organizer``.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from meet_core.db.types import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Invitees' attendance: the participants the pipeline matched to them (by email, or by
# display name for someone nobody could resolve). The organizer is neither an invitee nor
# uninvited: a row of its own (invited FALSE, organizer TRUE).
VIEW = """
CREATE VIEW compliance_attendance AS
SELECT m.id AS meeting_id, m.external_id, m.title, m.start_time AS scheduled_start,
       TRUE AS invited, FALSE AS organizer, p.email, p.display_name, a.kind,
       a.email IS NOT NULL AS attended, a.matched_by,
       a.first_joined_at, a.last_left_at, a.seconds
FROM participants p
JOIN meetings m ON m.id = p.meeting_id
LEFT JOIN (
    SELECT meeting_id, lower(email) AS email, max(kind) AS kind, min(matched_by) AS matched_by,
           min(first_joined_at) AS first_joined_at, max(last_left_at) AS last_left_at,
           sum(attended_seconds) AS seconds
    FROM conference_participants
    WHERE invited AND email IS NOT NULL
    GROUP BY meeting_id, lower(email)
) a ON a.meeting_id = p.meeting_id AND a.email = lower(p.email)
UNION ALL
SELECT m.id, m.external_id, m.title, m.start_time, FALSE, cp.is_organizer, cp.email,
       cp.display_name, cp.kind, TRUE, cp.matched_by, cp.first_joined_at, cp.last_left_at,
       cp.attended_seconds
FROM conference_participants cp
JOIN meetings m ON m.id = cp.meeting_id
WHERE NOT cp.invited
"""

OLD_VIEW = """
CREATE VIEW compliance_attendance AS
SELECT m.id AS meeting_id, m.external_id, m.title, m.start_time AS scheduled_start,
       TRUE AS invited, p.email, p.display_name, a.kind, a.email IS NOT NULL AS attended,
       a.first_joined_at, a.last_left_at, a.seconds
FROM participants p
JOIN meetings m ON m.id = p.meeting_id
LEFT JOIN (
    SELECT meeting_id, lower(email) AS email, max(kind) AS kind,
           min(first_joined_at) AS first_joined_at, max(last_left_at) AS last_left_at,
           sum(attended_seconds) AS seconds
    FROM conference_participants
    WHERE invited AND email IS NOT NULL
    GROUP BY meeting_id, lower(email)
) a ON a.meeting_id = p.meeting_id AND a.email = lower(p.email)
UNION ALL
SELECT m.id, m.external_id, m.title, m.start_time, FALSE, cp.email, cp.display_name, cp.kind,
       TRUE, cp.first_joined_at, cp.last_left_at, cp.attended_seconds
FROM conference_participants cp
JOIN meetings m ON m.id = cp.meeting_id
WHERE NOT cp.invited
"""

LEDGER_COUNTS = ("smart_notes_found", "smart_notes_archived", "uninvited_count")


def upgrade() -> None:
    op.execute("DROP VIEW IF EXISTS compliance_attendance")
    op.create_table(
        "google_identities",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_google_identities")),
    )
    # Plain ADD/DROP COLUMN on both engines (SQLite >= 3.35): a batch copy of the table
    # would break the compliance views that read it.
    op.add_column(
        "conference_participants", sa.Column("matched_by", sa.String(length=16), nullable=True)
    )
    op.add_column(
        "conference_participants",
        sa.Column("is_organizer", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    for name in LEDGER_COUNTS:
        op.add_column(
            "compliance_ledger", sa.Column(name, sa.Integer(), nullable=False, server_default="0")
        )
    op.execute("UPDATE conference_participants SET kind = 'internal' WHERE kind = 'signed_in'")
    # Invited rows harvested before 0009 were matched by email or by display name; which one
    # is not known any more, so they say nothing rather than something wrong.
    op.execute(VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS compliance_attendance")
    op.execute("UPDATE conference_participants SET kind = 'signed_in' WHERE kind = 'internal'")
    for name in LEDGER_COUNTS:
        op.drop_column("compliance_ledger", name)
    op.drop_column("conference_participants", "is_organizer")
    op.drop_column("conference_participants", "matched_by")
    op.drop_table("google_identities")
    op.execute(OLD_VIEW)
