"""Compliance area: ledger, attestation, report, audit digests, their checks, webhook
delivery and run-failure notifications (docs/compliance.md)."""

import dagster as dg

from meet_core.settings import Settings
from meet_pipeline.defs.compliance.assets import (
    audit_digest,
    compliance_attestation,
    compliance_ledger,
    compliance_report,
)
from meet_pipeline.defs.compliance.checks import (
    audit_chain_verifies,
    held_meetings_recorded,
    manifest_objects_in_s3,
    no_conference_near_expiry_unharvested,
)
from meet_pipeline.defs.compliance.resources import ComplianceResource, build_compliance_resources
from meet_pipeline.defs.compliance.schedules import (
    DIGEST_JOB,
    LEDGER_JOB,
    REPORT_JOB,
    audit_digest_schedule,
    compliance_ledger_schedule,
    compliance_report_schedule,
)
from meet_pipeline.defs.compliance.sensors import (
    run_failure_webhook_sensor,
    webhook_delivery_sensor,
)

ASSETS = [compliance_ledger, compliance_attestation, compliance_report, audit_digest]
CHECKS = [
    held_meetings_recorded,
    manifest_objects_in_s3,
    no_conference_near_expiry_unharvested,
    audit_chain_verifies,
]

ledger_job = dg.define_asset_job(
    LEDGER_JOB,
    selection=dg.AssetSelection.assets(compliance_ledger, compliance_attestation),
    description=(
        "Judge one day: ledger, violations, summary, checks; "
        "attest the day if every held meeting is recorded."
    ),
)
report_job = dg.define_asset_job(
    REPORT_JOB,
    selection=dg.AssetSelection.assets(compliance_report),
    description="Publish one day's compliance report to S3.",
)
digest_job = dg.define_asset_job(
    DIGEST_JOB,
    selection=dg.AssetSelection.assets(audit_digest),
    description="Digest the audit chain's new segment into S3.",
)


# Retry policy and owners are applied by meet_pipeline.definitions with the other jobs'.
JOBS = [ledger_job, report_job, digest_job]


def build_defs(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=CHECKS,
        schedules=[compliance_ledger_schedule, compliance_report_schedule, audit_digest_schedule],
        sensors=[webhook_delivery_sensor, run_failure_webhook_sensor],
        resources=build_compliance_resources(settings),
    )


__all__ = ["ASSETS", "CHECKS", "JOBS", "ComplianceResource", "build_defs"]
