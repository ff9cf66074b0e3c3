"""Compliance assets: the daily ledger (with its attestation and report) and the hourly
audit-chain digest."""

import time
from collections.abc import Iterator

import dagster as dg
from dagster import AssetExecutionContext
from sqlalchemy import select

from meet_core.archive import ArchiveError
from meet_core.compliance.attestation import attest_day, held_unrecorded
from meet_core.compliance.digests import DigestError, write_digests
from meet_core.compliance.ledger import LedgerOutcome, materialize_ledger
from meet_core.compliance.objects import archived_refs, look_at_all, record_looks
from meet_core.compliance.report import gather, publish
from meet_core.db.models import ComplianceDailySummary, ComplianceViolation, ViolationState
from meet_pipeline.defs.archive.assets import archived_recordings, archived_transcripts
from meet_pipeline.defs.compliance.resources import ComplianceResource
from meet_pipeline.defs.meetings.assets import attendance
from meet_pipeline.partitions import DAILY
from meet_pipeline.policy import DATABASE_KIND
from meet_pipeline.resources import ArchiveResource, ClockResource, DatabaseResource

GROUP = "compliance"
LISTED_VIOLATIONS = 50


def _prefix(s3: ArchiveResource) -> str:
    return s3.prefix.strip("/")


def _ledger_metadata(
    outcome: LedgerOutcome,
    looks: int,
    bad_looks: int,
    seconds: float,
    violations: list[ComplianceViolation],
) -> dict[str, dg.MetadataValue]:
    totals = outcome.totals
    rate = totals.compliance_rate
    table = dg.MetadataValue.table(
        records=[
            dg.TableRecord(
                {
                    "violation_id": v.id,
                    "meeting_id": v.meeting_id,
                    "reason": v.reason,
                    "detail": v.detail,
                }
            )
            for v in violations
        ],
        schema=dg.TableSchema(
            columns=[
                dg.TableColumn("violation_id", "int"),
                dg.TableColumn("meeting_id", "string"),
                dg.TableColumn("reason", "string"),
                dg.TableColumn("detail", "string"),
            ]
        ),
    )
    return {
        "dagster/row_count": dg.MetadataValue.int(totals.meetings),
        "held": dg.MetadataValue.int(totals.outcomes["held"]),
        "compliant": dg.MetadataValue.int(totals.statuses["compliant"]),
        "pending": dg.MetadataValue.int(totals.statuses["pending"]),
        "violation": dg.MetadataValue.int(totals.statuses["violation"]),
        "compliance_rate": dg.MetadataValue.float(rate)
        if rate is not None
        else dg.MetadataValue.text("n/a"),
        "reasons": dg.MetadataValue.json(dict(sorted(totals.reasons.items()))),
        "violations_opened": dg.MetadataValue.int(outcome.violations.opened),
        "violations_resolved": dg.MetadataValue.int(outcome.violations.resolved),
        "open_violations": table,
        "objects_looked_at": dg.MetadataValue.int(looks),
        "objects_with_problems": dg.MetadataValue.int(bad_looks),
        "duration_seconds": dg.MetadataValue.float(round(seconds, 3)),
    }


@dg.asset(
    partitions_def=DAILY,
    group_name=GROUP,
    kinds={DATABASE_KIND, "s3"},
    deps=[archived_recordings, archived_transcripts, attendance],
    description=(
        "One row per meeting of the day in compliance_ledger: held or not, attendance, "
        "recordings found and archived, checksums, retention, and compliant / pending / "
        "violation with reasons; opens and resolves compliance_violations; writes "
        "compliance_daily_summary."
    ),
)
def compliance_ledger(
    context: AssetExecutionContext,
    database: DatabaseResource,
    s3: ArchiveResource,
    clock: ClockResource,
    compliance: ComplianceResource,
) -> dg.MaterializeResult:
    started = time.monotonic()
    day, now, sessions = context.partition_key, clock.now(), database.sessions()
    levels = compliance.levels(retention_days=s3.retention_days, lock_mode=s3.object_lock_mode)
    looks = []
    if compliance.inspect_objects:
        with sessions() as session:
            refs = archived_refs(session, day=day)
        if refs:
            looks = look_at_all(
                s3.get_client(), refs, s3.policy()
            )  # ArchiveError: S3 down, the run fails
    with sessions.begin() as session:
        record_looks(session, looks, now)
    with sessions() as session:  # commits a batch of meetings at a time
        outcome = materialize_ledger(
            session, day, now=now, levels=levels, actor=f"asset:compliance_ledger[{day}]"
        )
    with sessions() as session:
        listed = list(
            session.scalars(
                select(ComplianceViolation)
                .where(
                    ComplianceViolation.partition_date == day,
                    ComplianceViolation.state == ViolationState.OPEN,
                )
                .order_by(ComplianceViolation.id)
                .limit(LISTED_VIOLATIONS)
            )
        )
    metadata = _ledger_metadata(
        outcome,
        len(looks),
        sum(1 for x in looks if x.outcome != "ok"),
        time.monotonic() - started,
        listed,
    )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    partitions_def=DAILY,
    group_name=GROUP,
    kinds={"s3"},
    deps=[compliance_ledger],
    output_required=False,
    description=(
        "A locked JSON attestation that every held meeting of the day was recorded in full "
        "and archived, with a fingerprint of the day's ledger. Written only for a settled day "
        "(no pending meeting) and only when no held meeting lacks a recording, an archived "
        "recording or recorded time (what the check held_meetings_recorded reports, read from "
        "the same ledger rows)."
    ),
)
def compliance_attestation(
    context: AssetExecutionContext,
    database: DatabaseResource,
    s3: ArchiveResource,
) -> Iterator[dg.MaterializeResult]:
    day = context.partition_key
    with database.sessions()() as session:
        summary = session.get(ComplianceDailySummary, day)
        if summary is None or summary.pending:
            context.log.info(
                "%s: %s meeting(s) still pending; not attested yet",
                day,
                summary.pending if summary else "no ledger,",
            )
            return
        # The ledger's check does not block the run (a violation is a finding), so the
        # attestation reads the ledger itself: a day with an unrecorded meeting is not attested.
        _, unrecorded = held_unrecorded(session, day)
        if unrecorded:
            context.log.info(
                "%s: %d held meeting(s) not recorded in full and archived; not attested",
                day,
                len(unrecorded),
            )
            return
        stored = attest_day(session, s3.writer(), day=day, prefix=_prefix(s3))
    yield dg.MaterializeResult(
        metadata={
            "attestation": dg.MetadataValue.path(stored.uri),
            "version_id": dg.MetadataValue.text(stored.version_id),
            "sha256": dg.MetadataValue.text(stored.sha256_hex),
            "retain_until": dg.MetadataValue.text(
                f"{stored.lock_mode} until {stored.retain_until}"
            ),
        }
    )


@dg.asset(
    partitions_def=DAILY,
    group_name=GROUP,
    kinds={"s3", "html"},
    deps=[compliance_ledger],
    description=(
        "The day's compliance report in S3 under Object Lock: the ledger as CSV and Parquet, "
        "and a self-contained HTML page (totals, compliance rate over 30 days, open violations)."
    ),
)
def compliance_report(
    context: AssetExecutionContext,
    database: DatabaseResource,
    s3: ArchiveResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    with database.sessions()() as session:
        data = gather(session, context.partition_key, clock.now())
    published = publish(s3.writer(), data, prefix=_prefix(s3))
    metadata: dict[str, dg.MetadataValue] = {
        f"{ext}_uri": dg.MetadataValue.path(obj.uri) for ext, obj in published.objects.items()
    }
    if published.html_url:
        metadata["report"] = dg.MetadataValue.url(published.html_url)
    metadata["dagster/row_count"] = dg.MetadataValue.int(len(data.ledger))
    metadata["open_violations"] = dg.MetadataValue.int(data.open_violation_count)
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    group_name=GROUP,
    kinds={DATABASE_KIND, "s3"},
    description=(
        "Digest of the audit chain's new segment (first/last seq, last hash, count, previous "
        "digest's hash, its own hash) written to S3 under Object Lock and to compliance_digests."
    ),
)
def audit_digest(
    database: DatabaseResource, s3: ArchiveResource, clock: ClockResource
) -> dg.MaterializeResult:
    try:
        written = write_digests(
            database.sessions(), s3.writer(), prefix=_prefix(s3), now=clock.now()
        )
    except (DigestError, ArchiveError) as exc:
        raise dg.Failure(description=str(exc), allow_retries=True) from exc
    if not written:
        return dg.MaterializeResult(metadata={"digests_written": dg.MetadataValue.int(0)})
    last = written[-1]
    return dg.MaterializeResult(
        metadata={
            "digests_written": dg.MetadataValue.int(len(written)),
            "digest_number": dg.MetadataValue.int(last.content.number),
            "first_seq": dg.MetadataValue.int(last.content.first_seq),
            "last_seq": dg.MetadataValue.int(last.content.last_seq),
            "event_count": dg.MetadataValue.int(last.content.event_count),
            "digest_hash": dg.MetadataValue.text(last.content.digest_hash),
            "object": dg.MetadataValue.path(last.uri),
            "retain_until": dg.MetadataValue.text(str(last.retain_until)),
            "adopted_from_interrupted_run": dg.MetadataValue.bool(any(w.adopted for w in written)),
        }
    )
