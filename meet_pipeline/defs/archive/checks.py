"""Checks on the archive manifest, visible beside the archive assets in the UI."""

from datetime import timedelta

import dagster as dg
from sqlalchemy import func, select

from meet_core.archive.manifest import FILE_GENERATED, RECORDING_KINDS, TRANSCRIPT_KINDS
from meet_core.db.models import ArchiveManifestEntry, ManifestState
from meet_pipeline.defs.archive.assets import archived_recordings, archived_transcripts
from meet_pipeline.resources import ClockResource, DatabaseResource

# A file Google generated that is still not archived after this long needs a human.
OVERDUE_AFTER = timedelta(hours=24)
LISTED = 20


def _unarchived_check(
    kinds: tuple[str, ...], database: DatabaseResource, clock: ClockResource
) -> dg.AssetCheckResult:
    now = clock.now()
    with database.sessions()() as session:
        failed = session.execute(
            select(
                ArchiveManifestEntry.artifact_name,
                ArchiveManifestEntry.attempts,
                ArchiveManifestEntry.last_error,
            )
            .where(
                ArchiveManifestEntry.state == ManifestState.FAILED,
                ArchiveManifestEntry.kind.in_(kinds),
            )
            .order_by(ArchiveManifestEntry.id)
            .limit(LISTED)
        ).all()
        failed_count = (
            session.scalar(
                select(func.count()).where(
                    ArchiveManifestEntry.state == ManifestState.FAILED,
                    ArchiveManifestEntry.kind.in_(kinds),
                )
            )
            or 0
        )
        overdue = (
            session.scalar(
                select(func.count()).where(
                    ArchiveManifestEntry.state.in_(
                        (ManifestState.PENDING, ManifestState.FAILED, ManifestState.ARCHIVING)
                    ),
                    ArchiveManifestEntry.google_state == FILE_GENERATED,
                    ArchiveManifestEntry.kind.in_(kinds),
                    ArchiveManifestEntry.created_at < now - OVERDUE_AFTER,
                )
            )
            or 0
        )
    listing = "\n".join(
        f"- `{name}` ({attempts} attempts): {error}" for name, attempts, error in failed
    )
    return dg.AssetCheckResult(
        passed=failed_count == 0 and overdue == 0,
        severity=dg.AssetCheckSeverity.WARN if overdue == 0 else dg.AssetCheckSeverity.ERROR,
        metadata={
            "failed": failed_count,
            "overdue": overdue,
            "failures": dg.MetadataValue.md(listing or "none"),
        },
    )


@dg.asset_check(
    asset=archived_recordings,
    description="No recording is failed or overdue (24 h) in the manifest.",
)
def recordings_all_archived(
    database: DatabaseResource, clock: ClockResource
) -> dg.AssetCheckResult:
    return _unarchived_check(RECORDING_KINDS, database, clock)


@dg.asset_check(
    asset=archived_transcripts, description="No transcript object is failed or overdue (24 h)."
)
def transcripts_all_archived(
    database: DatabaseResource, clock: ClockResource
) -> dg.AssetCheckResult:
    return _unarchived_check(TRANSCRIPT_KINDS, database, clock)
