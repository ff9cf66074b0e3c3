"""Recordings and transcripts of one day, streamed from Google into S3 under Object Lock."""

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import dagster as dg
from dagster import AssetExecutionContext

from meet_core.archive import ArchiveError
from meet_core.archive.manifest import RECORDING_KINDS, TRANSCRIPT_KINDS, partition_rows
from meet_core.archive.transfer import Archiver, TransferResult
from meet_core.matters.holds import confirm_holds
from meet_pipeline.defs.google.assets import conference_records
from meet_pipeline.partitions import DAILY
from meet_pipeline.policy import DATABASE_KIND, S3_POOL
from meet_pipeline.resources import ArchiveResource, ClockResource, DatabaseResource, GoogleResource

# Multipart uploads older than this were left by a crashed process: abort them.
STALE_UPLOAD_AGE = timedelta(days=1)
LISTED_OBJECTS = 50


def archive_partition(
    context: AssetExecutionContext,
    *,
    kinds: Sequence[str],
    folder: str,
    database: DatabaseResource,
    google: GoogleResource,
    s3: ArchiveResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    """Archive every ready row of the partition, ``s3.max_transfers`` at a time."""
    started = time.monotonic()
    sessions, gateway = database.sessions(), google.gateway()
    calls_before = gateway.calls.total
    writer = s3.writer()  # refuses a bucket without Object Lock unless allowed
    prefix = "/".join(p for p in (s3.prefix.strip("/"), folder) if p)
    try:
        aborted = writer.abort_stale_uploads(prefix + "/", STALE_UPLOAD_AGE)
    except ArchiveError as exc:  # housekeeping only: the transfers below do not depend on it
        context.log.warning("could not clean stale uploads: %s", exc)
        aborted = 0
    with sessions() as session:
        row_ids = [
            r.id for r in partition_rows(session, context.partition_key, kinds, now=clock.now())
        ]
    archiver = Archiver(
        sessions,
        gateway,
        writer,
        prefix=s3.prefix,
        clock=clock.now,
        actor=f"asset:{context.asset_key.to_user_string()}",
    )
    with ThreadPoolExecutor(max_workers=s3.max_transfers, thread_name_prefix="archive") as pool:
        results = list(pool.map(archiver.archive_row, row_ids))
    # Legal holds an S3 fault left unconfirmed (at archive time or by `matter hold`) are
    # completed here, so a held matter's objects do not wait for a person to notice.
    holds = confirm_holds(sessions, writer.client)
    metadata = _metadata(results, s3, prefix)
    metadata["legal_holds_completed"] = dg.MetadataValue.int(holds.newly_held)
    metadata["stale_uploads_aborted"] = dg.MetadataValue.int(aborted)
    metadata["google_calls"] = dg.MetadataValue.int(gateway.calls.total - calls_before)
    metadata["duration_seconds"] = dg.MetadataValue.float(round(time.monotonic() - started, 3))
    failed = [r for r in results if r.outcome == "failed"]
    unheld = [f for r in results if r.outcome == "archived" and r.error for f in [r.error]] + holds.failures
    if unheld and not failed:
        raise dg.Failure(
            description=f"{len(unheld)} legal hold(s) not confirmed by S3; retried on the next run",
            metadata={**metadata, "unconfirmed_holds": dg.MetadataValue.md("\n".join(f"- {u}" for u in unheld))},
            allow_retries=True,
        )
    if failed:
        raise dg.Failure(
            description=f"{len(failed)} of {len(results)} artifacts failed; they stay 'failed' in "
            "archive_manifest with the reason and are tried again",
            metadata=metadata,
            allow_retries=True,
        )
    return dg.MaterializeResult(metadata=metadata)


def _metadata(
    results: list[TransferResult], s3: ArchiveResource, prefix: str
) -> dict[str, dg.MetadataValue]:
    archived = [r for r in results if r.outcome == "archived" and r.stored is not None]
    failed = [r for r in results if r.outcome == "failed"]
    rows = [
        f"| `{r.stored.uri}` | `{r.stored.version_id}` | {r.stored.size} "
        f"| `{r.stored.sha256_hex}` | "
        f"{r.stored.lock_mode} until {r.stored.retain_until:%Y-%m-%d} | {r.seconds:.1f} s |"
        for r in archived[:LISTED_OBJECTS]
        if r.stored and r.stored.retain_until
    ]
    table = (
        "| object | version | bytes | sha256 | lock | took |\n|---|---|---|---|---|---|\n"
        + "\n".join(rows)
    )
    failures = "\n".join(f"- `{r.artifact_name}`: {r.error}" for r in failed)
    return {
        "artifacts": dg.MetadataValue.int(len(results)),
        "archived": dg.MetadataValue.int(len(archived)),
        "already_in_s3": dg.MetadataValue.int(
            sum(1 for r in archived if r.stored and r.stored.already_existed)
        ),
        "failed": dg.MetadataValue.int(len(failed)),
        "skipped": dg.MetadataValue.int(sum(1 for r in results if r.outcome == "skipped")),
        "bytes": dg.MetadataValue.int(sum(r.stored.size for r in archived if r.stored)),
        "objects": dg.MetadataValue.md(table if rows else "none"),
        "failures": dg.MetadataValue.md(failures or "none"),
        "location": dg.MetadataValue.text(f"s3://{s3.bucket}/{prefix}/"),
    }


@dg.asset(
    partitions_def=DAILY,
    group_name="archive",
    kinds={"google", "s3", DATABASE_KIND},
    pool=S3_POOL,
    deps=[conference_records],
    description=(
        "Meet recordings of the day's meetings, streamed from Drive into S3 (multipart, "
        "SHA-256 checked against Drive, CRC64NVME full-object checksum, Object Lock retention "
        "read back); state per recording in archive_manifest."
    ),
)
def archived_recordings(
    context: AssetExecutionContext,
    database: DatabaseResource,
    google: GoogleResource,
    s3: ArchiveResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    return archive_partition(
        context,
        kinds=RECORDING_KINDS,
        folder="recordings",
        database=database,
        google=google,
        s3=s3,
        clock=clock,
    )


@dg.asset(
    partitions_def=DAILY,
    group_name="archive",
    kinds={"google", "s3", DATABASE_KIND},
    pool=S3_POOL,
    deps=[conference_records],
    description=(
        "Meet transcripts of the day's meetings: the text (a Google Doc exported, or a "
        "plain-text Drive file downloaded and checked) and the structured entries as "
        "canonical JSON, and Gemini smart notes as text, into S3 under Object Lock; state "
        "in archive_manifest."
    ),
)
def archived_transcripts(
    context: AssetExecutionContext,
    database: DatabaseResource,
    google: GoogleResource,
    s3: ArchiveResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    return archive_partition(
        context,
        kinds=TRANSCRIPT_KINDS,
        folder="transcripts",
        database=database,
        google=google,
        s3=s3,
        clock=clock,
    )
