"""The compliance resource: service levels and the webhook target, from settings.

The webhook secret is passed as ``dg.EnvVar("MEET_WEBHOOK_SECRET")`` when it comes from
the environment (:func:`meet_pipeline.resources.from_env`), so the Dagster UI shows the
variable's name, never its value.
"""

from datetime import timedelta

import dagster as dg
from pydantic import Field

from meet_core.compliance.delivery import DeliveryPolicy
from meet_core.compliance.service_levels import ServiceLevels
from meet_core.settings import Settings
from meet_pipeline.resources import from_env

SECRET_VARIABLE = "MEET_WEBHOOK_SECRET"  # noqa: S105 - a variable's name, not a secret


class ComplianceResource(dg.ConfigurableResource):
    """Service levels of the ledger and the XOMA webhook target."""

    recording_wait_minutes: int = Field(
        default=180, description="MEET_COMPLIANCE_RECORDING_WAIT_MINUTES"
    )
    archive_sla_minutes: int = Field(
        default=1440, description="MEET_COMPLIANCE_ARCHIVE_SLA_MINUTES"
    )
    expiry_margin_days: int = Field(default=7, description="MEET_COMPLIANCE_EXPIRY_MARGIN_DAYS")
    coverage_tolerance_seconds: int = Field(
        default=60, description="MEET_COMPLIANCE_COVERAGE_TOLERANCE_SECONDS"
    )
    inspect_objects: bool = Field(
        default=True, description="look at every archived object of the day in S3 before judging it"
    )
    webhook_url: str | None = Field(default=None, description="MEET_WEBHOOK_URL")
    webhook_secret: str | None = Field(default=None, description=f"{SECRET_VARIABLE} (never shown)")
    webhook_max_attempts: int = Field(default=8, description="MEET_WEBHOOK_MAX_ATTEMPTS")
    webhook_backoff_seconds: int = Field(default=30, description="MEET_WEBHOOK_BACKOFF_SECONDS")

    def levels(self, *, retention_days: int, lock_mode: str) -> ServiceLevels:
        return ServiceLevels(
            recording_wait=timedelta(minutes=self.recording_wait_minutes),
            archive_within=timedelta(minutes=self.archive_sla_minutes),
            expiry_margin=timedelta(days=self.expiry_margin_days),
            retention_days=retention_days,
            lock_mode=lock_mode,
            coverage_tolerance=timedelta(seconds=self.coverage_tolerance_seconds),
        )

    def delivery_policy(self) -> DeliveryPolicy | None:
        """None while no webhook URL is configured (events wait in the outbox)."""
        if not self.webhook_url or not self.webhook_secret:
            return None
        return DeliveryPolicy(
            url=self.webhook_url,
            secret=self.webhook_secret,
            max_attempts=self.webhook_max_attempts,
            backoff=timedelta(seconds=self.webhook_backoff_seconds),
        )


def build_compliance_resources(settings: Settings) -> dict[str, ComplianceResource]:
    secret = from_env(SECRET_VARIABLE, settings.webhook_secret or None)
    return {
        "compliance": ComplianceResource(
            recording_wait_minutes=settings.compliance_recording_wait_minutes,
            archive_sla_minutes=settings.compliance_archive_sla_minutes,
            expiry_margin_days=settings.compliance_expiry_margin_days,
            coverage_tolerance_seconds=settings.compliance_coverage_tolerance_seconds,
            webhook_url=settings.webhook_url,
            webhook_secret=secret,
            webhook_max_attempts=settings.webhook_max_attempts,
            webhook_backoff_seconds=settings.webhook_backoff_seconds,
        )
    }
