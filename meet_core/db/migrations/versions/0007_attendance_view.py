"""compliance_attendance: who was invited and who attended, per meeting

One row per invitee (attended or not, from ``participants``) and one per uninvited Meet
participant (from ``conference_participants``), so that "who attended the meetings that
were not fully recorded?" is one join with ``compliance_ledger`` (docs/compliance.md).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Invitees' attendance is read from the harvested participants themselves (the pipeline
# writes the invitee's email onto a participant it matched), not from the API's copy.
VIEW = """
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


def upgrade() -> None:
    op.execute(VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS compliance_attendance")
