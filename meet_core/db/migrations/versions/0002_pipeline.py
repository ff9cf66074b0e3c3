"""pipeline: conference records, attendance and the archive manifest

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from meet_core.db.types import UTCDateTime

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('archive_manifest',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('artifact_name', sa.String(length=400), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('meeting_id', sa.String(length=36), nullable=False),
    sa.Column('conference_record_name', sa.String(length=200), nullable=False),
    sa.Column('partition_date', sa.String(length=10), nullable=False),
    sa.Column('google_state', sa.String(length=24), nullable=False),
    sa.Column('source_id', sa.String(length=200), nullable=True),
    sa.Column('artifact_start_time', UTCDateTime(), nullable=True),
    sa.Column('artifact_end_time', UTCDateTime(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_attempt_at', UTCDateTime(), nullable=True),
    sa.Column('bucket', sa.String(length=63), nullable=True),
    sa.Column('object_key', sa.String(length=1024), nullable=True),
    sa.Column('version_id', sa.String(length=1024), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('drive_size', sa.BigInteger(), nullable=True),
    sa.Column('drive_md5', sa.String(length=32), nullable=True),
    sa.Column('drive_sha256', sa.String(length=64), nullable=True),
    sa.Column('s3_checksum', sa.String(length=100), nullable=True),
    sa.Column('retain_until', UTCDateTime(), nullable=True),
    sa.Column('lock_mode', sa.String(length=16), nullable=True),
    sa.Column('legal_hold', sa.Boolean(), nullable=False),
    sa.Column('archived_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_archive_manifest_meeting_id_meetings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_manifest')),
    sa.UniqueConstraint('artifact_name', name=op.f('uq_archive_manifest_artifact_name'))
    )
    with op.batch_alter_table('archive_manifest', schema=None) as batch_op:
        batch_op.create_index('ix_archive_manifest_google_state', ['google_state', 'meeting_id'], unique=False)
        batch_op.create_index('ix_archive_manifest_meeting', ['meeting_id'], unique=False)
        batch_op.create_index('ix_archive_manifest_partition_kind', ['partition_date', 'kind'], unique=False)
        batch_op.create_index('ix_archive_manifest_state_partition', ['state', 'partition_date'], unique=False)

    op.create_table('conference_records',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('meeting_id', sa.String(length=36), nullable=False),
    sa.Column('space_name', sa.String(length=200), nullable=False),
    sa.Column('start_time', UTCDateTime(), nullable=False),
    sa.Column('end_time', UTCDateTime(), nullable=True),
    sa.Column('expire_time', UTCDateTime(), nullable=True),
    sa.Column('participant_count', sa.Integer(), nullable=False),
    sa.Column('recording_count', sa.Integer(), nullable=False),
    sa.Column('transcript_count', sa.Integer(), nullable=False),
    sa.Column('first_seen_at', UTCDateTime(), nullable=False),
    sa.Column('synced_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_conference_records_meeting_id_meetings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conference_records')),
    sa.UniqueConstraint('name', name=op.f('uq_conference_records_name'))
    )
    with op.batch_alter_table('conference_records', schema=None) as batch_op:
        batch_op.create_index('ix_conference_records_meeting_start', ['meeting_id', 'start_time'], unique=False)

    op.create_table('conference_participants',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('conference_record_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('user_name', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('invited', sa.Boolean(), nullable=False),
    sa.Column('first_joined_at', UTCDateTime(), nullable=True),
    sa.Column('last_left_at', UTCDateTime(), nullable=True),
    sa.Column('attended_seconds', sa.Integer(), nullable=False),
    sa.Column('session_count', sa.Integer(), nullable=False),
    sa.Column('synced_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['conference_record_id'], ['conference_records.id'], name=op.f('fk_conference_participants_conference_record_id_conference_records'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_conference_participants_meeting_id_meetings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conference_participants')),
    sa.UniqueConstraint('name', name=op.f('uq_conference_participants_name'))
    )
    with op.batch_alter_table('conference_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conference_participants_conference_record_id'), ['conference_record_id'], unique=False)
        batch_op.create_index('ix_conference_participants_meeting_email', ['meeting_id', 'email'], unique=False)

    op.create_table('participant_sessions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=400), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('start_time', UTCDateTime(), nullable=True),
    sa.Column('end_time', UTCDateTime(), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['participant_id'], ['conference_participants.id'], name=op.f('fk_participant_sessions_participant_id_conference_participants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_participant_sessions')),
    sa.UniqueConstraint('name', name=op.f('uq_participant_sessions_name'))
    )
    with op.batch_alter_table('participant_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participant_sessions_participant_id'), ['participant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('participant_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participant_sessions_participant_id'))

    op.drop_table('participant_sessions')
    with op.batch_alter_table('conference_participants', schema=None) as batch_op:
        batch_op.drop_index('ix_conference_participants_meeting_email')
        batch_op.drop_index(batch_op.f('ix_conference_participants_conference_record_id'))

    op.drop_table('conference_participants')
    with op.batch_alter_table('conference_records', schema=None) as batch_op:
        batch_op.drop_index('ix_conference_records_meeting_start')

    op.drop_table('conference_records')
    with op.batch_alter_table('archive_manifest', schema=None) as batch_op:
        batch_op.drop_index('ix_archive_manifest_state_partition')
        batch_op.drop_index('ix_archive_manifest_partition_kind')
        batch_op.drop_index('ix_archive_manifest_meeting')
        batch_op.drop_index('ix_archive_manifest_google_state')

    op.drop_table('archive_manifest')
