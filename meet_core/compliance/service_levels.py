"""Service levels the ledger judges meetings by (settings ``MEET_COMPLIANCE_*``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from meet_core.settings import LOCK_MODES, Settings

# Google deletes a conference record (participants, sessions, artifact metadata) 30 days
# after the conference; the fallback when the record's own expireTime is unknown.
CONFERENCE_RECORD_LIFETIME = timedelta(days=30)
# Retention is counted from the archive time; the writer tolerates a day of drift.
RETENTION_GRACE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ServiceLevels:
    """``recording_wait``: after a conference ends, how long a recording may take to appear
    before the meeting counts as held without recording. ``archive_within``: how long after
    the conference end every artifact must be archived. ``expiry_margin``: a conference
    record this close to Google's expiry and not fully harvested is a violation.
    ``retention_days``/``lock_mode``: the Object Lock policy archived objects must meet.
    ``coverage_tolerance``: unrecorded gaps shorter than this are not a finding."""

    recording_wait: timedelta = timedelta(minutes=180)
    archive_within: timedelta = timedelta(minutes=1440)
    expiry_margin: timedelta = timedelta(days=7)
    retention_days: int = 2557
    lock_mode: str = "COMPLIANCE"
    coverage_tolerance: timedelta = timedelta(seconds=60)

    def __post_init__(self) -> None:
        for name in ("recording_wait", "archive_within", "expiry_margin"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be positive")
        if self.expiry_margin >= CONFERENCE_RECORD_LIFETIME:
            raise ValueError("expiry_margin must be shorter than the 30-day record lifetime")
        if self.lock_mode not in LOCK_MODES:
            raise ValueError(f"lock_mode: expected one of {LOCK_MODES}, got {self.lock_mode!r}")
        if self.coverage_tolerance < timedelta(0):
            raise ValueError("coverage_tolerance must not be negative")
        if not isinstance(self.retention_days, int) or self.retention_days < 1:
            raise ValueError(
                f"retention_days: expected a whole number >= 1, got {self.retention_days!r}"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceLevels:
        return cls(
            recording_wait=timedelta(minutes=settings.compliance_recording_wait_minutes),
            archive_within=timedelta(minutes=settings.compliance_archive_sla_minutes),
            expiry_margin=timedelta(days=settings.compliance_expiry_margin_days),
            retention_days=settings.retention_days,
            lock_mode=settings.object_lock_mode,
            coverage_tolerance=timedelta(seconds=settings.compliance_coverage_tolerance_seconds),
        )
