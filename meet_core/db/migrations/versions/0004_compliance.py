"""compliance: ledger, violations, daily summary, audit digests, object checks, webhook outbox

Tables and views for people carry the ``compliance_`` prefix on SQLite and PostgreSQL alike
(docs/compliance.md documents every column and view).

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from meet_core.db.types import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Digest rows are evidence, like audit events: the database refuses to change them.
APPEND_ONLY = {
    "postgresql": [
        """
        CREATE FUNCTION compliance_digests_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'compliance_digests is append-only';
        END;
        $$ LANGUAGE plpgsql
        """,
        """
        CREATE TRIGGER compliance_digests_append_only BEFORE UPDATE OR DELETE ON compliance_digests
        FOR EACH ROW EXECUTE FUNCTION compliance_digests_append_only()
        """,
    ],
    "sqlite": [
        """
        CREATE TRIGGER compliance_digests_no_update BEFORE UPDATE ON compliance_digests
        BEGIN SELECT RAISE(ABORT, 'compliance_digests is append-only'); END
        """,
        """
        CREATE TRIGGER compliance_digests_no_delete BEFORE DELETE ON compliance_digests
        BEGIN SELECT RAISE(ABORT, 'compliance_digests is append-only'); END
        """,
    ],
}
DROP_APPEND_ONLY = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS compliance_digests_append_only ON compliance_digests",
        "DROP FUNCTION IF EXISTS compliance_digests_append_only()",
    ],
    "sqlite": [
        "DROP TRIGGER IF EXISTS compliance_digests_no_update",
        "DROP TRIGGER IF EXISTS compliance_digests_no_delete",
    ],
}

# Plain SQL that both engines read the same way (docs/compliance.md, "Views").
VIEWS = [
    """
    CREATE VIEW compliance_archive_manifest AS
    SELECT m.id AS manifest_id, m.meeting_id, mt.external_id, mt.title, m.partition_date,
           m.kind, m.artifact_name, m.conference_record_name, m.google_state, m.state,
           m.attempts, m.last_error, m.bucket, m.object_key, m.version_id,
           CASE WHEN m.bucket IS NOT NULL AND m.object_key IS NOT NULL
                THEN 's3://' || m.bucket || '/' || m.object_key END AS s3_uri,
           m.content_type, m.size, m.sha256, m.drive_size, m.drive_md5, m.drive_sha256,
           m.s3_checksum, m.lock_mode, m.retain_until, m.legal_hold, m.archived_at,
           c.checked_at AS last_checked_at, c.outcome AS last_check_outcome,
           c.problem AS last_check_problem
    FROM archive_manifest m
    JOIN meetings mt ON mt.id = m.meeting_id
    LEFT JOIN compliance_object_checks c ON c.manifest_id = m.id
    """,
    """
    CREATE VIEW compliance_meeting_recordings AS
    SELECT l.partition_date, l.meeting_id, l.external_id, l.title, l.scheduled_start,
           l.scheduled_end, l.outcome, l.compliance_status, l.violation_reasons,
           a.kind, a.artifact_name, a.state AS archive_state, a.s3_uri, a.version_id, a.size,
           a.sha256, a.drive_sha256, a.s3_checksum, a.lock_mode, a.retain_until, a.legal_hold,
           a.archived_at, a.last_check_outcome
    FROM compliance_ledger l
    LEFT JOIN compliance_archive_manifest a ON a.meeting_id = l.meeting_id
    """,
    """
    CREATE VIEW compliance_open_violations AS
    SELECT v.id AS violation_id, v.meeting_id, mt.external_id, mt.title,
           mt.start_time AS scheduled_start, v.partition_date, v.reason, v.detail,
           v.opened_at, v.opened_by
    FROM compliance_violations v
    JOIN meetings mt ON mt.id = v.meeting_id
    WHERE v.state = 'open'
    """,
    """
    CREATE VIEW compliance_webhook_dead_letters AS
    SELECT id AS event_id, event_type, created_at, attempts, last_attempt_at, last_status,
           last_error, body
    FROM webhook_outbox
    WHERE state = 'dead'
    """,
]
VIEW_NAMES = [
    "compliance_archive_manifest",
    "compliance_meeting_recordings",
    "compliance_open_violations",
    "compliance_webhook_dead_letters",
]


def upgrade() -> None:
    op.create_table(
        "compliance_daily_summary",
        sa.Column("partition_date", sa.String(length=10), nullable=False),
        sa.Column("meetings", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("not_held", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("compliant", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("violation", sa.Integer(), nullable=False),
        sa.Column("compliance_rate", sa.Float(), nullable=True),
        sa.Column("held_without_recording", sa.Integer(), nullable=False),
        sa.Column("recording_not_archived_in_time", sa.Integer(), nullable=False),
        sa.Column("checksum_mismatch", sa.Integer(), nullable=False),
        sa.Column("object_missing_or_unlocked", sa.Integer(), nullable=False),
        sa.Column("harvest_near_expiry", sa.Integer(), nullable=False),
        sa.Column("provisioning_failed", sa.Integer(), nullable=False),
        sa.Column("open_violations", sa.Integer(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("partition_date", name=op.f("pk_compliance_daily_summary")),
    )
    op.create_table(
        "compliance_digests",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("first_prev_hash", sa.String(length=64), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("previous_digest_hash", sa.String(length=64), nullable=False),
        sa.Column("digest_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("bucket", sa.String(length=63), nullable=False),
        sa.Column("object_key", sa.String(length=1024), nullable=False),
        sa.Column("version_id", sa.String(length=1024), nullable=False),
        sa.Column("lock_mode", sa.String(length=16), nullable=True),
        sa.Column("retain_until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_compliance_digests")),
        sa.UniqueConstraint("digest_hash", name=op.f("uq_compliance_digests_digest_hash")),
    )
    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("dedupe_key", sa.String(length=300), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_webhook_outbox_dedupe_key")),
    )
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_outbox_state_due", ["state", "next_attempt_at"], unique=False
        )

    op.create_table(
        "compliance_ledger",
        sa.Column("meeting_id", sa.String(length=36), nullable=False),
        sa.Column("partition_date", sa.String(length=10), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=1024), nullable=False),
        sa.Column("meeting_status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("scheduled_start", UTCDateTime(), nullable=False),
        sa.Column("scheduled_end", UTCDateTime(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("conference_start", UTCDateTime(), nullable=True),
        sa.Column("conference_end", UTCDateTime(), nullable=True),
        sa.Column("conference_expires", UTCDateTime(), nullable=True),
        sa.Column("invited_count", sa.Integer(), nullable=False),
        sa.Column("joined_count", sa.Integer(), nullable=False),
        sa.Column("invited_joined_count", sa.Integer(), nullable=False),
        sa.Column("recording_required", sa.Boolean(), nullable=False),
        sa.Column("recordings_found", sa.Integer(), nullable=False),
        sa.Column("recordings_archived", sa.Integer(), nullable=False),
        sa.Column("transcripts_found", sa.Integer(), nullable=False),
        sa.Column("transcripts_archived", sa.Integer(), nullable=False),
        sa.Column("checksums_verified", sa.Boolean(), nullable=True),
        sa.Column("minutes_to_archive", sa.Integer(), nullable=True),
        sa.Column("retain_until", UTCDateTime(), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("compliance_status", sa.String(length=16), nullable=False),
        sa.Column("violation_reasons", sa.String(length=300), nullable=False),
        sa.Column("pending_until", UTCDateTime(), nullable=True),
        sa.Column("evaluated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_compliance_ledger_meeting_id_meetings")
        ),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("pk_compliance_ledger")),
    )
    with op.batch_alter_table("compliance_ledger", schema=None) as batch_op:
        batch_op.create_index(
            "ix_compliance_ledger_partition_status",
            ["partition_date", "compliance_status"],
            unique=False,
        )
        batch_op.create_index("ix_compliance_ledger_start", ["scheduled_start"], unique=False)

    op.create_table(
        "compliance_violations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.String(length=36), nullable=False),
        sa.Column("partition_date", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("opened_by", sa.String(length=200), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_compliance_violations_meeting_id_meetings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_violations")),
    )
    with op.batch_alter_table("compliance_violations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_compliance_violations_meeting_reason", ["meeting_id", "reason", "id"], unique=False
        )
        batch_op.create_index(
            "ix_compliance_violations_state_opened", ["state", "opened_at"], unique=False
        )

    op.create_table(
        "compliance_object_checks",
        sa.Column("manifest_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["manifest_id"],
            ["archive_manifest.id"],
            name=op.f("fk_compliance_object_checks_manifest_id_archive_manifest"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("manifest_id", name=op.f("pk_compliance_object_checks")),
    )
    for statement in APPEND_ONLY.get(op.get_context().dialect.name, []):
        op.execute(statement)
    for statement in VIEWS:
        op.execute(statement)


def downgrade() -> None:
    for view in reversed(VIEW_NAMES):
        op.execute(f"DROP VIEW IF EXISTS {view}")
    for statement in DROP_APPEND_ONLY.get(op.get_context().dialect.name, []):
        op.execute(statement)
    op.drop_table("compliance_object_checks")
    with op.batch_alter_table("compliance_violations", schema=None) as batch_op:
        batch_op.drop_index("ix_compliance_violations_state_opened")
        batch_op.drop_index("ix_compliance_violations_meeting_reason")

    op.drop_table("compliance_violations")
    with op.batch_alter_table("compliance_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_compliance_ledger_start")
        batch_op.drop_index("ix_compliance_ledger_partition_status")

    op.drop_table("compliance_ledger")
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_outbox_state_due")

    op.drop_table("webhook_outbox")
    op.drop_table("compliance_digests")
    op.drop_table("compliance_daily_summary")
