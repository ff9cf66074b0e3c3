"""The ledger's rules as plain functions: facts about one meeting in, one verdict out.

Nothing here reads the database or S3; :mod:`meet_core.compliance.facts` gathers the facts
and :mod:`meet_core.compliance.ledger` stores the verdicts. docs/compliance.md states the
same rules in prose for auditors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from meet_core.compliance.service_levels import (
    CONFERENCE_RECORD_LIFETIME,
    RETENTION_GRACE,
    ServiceLevels,
)
from meet_core.db.models import (
    ArtifactKind,
    ComplianceStatus,
    ManifestState,
    MeetingStatus,
    ViolationReason,
)

FILE_GENERATED = "FILE_GENERATED"
# Outcome of a meeting, beside its compliance status.
HELD, NOT_HELD, CANCELLED, SCHEDULED = "held", "not_held", "cancelled", "scheduled"
PROVISIONING_FAILED, AWAITING_PROVISIONING = "provisioning_failed", "awaiting_provisioning"
SETTLED = (
    MeetingStatus.FINISHED,
    MeetingStatus.NOT_HELD,
    MeetingStatus.CANCELLED,
    MeetingStatus.FAILED,
)
# Outcomes of an S3 look at an archived object (compliance_object_checks.outcome).
CHECK_OK, CHECK_MISSING, CHECK_CHECKSUM, CHECK_UNLOCKED = (
    "ok",
    "missing",
    "checksum_mismatch",
    "unlocked",
)


@dataclass(frozen=True, slots=True)
class ArtifactFacts:
    """One archive-manifest row of the meeting, with the latest S3 look at its object."""

    kind: str
    state: str
    google_state: str
    bucket: str | None = None
    object_key: str | None = None
    version_id: str | None = None
    size: int | None = None
    sha256: str | None = None
    drive_size: int | None = None
    drive_sha256: str | None = None
    lock_mode: str | None = None
    retain_until: datetime | None = None
    legal_hold: bool = False
    archived_at: datetime | None = None
    check_outcome: str | None = None  # None: never looked at in S3
    check_problem: str | None = None

    @property
    def archived(self) -> bool:
        return self.state == ManifestState.ARCHIVED


@dataclass(frozen=True, slots=True)
class MeetingFacts:
    meeting_id: str
    partition_date: str
    client_id: str
    external_id: str
    title: str
    status: str
    scheduled_start: datetime
    scheduled_end: datetime
    conference_count: int = 0
    conference_start: datetime | None = None
    conference_end: datetime | None = None  # the last ended conference's end
    conference_active: bool = False  # a conference has no end yet
    records_unfinal: int = 0  # records whose attendance was not read after their end
    conference_expires: datetime | None = None  # the earliest record expiry Google gave
    invited_count: int = 0
    joined_count: int = 0
    invited_joined_count: int = 0
    artifacts: tuple[ArtifactFacts, ...] = ()
    uninvited_count: int = 0  # people seen who were not invited (the organizer excluded)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A ledger row's computed columns; ``details`` explains each reason in one line."""

    outcome: str
    held: bool
    recording_required: bool
    recordings_found: int
    recordings_archived: int
    transcripts_found: int
    transcripts_archived: int
    checksums_verified: bool | None
    minutes_to_archive: int | None
    retain_until: datetime | None
    legal_hold: bool
    compliance_status: ComplianceStatus
    reasons: tuple[ViolationReason, ...]
    details: dict[ViolationReason, str]
    pending_until: datetime | None
    smart_notes_found: int = 0
    smart_notes_archived: int = 0


def outcome_of(facts: MeetingFacts) -> str:
    """A conference that took place makes a meeting held whatever its status says later
    (a meeting cancelled after it was held still owes its recording)."""
    if facts.conference_count > 0 or facts.status in (
        MeetingStatus.IN_PROGRESS,
        MeetingStatus.FINISHED,
    ):
        return HELD
    return {
        MeetingStatus.CANCELLED: CANCELLED,
        MeetingStatus.NOT_HELD: NOT_HELD,
        MeetingStatus.FAILED: PROVISIONING_FAILED,
        MeetingStatus.PENDING: AWAITING_PROVISIONING,
    }.get(MeetingStatus(facts.status), SCHEDULED)


def conference_over_at(facts: MeetingFacts) -> datetime | None:
    """When service levels start counting: the last conference end (None while one runs)."""
    if facts.conference_active or facts.status == MeetingStatus.IN_PROGRESS:
        return None
    return facts.conference_end or facts.scheduled_end


def record_expiry(facts: MeetingFacts) -> datetime:
    if facts.conference_expires is not None:
        return facts.conference_expires
    return (facts.conference_end or facts.scheduled_end) + CONFERENCE_RECORD_LIFETIME


def harvest_complete(facts: MeetingFacts) -> bool:
    """Google has nothing left for us: status settled, attendance final, artifacts generated."""
    if facts.status not in SETTLED or facts.conference_active or facts.records_unfinal:
        return False
    return all(a.archived or a.google_state == FILE_GENERATED for a in facts.artifacts)


def checksum_problem(artifact: ArtifactFacts) -> str | None:
    if not artifact.sha256:
        return "no SHA-256 recorded"
    if artifact.drive_sha256 and artifact.drive_sha256.lower() != artifact.sha256.lower():
        return f"SHA-256 {artifact.sha256} != Drive's {artifact.drive_sha256}"
    if (
        artifact.drive_size is not None
        and artifact.size is not None
        and artifact.drive_size != artifact.size
    ):
        return f"size {artifact.size} != Drive's {artifact.drive_size}"
    if artifact.check_outcome == CHECK_CHECKSUM:
        return f"S3 check: {artifact.check_problem}"
    return None


def lock_problem(artifact: ArtifactFacts, levels: ServiceLevels) -> str | None:
    if not (artifact.bucket and artifact.object_key and artifact.version_id):
        return "no S3 location recorded"
    if artifact.check_outcome in (CHECK_MISSING, CHECK_UNLOCKED):
        return f"S3 check: {artifact.check_problem}"
    if artifact.lock_mode is None or artifact.retain_until is None:
        return "no Object Lock retention recorded"
    if levels.lock_mode == "COMPLIANCE" and artifact.lock_mode != "COMPLIANCE":
        return f"lock mode {artifact.lock_mode}, policy COMPLIANCE"
    reference = artifact.archived_at or artifact.retain_until
    if artifact.retain_until < reference + timedelta(days=levels.retention_days) - RETENTION_GRACE:
        return (
            f"retained until {artifact.retain_until:%Y-%m-%d}, "
            f"shorter than {levels.retention_days} days"
        )
    return None


@dataclass
class _Findings:
    reasons: dict[ViolationReason, str]
    pending_until: list[datetime]

    def violate(self, reason: ViolationReason, detail: str) -> None:
        self.reasons.setdefault(reason, detail)

    def wait(self, until: datetime) -> None:
        self.pending_until.append(until)


def _judge_artifacts(
    facts: MeetingFacts,
    over_at: datetime | None,
    now: datetime,
    levels: ServiceLevels,
    found: _Findings,
) -> None:
    recordings = [a for a in facts.artifacts if a.kind == ArtifactKind.RECORDING]
    if over_at is None:
        found.wait(
            max(now, facts.scheduled_end)
        )  # still running: more may come, nothing is due yet
    elif not recordings:
        if now < over_at + levels.recording_wait:
            found.wait(over_at + levels.recording_wait)
        else:
            found.violate(
                ViolationReason.HELD_WITHOUT_RECORDING,
                f"conference ended {over_at:%Y-%m-%d %H:%M} UTC and no recording appeared",
            )
    deadline = over_at + levels.archive_within if over_at is not None else None
    for artifact in facts.artifacts:
        name = f"{artifact.kind} {artifact.object_key or '(not archived)'}"
        if not artifact.archived:
            if deadline is None or now < deadline:
                found.wait(deadline or max(now, facts.scheduled_end))
            else:
                found.violate(
                    ViolationReason.RECORDING_NOT_ARCHIVED_IN_TIME,
                    f"{artifact.kind} not archived by {deadline:%Y-%m-%d %H:%M} UTC "
                    f"({artifact.state})",
                )
            continue
        if (
            deadline is not None
            and artifact.archived_at is not None
            and artifact.archived_at > deadline
        ):
            found.violate(
                ViolationReason.RECORDING_NOT_ARCHIVED_IN_TIME,
                f"{name} archived {artifact.archived_at:%Y-%m-%d %H:%M} UTC, "
                f"due {deadline:%Y-%m-%d %H:%M}",
            )
        if problem := checksum_problem(artifact):
            found.violate(ViolationReason.CHECKSUM_MISMATCH, f"{name}: {problem}")
        if problem := lock_problem(artifact, levels):
            found.violate(ViolationReason.OBJECT_MISSING_OR_UNLOCKED, f"{name}: {problem}")


def assess(facts: MeetingFacts, now: datetime, levels: ServiceLevels) -> Verdict:
    """The ledger verdict for one meeting at ``now``."""
    outcome = outcome_of(facts)
    found = _Findings({}, [])
    if outcome == PROVISIONING_FAILED:
        found.violate(
            ViolationReason.PROVISIONING_FAILED,
            "Google provisioning gave up (meeting status failed)",
        )
    elif outcome == AWAITING_PROVISIONING:
        if now >= facts.scheduled_start:
            found.violate(
                ViolationReason.PROVISIONING_FAILED,
                f"still not provisioned at its start {facts.scheduled_start:%Y-%m-%d %H:%M} UTC",
            )
        else:
            found.wait(facts.scheduled_start)
    elif outcome == SCHEDULED:
        found.wait(facts.scheduled_end)
    elif outcome == HELD:
        _judge_artifacts(facts, conference_over_at(facts), now, levels, found)
    if outcome in (HELD, SCHEDULED) and not harvest_complete(facts):
        expiry = record_expiry(facts)
        if now >= expiry - levels.expiry_margin:
            found.violate(
                ViolationReason.HARVEST_NEAR_EXPIRY,
                f"conference record expires {expiry:%Y-%m-%d %H:%M} UTC and is not fully harvested",
            )
    reasons = tuple(r for r in ViolationReason if r in found.reasons)
    status = (
        ComplianceStatus.VIOLATION
        if reasons
        else ComplianceStatus.PENDING
        if found.pending_until
        else ComplianceStatus.COMPLIANT
    )
    return _verdict(facts, outcome, status, reasons, found)


def _verdict(
    facts: MeetingFacts,
    outcome: str,
    status: ComplianceStatus,
    reasons: tuple[ViolationReason, ...],
    found: _Findings,
) -> Verdict:
    recordings = [a for a in facts.artifacts if a.kind == ArtifactKind.RECORDING]
    transcripts = [a for a in facts.artifacts if a.kind != ArtifactKind.RECORDING]
    archived = [a for a in facts.artifacts if a.archived]
    over_at = conference_over_at(facts)
    waits = [
        int(max(timedelta(0), a.archived_at - over_at).total_seconds() // 60)
        for a in recordings
        if a.archived and a.archived_at is not None and over_at is not None
    ]
    retained = [a.retain_until for a in archived if a.retain_until is not None]
    return Verdict(
        outcome=outcome,
        held=outcome == HELD,
        recording_required=outcome == HELD,
        recordings_found=len(recordings),
        recordings_archived=sum(1 for a in recordings if a.archived),
        transcripts_found=sum(1 for a in transcripts if a.kind == ArtifactKind.TRANSCRIPT_TEXT),
        transcripts_archived=sum(
            1 for a in transcripts if a.kind == ArtifactKind.TRANSCRIPT_TEXT and a.archived
        ),
        checksums_verified=(
            all(checksum_problem(a) is None for a in archived) if archived else None
        ),
        minutes_to_archive=max(waits) if waits else None,
        retain_until=min(retained) if retained else None,
        legal_hold=any(a.legal_hold for a in archived),
        compliance_status=status,
        reasons=reasons,
        details={r: found.reasons[r] for r in reasons},
        pending_until=max(found.pending_until) if status == ComplianceStatus.PENDING else None,
        smart_notes_found=sum(1 for a in facts.artifacts if a.kind == ArtifactKind.SMART_NOTES),
        smart_notes_archived=sum(
            1 for a in facts.artifacts if a.kind == ArtifactKind.SMART_NOTES and a.archived
        ),
    )
