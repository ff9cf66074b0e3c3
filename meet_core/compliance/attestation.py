"""A day's attestation: a small JSON document, written to S3 under Object Lock only when
the day's held meetings are all recorded in full and archived (read from the day's ledger, the same
rows the ``held_meetings_recorded`` check reads), that fixes the day's ledger by a
fingerprint an auditor can recompute from the table."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from meet_core.archive import ArchivedObject, ArchiveWriter, object_key
from meet_core.db.models import ComplianceDailySummary, LedgerEntry, ViolationReason

# The reasons that say a held meeting of the day is not recorded in full and archived: no
# recording, a recording not archived in time, or people present while no recording ran
# (beyond MEET_COMPLIANCE_COVERAGE_TOLERANCE_SECONDS).
UNRECORDED = (
    ViolationReason.HELD_WITHOUT_RECORDING,
    ViolationReason.RECORDING_NOT_ARCHIVED_IN_TIME,
    ViolationReason.UNRECORDED_TIME,
)


def held_unrecorded(session: Session, day: str) -> tuple[int, list[LedgerEntry]]:
    """The day's held meetings and those of them not recorded in full and archived (ledger
    rows whose reasons include an UNRECORDED one), in scheduled order."""
    held = list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.partition_date == day, LedgerEntry.held.is_(True))
            .order_by(LedgerEntry.scheduled_start, LedgerEntry.meeting_id)
        )
    )
    unrecorded = {u.value for u in UNRECORDED}
    bad = [r for r in held if set(r.violation_reasons.split(",")) & unrecorded]
    return len(held), bad

FINGERPRINT_COLUMNS = (
    "meeting_id",
    "external_id",
    "outcome",
    "compliance_status",
    "violation_reasons",
    "recordings_found",
    "recordings_archived",
    "checksums_verified",
)


def ledger_fingerprint(session: Session, day: str) -> tuple[str, int]:
    """SHA-256 over the day's rows (FINGERPRINT_COLUMNS, one JSON array per line, by
    meeting id) and the row count; docs/compliance.md shows how to recompute it."""
    digest, count = hashlib.sha256(), 0
    columns = [LedgerEntry.__table__.c[name] for name in FINGERPRINT_COLUMNS]
    for row in session.execute(
        select(*columns).where(LedgerEntry.partition_date == day).order_by(LedgerEntry.meeting_id)
    ):
        digest.update(json.dumps(list(row), separators=(",", ":")).encode() + b"\n")
        count += 1
    return digest.hexdigest(), count


def attest_day(session: Session, writer: ArchiveWriter, *, day: str, prefix: str) -> ArchivedObject:
    """Write the attestation (same ledger, same bytes, same key: re-runs are idempotent;
    S3's LastModified says when)."""
    fingerprint, rows = ledger_fingerprint(session, day)
    summary = session.get(ComplianceDailySummary, day)
    document = {
        "day": day,
        "statement": "every held meeting of the day was recorded in full and its recordings archived",
        "ledger_rows": rows,
        "ledger_fingerprint_sha256": fingerprint,
        "fingerprint_columns": list(FINGERPRINT_COLUMNS),
        "held": summary.held if summary else 0,
        "compliant": summary.compliant if summary else 0,
        "pending": summary.pending if summary else 0,
        "violation": summary.violation if summary else 0,
    }
    body = (json.dumps(document, sort_keys=True, indent=2) + "\n").encode()
    key = object_key(prefix, "attestations", day, f"attestation-{day}-{fingerprint[:12]}.json")
    return writer.archive_stream(
        key,
        [body],
        expected_size=len(body),
        expected_sha256=hashlib.sha256(body).hexdigest(),
        content_type="application/json",
        metadata={"report-day": day},
    )
