"""The ledger rules, one function at a time (plain facts in, verdict out)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from meet_core.compliance.rules import (
    ArtifactFacts,
    MeetingFacts,
    assess,
    checksum_problem,
    harvest_complete,
    lock_problem,
    outcome_of,
)
from meet_core.compliance.service_levels import ServiceLevels
from meet_core.db.models import ArtifactKind, ManifestState, MeetingStatus
from meet_core.settings import Settings

START = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
LEVELS = ServiceLevels(
    recording_wait=timedelta(hours=3),
    archive_within=timedelta(hours=24),
    expiry_margin=timedelta(days=7),
    retention_days=30,
    lock_mode="GOVERNANCE",
)
SHA = "ab" * 32


def archived(**changes: object) -> ArtifactFacts:
    base = ArtifactFacts(
        kind=ArtifactKind.RECORDING,
        state=ManifestState.ARCHIVED,
        google_state="FILE_GENERATED",
        bucket="b",
        object_key="k",
        version_id="v",
        size=10,
        sha256=SHA,
        drive_size=10,
        drive_sha256=SHA,
        lock_mode="GOVERNANCE",
        retain_until=END + timedelta(days=31),
        archived_at=END + timedelta(minutes=20),
        check_outcome="ok",
    )
    return replace(base, **changes)


def held(*artifacts: ArtifactFacts, **changes: object) -> MeetingFacts:
    base = MeetingFacts(
        meeting_id="m",
        partition_date="2025-06-02",
        client_id="c",
        external_id="x",
        title="t",
        status=MeetingStatus.FINISHED,
        scheduled_start=START,
        scheduled_end=END,
        conference_count=1,
        conference_start=START,
        conference_end=END - timedelta(minutes=5),
        artifacts=artifacts,
    )
    return replace(base, **changes)


LATER = END + timedelta(days=2)


@pytest.mark.parametrize(
    ("facts", "now", "status", "reasons"),
    [
        (held(archived()), LATER, "compliant", ()),
        (held(), END + timedelta(hours=1), "pending", ()),
        (held(), END + timedelta(hours=3), "violation", ("held_without_recording",)),
        (
            held(archived(state=ManifestState.PENDING, archived_at=None)),
            END + timedelta(hours=20),
            "pending",
            (),
        ),
        (
            held(archived(state=ManifestState.FAILED, archived_at=None)),
            END + timedelta(hours=24),
            "violation",
            ("recording_not_archived_in_time",),
        ),
        (
            held(archived(archived_at=END + timedelta(hours=25))),
            LATER,
            "violation",
            ("recording_not_archived_in_time",),
        ),
        (held(archived(drive_sha256="cd" * 32)), LATER, "violation", ("checksum_mismatch",)),
        (held(archived(drive_size=11)), LATER, "violation", ("checksum_mismatch",)),
        (
            held(archived(check_outcome="checksum_mismatch", check_problem="sha")),
            LATER,
            "violation",
            ("checksum_mismatch",),
        ),
        (
            held(archived(check_outcome="missing", check_problem="gone")),
            LATER,
            "violation",
            ("object_missing_or_unlocked",),
        ),
        (held(archived(lock_mode=None)), LATER, "violation", ("object_missing_or_unlocked",)),
        (
            held(archived(retain_until=END + timedelta(days=5))),
            LATER,
            "violation",
            ("object_missing_or_unlocked",),
        ),
        (held(archived(version_id=None)), LATER, "violation", ("object_missing_or_unlocked",)),
        (
            held(archived(), conference_active=True, status=MeetingStatus.IN_PROGRESS),
            END,
            "pending",
            (),
        ),
        (
            held(
                status=MeetingStatus.NOT_HELD,
                conference_count=0,
                conference_start=None,
                conference_end=None,
            ),
            LATER,
            "compliant",
            (),
        ),
        (
            held(
                status=MeetingStatus.CANCELLED,
                conference_count=0,
                conference_start=None,
                conference_end=None,
            ),
            LATER,
            "compliant",
            (),
        ),
        (
            held(
                status=MeetingStatus.FAILED,
                conference_count=0,
                conference_start=None,
                conference_end=None,
            ),
            LATER,
            "violation",
            ("provisioning_failed",),
        ),
        (
            held(
                status=MeetingStatus.PENDING,
                conference_count=0,
                conference_start=None,
                conference_end=None,
            ),
            START - timedelta(hours=1),
            "pending",
            (),
        ),
        (
            held(
                status=MeetingStatus.PENDING,
                conference_count=0,
                conference_start=None,
                conference_end=None,
            ),
            START,
            "violation",
            ("provisioning_failed",),
        ),
        (
            held(
                status=MeetingStatus.SCHEDULED,
                conference_count=0,
                conference_start=None,
                conference_end=None,
            ),
            END + timedelta(days=23),
            "violation",
            ("harvest_near_expiry",),
        ),
        (
            held(
                status=MeetingStatus.SCHEDULED,
                conference_count=0,
                conference_start=None,
                conference_end=None,
            ),
            END + timedelta(days=22, hours=23),
            "pending",
            (),
        ),
        (
            held(archived(), records_unfinal=1),
            END + timedelta(days=23),
            "violation",
            ("harvest_near_expiry",),
        ),
        # A meeting cancelled after it was held still owes its recording.
        (held(status=MeetingStatus.CANCELLED), LATER, "violation", ("held_without_recording",)),
        # Several reasons at once, in a stable order.
        (
            held(
                archived(
                    drive_sha256="cd" * 32, lock_mode=None, archived_at=END + timedelta(days=3)
                )
            ),
            LATER + timedelta(days=2),
            "violation",
            ("recording_not_archived_in_time", "checksum_mismatch", "object_missing_or_unlocked"),
        ),
    ],
)
def test_assess(facts: MeetingFacts, now: datetime, status: str, reasons: tuple[str, ...]) -> None:
    verdict = assess(facts, now, LEVELS)
    assert verdict.compliance_status == status
    assert tuple(r.value for r in verdict.reasons) == reasons
    assert set(verdict.details) == set(verdict.reasons)
    assert (verdict.pending_until is not None) == (status == "pending")


def test_compliance_lock_policy_refuses_governance() -> None:
    strict = replace(LEVELS, lock_mode="COMPLIANCE")
    assert (
        lock_problem(archived(lock_mode="GOVERNANCE"), strict)
        == "lock mode GOVERNANCE, policy COMPLIANCE"
    )
    assert lock_problem(archived(lock_mode="COMPLIANCE"), strict) is None


def test_checksum_problem_names_what_differs() -> None:
    assert checksum_problem(archived()) is None
    assert "Drive's" in (checksum_problem(archived(drive_sha256="cd" * 32)) or "")
    assert checksum_problem(archived(sha256=None)) == "no SHA-256 recorded"
    assert (
        checksum_problem(archived(drive_sha256=None, drive_size=None)) is None
    )  # Drive gave nothing to compare


def test_outcome_and_harvest() -> None:
    assert outcome_of(held()) == "held"
    assert outcome_of(held(status=MeetingStatus.SCHEDULED, conference_count=0)) == "scheduled"
    assert harvest_complete(held(archived()))
    assert not harvest_complete(
        held(archived(state=ManifestState.PENDING, google_state="ENDED", archived_at=None))
    )
    assert not harvest_complete(held(status=MeetingStatus.IN_PROGRESS))
    with pytest.raises(ValueError):
        outcome_of(held(status="bogus", conference_count=0))


def test_minutes_and_counts() -> None:
    verdict = assess(
        held(
            archived(),
            archived(archived_at=END + timedelta(minutes=50)),
            archived(kind=ArtifactKind.TRANSCRIPT_TEXT),
            archived(kind=ArtifactKind.TRANSCRIPT_ENTRIES),
        ),
        LATER,
        LEVELS,
    )
    assert (verdict.recordings_found, verdict.recordings_archived, verdict.transcripts_found) == (
        2,
        2,
        1,
    )
    assert verdict.minutes_to_archive == 55  # conference ended 5 minutes before the scheduled end
    assert verdict.checksums_verified is True


@pytest.mark.parametrize(
    "changes",
    [
        {"recording_wait": timedelta(0)},
        {"archive_within": timedelta(minutes=-1)},
        {"expiry_margin": timedelta(days=30)},
        {"lock_mode": "WEAK"},
        {"retention_days": 0},
        {"retention_days": "30"},
    ],
)
def test_service_levels_refuse_garbage(changes: dict) -> None:
    with pytest.raises(ValueError):
        replace(LEVELS, **changes)


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"MEET_COMPLIANCE_ARCHIVE_SLA_MINUTES": "0"}, "MEET_COMPLIANCE_ARCHIVE_SLA_MINUTES"),
        (
            {"MEET_COMPLIANCE_RECORDING_WAIT_MINUTES": "soon"},
            "MEET_COMPLIANCE_RECORDING_WAIT_MINUTES",
        ),
        ({"MEET_COMPLIANCE_EXPIRY_MARGIN_DAYS": "30"}, "MEET_COMPLIANCE_EXPIRY_MARGIN_DAYS"),
        ({"MEET_WEBHOOK_URL": "ftp://xoma"}, "MEET_WEBHOOK_URL"),
        ({"MEET_WEBHOOK_URL": "https://xoma.example/hooks"}, "MEET_WEBHOOK_SECRET"),
        (
            {"MEET_WEBHOOK_URL": "https://xoma.example/hooks", "MEET_WEBHOOK_SECRET": "short"},
            "MEET_WEBHOOK_SECRET",
        ),
        ({"MEET_WEBHOOK_MAX_ATTEMPTS": "0"}, "MEET_WEBHOOK_MAX_ATTEMPTS"),
        ({"MEET_WEBHOOK_BACKOFF_SECONDS": "-1"}, "MEET_WEBHOOK_BACKOFF_SECONDS"),
    ],
)
def test_compliance_settings_refuse_garbage(env: dict[str, str], name: str) -> None:
    from meet_core.settings import SettingsError

    with pytest.raises(SettingsError, match=name) as caught:
        Settings.from_env(env)
    assert "short" not in str(caught.value)  # a secret is never echoed


def test_compliance_settings_defaults_and_values() -> None:
    default = ServiceLevels.from_settings(Settings.from_env({}))
    assert (default.recording_wait, default.archive_within, default.expiry_margin) == (
        timedelta(minutes=180),
        timedelta(minutes=1440),
        timedelta(days=7),
    )
    settings = Settings.from_env(
        {
            "MEET_COMPLIANCE_ARCHIVE_SLA_MINUTES": "60",
            "MEET_WEBHOOK_URL": "http://127.0.0.1:9/h",
            "MEET_WEBHOOK_SECRET": "s" * 32,
            "MEET_WEBHOOK_MAX_ATTEMPTS": "3",
        }
    )
    assert ServiceLevels.from_settings(settings).archive_within == timedelta(minutes=60)
    assert (settings.webhook_url, settings.webhook_max_attempts) == ("http://127.0.0.1:9/h", 3)
    assert "s" * 32 not in repr(settings)


@pytest.mark.parametrize(
    "day", ["", "2025-02-30", "06/02/2025", "2025-6-2", None, 20250602, "2025-06-02 "]
)
def test_partition_days_refuse_garbage(day: object) -> None:
    from meet_core.days import day_bounds

    with pytest.raises(ValueError, match="partition date"):
        day_bounds(day)  # type: ignore[arg-type]


def test_partition_day_bounds() -> None:
    from meet_core.days import day_bounds

    assert day_bounds("2025-06-02") == (
        START.replace(hour=0),
        START.replace(hour=0) + timedelta(days=1),
    )
