"""Compliance checks, visible beside the ledger and the digest in the UI."""

import dagster as dg

from meet_core.archive import ArchiveError
from meet_core.audit import verify_chain
from meet_core.compliance.attestation import held_unrecorded
from meet_core.compliance.expiry import near_expiry_unharvested
from meet_core.compliance.objects import archived_refs, look_at_all, record_looks
from meet_pipeline.defs.compliance.assets import audit_digest, compliance_ledger
from meet_pipeline.defs.compliance.resources import ComplianceResource
from meet_pipeline.resources import ArchiveResource, ClockResource, DatabaseResource

LISTED = 25


def _listing(lines: list[str]) -> dg.MetadataValue:
    return dg.MetadataValue.md("\n".join(f"- {line}" for line in lines[:LISTED]) or "none")


# Not blocking: a violation is a finding about the day, not a malfunction of the run. The
# ledger run succeeds and the check fails with ERROR severity, naming the day; the
# attestation reads the same ledger rows (held_unrecorded) and is not written for such a day.
@dg.asset_check(
    asset=compliance_ledger,
    description=(
        "Every held meeting of the day is recorded in full and archived (no "
        "held_without_recording, recording_not_archived_in_time or unrecorded_time). A day "
        "that fails it is not attested."
    ),
)
def held_meetings_recorded(
    context: dg.AssetCheckExecutionContext, database: DatabaseResource
) -> dg.AssetCheckResult:
    day = context.partition_key
    with database.sessions()() as session:
        held, bad = held_unrecorded(session, day)
        listed = [
            {
                "external_id": r.external_id,
                "meeting_id": r.meeting_id,
                "title": r.title or "",
                "violation_reasons": r.violation_reasons,
            }
            for r in bad
        ]
    verdict = (
        f"{day}: {len(bad)} of {held} held meeting(s) not recorded in full and archived; "
        "the day is not attested"
        if bad
        else f"{day}: all {held} held meeting(s) recorded in full and archived"
    )
    return dg.AssetCheckResult(
        passed=not bad,
        severity=dg.AssetCheckSeverity.ERROR,
        description=verdict,
        metadata={
            "day": dg.MetadataValue.text(day),
            "held_meetings": held,
            "not_recorded_in_full": len(bad),
            "violations": _table(listed[:LISTED]),
            "meetings": _listing(
                [f"`{r['external_id']}` ({r['meeting_id']}): {r['violation_reasons']}" for r in listed]
            ),
        },
    )


def _table(rows: list[dict[str, str]]) -> dg.MetadataValue:
    columns = ["external_id", "meeting_id", "title", "violation_reasons"]
    return dg.MetadataValue.table(
        records=[dg.TableRecord(row) for row in rows],
        schema=dg.TableSchema(columns=[dg.TableColumn(name, "string") for name in columns]),
    )


@dg.asset_check(
    asset=compliance_ledger,
    description=(
        "Every archived object of the day exists in S3 as recorded in the manifest: same "
        "version, size, SHA-256 and CRC64NVME, retention no shorter than the policy."
    ),
)
def manifest_objects_in_s3(
    context: dg.AssetCheckExecutionContext,
    database: DatabaseResource,
    s3: ArchiveResource,
    clock: ClockResource,
) -> dg.AssetCheckResult:
    sessions = database.sessions()
    with sessions() as session:
        refs = archived_refs(session, day=context.partition_key)
    try:
        looks = look_at_all(s3.get_client(), refs, s3.policy()) if refs else []
    except ArchiveError as exc:
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"error": dg.MetadataValue.text(str(exc))},
        )
    with sessions.begin() as session:
        record_looks(session, looks, clock.now())
    bad = [look for look in looks if look.outcome != "ok"]
    return dg.AssetCheckResult(
        passed=not bad,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "objects": len(looks),
            "with_problems": len(bad),
            "problems": _listing([f"`{b.ref.uri}` {b.outcome}: {b.problem}" for b in bad]),
        },
    )


@dg.asset_check(
    asset=compliance_ledger,
    description=(
        "No conference record (of any day) is within the expiry margin of Google's 30-day "
        "expiry without having been fully harvested."
    ),
)
def no_conference_near_expiry_unharvested(
    database: DatabaseResource,
    s3: ArchiveResource,
    clock: ClockResource,
    compliance: ComplianceResource,
) -> dg.AssetCheckResult:
    levels = compliance.levels(retention_days=s3.retention_days, lock_mode=s3.object_lock_mode)
    with database.sessions()() as session:
        flagged = near_expiry_unharvested(session, clock.now(), levels)
    return dg.AssetCheckResult(
        passed=not flagged,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "near_expiry": len(flagged),
            "meetings": _listing(
                [
                    f"`{f.external_id}` ({f.partition_date}, status {f.status}): expires "
                    f"{expiry:%Y-%m-%d %H:%M} UTC"
                    for f, expiry in flagged
                ]
            ),
        },
    )


@dg.asset_check(
    asset=audit_digest,
    description="The audit hash chain verifies from the first event to the head.",
)
def audit_chain_verifies(database: DatabaseResource) -> dg.AssetCheckResult:
    with database.sessions()() as session:
        report = verify_chain(session)
    return dg.AssetCheckResult(
        passed=report.ok,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"events": report.count, "head": report.last_hash, "report": report.describe()},
    )
