"""Typed SQLAlchemy models of the app and audit database.

Times are aware datetimes stored in UTC (:class:`UTCDateTime`); the IANA zone the client
asked for is kept beside them so that Calendar shows the meeting in the right zone.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from meet_core.db.types import UTCDateTime, utcnow

# Stable constraint names, so that migrations behave the same on both engines.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def new_id() -> str:
    return str(uuid.uuid4())


class Role(enum.StrEnum):
    ADMIN = "admin"
    SERVICE = "service"
    AUDITOR = "auditor"


class MeetingStatus(enum.StrEnum):
    PENDING = "pending"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    FINISHED = "finished"
    NOT_HELD = "not_held"
    CANCELLED = "cancelled"
    FAILED = "failed"


class ApiClient(Base):
    """A caller of the API (XOMA is one); a service key sees only its own client's meetings."""

    __tablename__ = "api_clients"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiKey(Base):
    """An API key: only a SHA-256 of its secret is kept; the key id is public."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    client: Mapped[ApiClient] = relationship(lazy="joined")


class ApiRateWindow(Base):
    """One row per API key: its current rate-limit window (start in database milliseconds
    since the epoch) and the requests counted in it, shared by every API process
    (meet_api.lib.ratelimit). Unlogged on PostgreSQL: a crash may reset windows, nothing more."""

    __tablename__ = "api_rate_windows"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)


class Meeting(Base):
    __tablename__ = "meetings"
    __table_args__ = (
        UniqueConstraint("client_id", "external_id"),
        Index("ix_meetings_status_start_time", "status", "start_time"),
        Index("ix_meetings_start_time_id", "start_time", "id"),
        Index("ix_meetings_client_start_time", "client_id", "start_time", "id"),
        # The API's lists: a client's meetings by status, in page order (migration 0005).
        Index("ix_meetings_client_status_start", "client_id", "status", "start_time", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id"))
    external_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(1024))
    description: Mapped[str | None] = mapped_column(Text)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime())
    end_time: Mapped[datetime] = mapped_column(UTCDateTime())
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    organizer_email: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), default=MeetingStatus.PENDING)
    # Google side, filled by provisioning.
    calendar_id: Mapped[str | None] = mapped_column(String(320))
    calendar_event_id: Mapped[str | None] = mapped_column(String(1024))
    space_name: Mapped[str | None] = mapped_column(String(200), index=True)
    meeting_code: Mapped[str | None] = mapped_column(String(64))
    meet_uri: Mapped[str | None] = mapped_column(String(300))
    auto_recording: Mapped[bool] = mapped_column(Boolean, default=False)
    provisioning_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    # Optimistic concurrency: every update bumps it, If-Match compares it.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    participants: Mapped[list[Participant]] = relationship(
        back_populates="meeting",
        cascade="all, delete-orphan",
        order_by="Participant.email",
        lazy="selectin",
    )


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("meeting_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320), index=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="guest")
    response_status: Mapped[str] = mapped_column(String(16), default="needsAction")
    attended: Mapped[bool | None] = mapped_column(Boolean)
    first_joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attended_seconds: Mapped[int | None] = mapped_column(Integer)

    meeting: Mapped[Meeting] = relationship(back_populates="participants")


class IdempotencyRecord(Base):
    """The first answer to an Idempotency-Key, replayed for repeats of the same request."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("client_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="in_flight")
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AuditEvent(Base):
    """One link of the hash chain; rows are only ever inserted (triggers refuse the rest)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id", "seq"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[Any] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChainHead(Base):
    """A single row naming the chain's last link; locking it serialises appenders."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))


# --- Pipeline: conference records, attendance and the archive manifest (migration 0002) ---


class ArtifactKind(enum.StrEnum):
    """What one archived object is; a transcript yields two objects (text and entries)."""

    RECORDING = "recording"
    TRANSCRIPT_TEXT = "transcript_text"
    TRANSCRIPT_ENTRIES = "transcript_entries"
    SMART_NOTES = "smart_notes"  # Gemini's notes: a Google Doc exported as text (0009)


class ManifestState(enum.StrEnum):
    PENDING = "pending"
    ARCHIVING = "archiving"
    ARCHIVED = "archived"
    FAILED = "failed"


class AttendeeKind(enum.StrEnum):
    INTERNAL = "internal"  # signed in, of the organizer's domain ("signed_in" before 0009)
    EXTERNAL = "external"
    ANONYMOUS = "anonymous"
    PHONE = "phone"


class ConferenceRecord(Base):
    """One Meet conference (a session of a space) seen for a meeting."""

    __tablename__ = "conference_records"
    __table_args__ = (Index("ix_conference_records_meeting_start", "meeting_id", "start_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    space_name: Mapped[str] = mapped_column(String(200))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime())
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expire_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    participant_count: Mapped[int] = mapped_column(Integer, default=0)
    recording_count: Mapped[int] = mapped_column(Integer, default=0)
    transcript_count: Mapped[int] = mapped_column(Integer, default=0)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ConferenceParticipant(Base):
    """Attendance of one Meet participant in one conference (sessions summed up)."""

    __tablename__ = "conference_participants"
    __table_args__ = (Index("ix_conference_participants_meeting_email", "meeting_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    conference_record_id: Mapped[int] = mapped_column(
        ForeignKey("conference_records.id", ondelete="CASCADE"), index=True
    )
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    user_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    display_name: Mapped[str | None] = mapped_column(String(200))
    invited: Mapped[bool] = mapped_column(Boolean, default=False)
    first_joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attended_seconds: Mapped[int] = mapped_column(Integer, default=0)
    session_count: Mapped[int] = mapped_column(Integer, default=0)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # How the participant was matched to an invitee: "email" (identity resolved) or
    # "display_name" (nobody could resolve them); None: not matched (0009).
    matched_by: Mapped[str | None] = mapped_column(String(16))
    # The meeting's organizer: neither an invitee nor an uninvited attendee (0009).
    is_organizer: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class MatchedBy(enum.StrEnum):
    EMAIL = "email"
    DISPLAY_NAME = "display_name"


class IdentitySource(enum.StrEnum):
    PEOPLE = "people"
    DIRECTORY = "directory"
    NONE = "none"  # neither API showed an email


class GoogleIdentity(Base):
    """What Google said a Meet ``users/{id}`` is, so each person is looked up once (0009)."""

    __tablename__ = "google_identities"

    account_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    display_name: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))
    resolved_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ParticipantSession(Base):
    """One join-to-leave interval of a participant (Meet participantSessions)."""

    __tablename__ = "participant_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(400), unique=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("conference_participants.id", ondelete="CASCADE"), index=True
    )
    start_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_seconds: Mapped[int | None] = mapped_column(Integer)


class ArchiveManifestEntry(Base):
    """Per-object archive state: one row per Meet artifact object, keyed by a stable name.

    ``artifact_name`` is the Meet resource name (``conferenceRecords/x/recordings/y``), with
    ``/entries`` appended for a transcript's structured entries, so re-runs find their row.
    """

    __tablename__ = "archive_manifest"
    __table_args__ = (
        Index("ix_archive_manifest_state_partition", "state", "partition_date"),
        Index("ix_archive_manifest_partition_kind", "partition_date", "kind"),
        Index("ix_archive_manifest_meeting", "meeting_id"),
        # Finished meetings still waiting for Google to generate files are found through it.
        Index("ix_archive_manifest_google_state", "google_state", "meeting_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    artifact_name: Mapped[str] = mapped_column(String(400), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    conference_record_name: Mapped[str] = mapped_column(String(200))
    partition_date: Mapped[str] = mapped_column(String(10))
    google_state: Mapped[str] = mapped_column(String(24))
    source_id: Mapped[str | None] = mapped_column(String(200))
    artifact_start_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    artifact_end_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16), default=ManifestState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bucket: Mapped[str | None] = mapped_column(String(63))
    object_key: Mapped[str | None] = mapped_column(String(1024))
    version_id: Mapped[str | None] = mapped_column(String(1024))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    drive_size: Mapped[int | None] = mapped_column(BigInteger)
    drive_md5: Mapped[str | None] = mapped_column(String(32))
    drive_sha256: Mapped[str | None] = mapped_column(String(64))
    s3_checksum: Mapped[str | None] = mapped_column(String(100))
    retain_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lock_mode: Mapped[str | None] = mapped_column(String(16))
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


# --- Compliance: ledger, violations, daily summary, digests, object checks, webhooks (0004) ---
# Tables for people (compliance officers, auditors) carry the ``compliance_`` prefix on both
# engines; docs/compliance.md explains every column and the views built on them.


class ComplianceStatus(enum.StrEnum):
    COMPLIANT = "compliant"
    PENDING = "pending"  # still within its service level
    VIOLATION = "violation"


class ViolationReason(enum.StrEnum):
    HELD_WITHOUT_RECORDING = "held_without_recording"
    RECORDING_NOT_ARCHIVED_IN_TIME = "recording_not_archived_in_time"
    CHECKSUM_MISMATCH = "checksum_mismatch"
    OBJECT_MISSING_OR_UNLOCKED = "object_missing_or_unlocked"
    HARVEST_NEAR_EXPIRY = "harvest_near_expiry"
    PROVISIONING_FAILED = "provisioning_failed"
    UNRECORDED_TIME = "unrecorded_time"  # people present while no recording ran (0008)


class ViolationState(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    DEAD = "dead"  # every try failed: dead-lettered, kept for a human


class LedgerEntry(Base):
    """One row per meeting: what was owed, what happened, and the verdict."""

    __tablename__ = "compliance_ledger"
    __table_args__ = (
        Index("ix_compliance_ledger_partition_status", "partition_date", "compliance_status"),
        Index("ix_compliance_ledger_start", "scheduled_start"),
    )

    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    partition_date: Mapped[str] = mapped_column(String(10))
    client_id: Mapped[str] = mapped_column(String(36))
    external_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(1024))
    meeting_status: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(24))
    scheduled_start: Mapped[datetime] = mapped_column(UTCDateTime())
    scheduled_end: Mapped[datetime] = mapped_column(UTCDateTime())
    held: Mapped[bool] = mapped_column(Boolean)
    conference_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    conference_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    conference_expires: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invited_count: Mapped[int] = mapped_column(Integer)
    joined_count: Mapped[int] = mapped_column(Integer)
    invited_joined_count: Mapped[int] = mapped_column(Integer)
    recording_required: Mapped[bool] = mapped_column(Boolean)
    recordings_found: Mapped[int] = mapped_column(Integer)
    recordings_archived: Mapped[int] = mapped_column(Integer)
    transcripts_found: Mapped[int] = mapped_column(Integer)
    transcripts_archived: Mapped[int] = mapped_column(Integer)
    # Gemini smart notes and uninvited attendees (organizer excluded), migration 0009.
    smart_notes_found: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    smart_notes_archived: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    uninvited_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    checksums_verified: Mapped[bool | None] = mapped_column(Boolean)
    minutes_to_archive: Mapped[int | None] = mapped_column(Integer)
    retain_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    legal_hold: Mapped[bool] = mapped_column(Boolean)
    compliance_status: Mapped[str] = mapped_column(String(16))
    violation_reasons: Mapped[str] = mapped_column(String(300))
    pending_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Recording coverage (0008): None until the meeting is held and its coverage judged.
    present_seconds: Mapped[int | None] = mapped_column(Integer)
    recorded_seconds: Mapped[int | None] = mapped_column(Integer)
    unrecorded_seconds: Mapped[int | None] = mapped_column(Integer)
    coverage: Mapped[float | None] = mapped_column(Float)
    unrecorded_intervals: Mapped[Any | None] = mapped_column(JSON)  # [{"start", "end"}] UTC


class ComplianceViolation(Base):
    """A violation's life: opened by the ledger, resolved by the ledger (condition gone) or
    by a named person with a resolution note. Rows are never deleted."""

    __tablename__ = "compliance_violations"
    __table_args__ = (
        Index("ix_compliance_violations_meeting_reason", "meeting_id", "reason", "id"),
        Index("ix_compliance_violations_state_opened", "state", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id"))
    partition_date: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_by: Mapped[str] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str | None] = mapped_column(Text)


class ComplianceDailySummary(Base):
    """Totals of one ledger day, rewritten each time the day's ledger is materialised."""

    __tablename__ = "compliance_daily_summary"

    partition_date: Mapped[str] = mapped_column(String(10), primary_key=True)
    meetings: Mapped[int] = mapped_column(Integer)
    held: Mapped[int] = mapped_column(Integer)
    not_held: Mapped[int] = mapped_column(Integer)
    cancelled: Mapped[int] = mapped_column(Integer)
    compliant: Mapped[int] = mapped_column(Integer)
    pending: Mapped[int] = mapped_column(Integer)
    violation: Mapped[int] = mapped_column(Integer)
    compliance_rate: Mapped[float | None] = mapped_column(Float)
    held_without_recording: Mapped[int] = mapped_column(Integer)
    recording_not_archived_in_time: Mapped[int] = mapped_column(Integer)
    checksum_mismatch: Mapped[int] = mapped_column(Integer)
    object_missing_or_unlocked: Mapped[int] = mapped_column(Integer)
    harvest_near_expiry: Mapped[int] = mapped_column(Integer)
    provisioning_failed: Mapped[int] = mapped_column(Integer)
    unrecorded_time: Mapped[int] = mapped_column(Integer, server_default="0")
    open_violations: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditDigest(Base):
    """One digest of a segment of the audit chain, as written to S3 under Object Lock
    (append-only: triggers refuse updates and deletes)."""

    __tablename__ = "compliance_digests"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    event_count: Mapped[int] = mapped_column(Integer)
    first_prev_hash: Mapped[str] = mapped_column(String(64))
    last_hash: Mapped[str] = mapped_column(String(64))
    previous_digest_hash: Mapped[str] = mapped_column(String(64))
    digest_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    bucket: Mapped[str] = mapped_column(String(63))
    object_key: Mapped[str] = mapped_column(String(1024))
    version_id: Mapped[str] = mapped_column(String(1024))
    lock_mode: Mapped[str | None] = mapped_column(String(16))
    retain_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ObjectCheck(Base):
    """The latest look at one archived object in S3 (existence, size, checksum, lock)."""

    __tablename__ = "compliance_object_checks"

    manifest_id: Mapped[int] = mapped_column(
        ForeignKey("archive_manifest.id", ondelete="CASCADE"), primary_key=True
    )
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(24))
    problem: Mapped[str | None] = mapped_column(Text)


class WebhookOutboxEntry(Base):
    """An event for XOMA, written in the transaction of the change it announces; ``id`` is
    the ``Webhook-Id`` receivers de-duplicate on and ``body`` the exact bytes sent."""

    __tablename__ = "webhook_outbox"
    __table_args__ = (Index("ix_webhook_outbox_state_due", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(60))
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# --- Legal matters: search index, matters, holds (migration 0010, docs/compliance.md) ---


class SearchKind(enum.StrEnum):
    """What a search document was made from (smart notes join transcripts when archived)."""

    TRANSCRIPT = "transcript"  # from the entries: every line has its speaker and time
    TRANSCRIPT_TEXT = "transcript_text"  # the exported text, while no entries are indexed
    SMART_NOTE = "smart_note"  # Gemini's notes: lines without speaker or time


class SearchDocument(Base):
    """The searchable text of one archived object: its body (indexed by a PostgreSQL GIN
    index on ``to_tsvector('simple', body)``, or the SQLite FTS5 table ``search_fts``) and
    its lines with speaker and time, to show which lines matched."""

    __tablename__ = "search_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    manifest_id: Mapped[int] = mapped_column(
        ForeignKey("archive_manifest.id", ondelete="CASCADE"), unique=True
    )
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    language: Mapped[str | None] = mapped_column(String(35))
    body: Mapped[str] = mapped_column(Text)
    lines: Mapped[Any] = mapped_column(JSON)
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MatterState(enum.StrEnum):
    OPEN = "open"  # collecting meetings, no hold
    HELD = "held"  # collecting, and every object of its meetings is under legal hold
    RELEASED = "released"  # hold lifted by a named person; no longer collects


class Matter(Base):
    """A legal matter: a set of meetings, collected by id or by a saved search."""

    __tablename__ = "matters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16), default=MatterState.OPEN)
    saved_filters: Mapped[Any | None] = mapped_column(JSON)
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    held_by: Mapped[str | None] = mapped_column(String(200))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by: Mapped[str | None] = mapped_column(String(200))
    release_note: Mapped[str | None] = mapped_column(Text)


class MatterMeeting(Base):
    __tablename__ = "matter_meetings"
    __table_args__ = (Index("ix_matter_meetings_meeting", "meeting_id"),)

    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), primary_key=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    added_by: Mapped[str] = mapped_column(String(200))
    added_via: Mapped[str] = mapped_column(String(16))  # id | search | archive


class MatterHold(Base):
    """One matter's hold on one archived object version; ``released_at`` set on release. The
    S3 legal hold stays ON while any unreleased row names the object."""

    __tablename__ = "matter_holds"
    __table_args__ = (Index("ix_matter_holds_manifest", "manifest_id", "released_at"),)

    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), primary_key=True)
    manifest_id: Mapped[int] = mapped_column(ForeignKey("archive_manifest.id"), primary_key=True)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MatterCollectQueue(Base):
    """An archived object whose matter collection (saved searches joined, holds recorded) is
    not done yet: written in the transaction that records the object, deleted by the
    transaction that collects it; what a crash or fault leaves is retried (0012)."""

    __tablename__ = "matter_collect_queue"

    manifest_id: Mapped[int] = mapped_column(
        ForeignKey("archive_manifest.id", ondelete="CASCADE"), primary_key=True
    )
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EventSubscription(Base):
    """The Workspace Events subscription kept for one organizer (docs/pipeline.md).

    ``state`` is Google's (ACTIVE, SUSPENDED) or ours: MISSING (none at Google yet, or
    expired/deleted there, to be created again)."""

    __tablename__ = "event_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organizer_email: Mapped[str] = mapped_column(String(320), unique=True)
    user_id: Mapped[str | None] = mapped_column(String(128))
    google_name: Mapped[str | None] = mapped_column(String(300), unique=True)
    state: Mapped[str] = mapped_column(String(24))
    suspension_reason: Mapped[str | None] = mapped_column(String(100))
    expire_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    renewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)


class ReceivedEvent(Base):
    """One Workspace event, stored once by its CloudEvents ``ce-id`` (redeliveries and
    duplicates find the row). ``origin`` ``backstop`` rows are what polling found that no
    event announced: the count of lost events."""

    __tablename__ = "received_events"
    __table_args__ = (
        Index("ix_received_events_state", "state", "received_at"),
        Index("ix_received_events_type_received", "event_type", "received_at"),
    )

    ce_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(120))
    origin: Mapped[str] = mapped_column(String(16), default="pubsub")
    source: Mapped[str | None] = mapped_column(String(300))
    subject: Mapped[str | None] = mapped_column(String(300))
    resource_name: Mapped[str | None] = mapped_column(String(300))
    meeting_id: Mapped[str | None] = mapped_column(String(36), index=True)
    event_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deliveries: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16))  # pending, handled, ignored, failed
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class BackstopLook(Base):
    """The one look polling still takes at a meeting in events mode, after its end and the
    artifact wait (proof that no recording is owed); ``found`` counts what no event told."""

    __tablename__ = "backstop_looks"

    meeting_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    looked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    final: Mapped[bool] = mapped_column(Boolean)
    found: Mapped[int] = mapped_column(Integer)
