"""Legal matters in Dagster: long exports launched from the UI (Launchpad) with the matter
and the output folder, every object streamed appearing in the run's log as it is written;
the reconcile that finishes saved-search joins and legal holds an S3 fault or a crash left
(every 10 minutes while there is work); and the search index rebuild."""


from pathlib import Path

import dagster as dg
from pydantic import Field

from meet_core.matters.collect import pending_work, reconcile
from meet_core.matters.export import export_matter, signing_key
from meet_core.search.filters import parse_moment
from meet_core.search.reindex import rebuild
from meet_core.settings import get_settings
from meet_pipeline.policy import RETRY_POLICY, S3_POOL
from meet_pipeline.resources import ArchiveResource, DatabaseResource

MATTER_EXPORT_JOB = "matter_export_job"


class MatterExportConfig(dg.Config):
    matter: str = Field(description="the matter's name or number")
    out: str = Field(description="a new or empty folder on the code server's host")
    requested_by: str = Field(default="dagster", description="who asked for it (audited)")


@dg.op(description="Write the matter's signed export bundle (meet_core.matters.export).")
def export_matter_bundle(
    context: dg.OpExecutionContext,
    config: MatterExportConfig,
    database: DatabaseResource,
    s3: ArchiveResource,
) -> dg.Output[str]:
    result = export_matter(
        database.sessions(),
        s3.get_client(),
        config.matter,
        Path(config.out),
        key=signing_key(get_settings()),
        actor=f"dagster:{config.requested_by}",
        progress=context.log.info,
    )
    return dg.Output(
        str(result.path),
        metadata={
            "bundle": dg.MetadataValue.path(str(result.path)),
            "meetings": result.meetings,
            "objects": result.objects,
            "files": result.files,
            "bytes": result.bytes,
            "manifest_sha256": result.manifest_sha256,
            "public_key_ed25519": result.public_key_hex,
            "verify": dg.MetadataValue.text(f"meet-archive export verify {result.path}"),
        },
    )


@dg.job(
    name=MATTER_EXPORT_JOB,
    description="Export one legal matter as a signed bundle (docs/compliance.md).",
    op_retry_policy=RETRY_POLICY,  # a failed try leaves no bundle behind; the retry starts clean
)
def matter_export_job() -> None:
    export_matter_bundle()


# --- reconcile: saved-search joins and legal holds the archive could not finish ----------

MATTER_HOLDS_RECONCILE_JOB = "matter_holds_reconcile"


@dg.op(description="Collect queued archived objects into matching matters; record and confirm "
                   "legal holds (S3 read back) that a fault left undone (meet_core.matters.collect).",
       pool=S3_POOL)
def reconcile_matter_holds(
    context: dg.OpExecutionContext, database: DatabaseResource, s3: ArchiveResource
) -> dg.Output[int]:
    report = reconcile(database.sessions(), s3.get_client(), actor="dagster:matter_holds_reconcile")
    metadata: dict[str, dg.RawMetadataValue] = {
        "collected": report.collected,
        "holds_recorded": report.holds_recorded,
        "newly_held": report.newly_held,
        "still_queued": report.queued,
        "still_unconfirmed": report.unconfirmed,
        "failures": dg.MetadataValue.md("\n".join(f"- {f}" for f in report.failures[:50]) or "none"),
    }
    if report.failures:
        raise dg.Failure(description=f"{len(report.failures)} collection(s) or legal hold(s) not done; "
                         "they stay marked and the next run tries again", metadata=metadata, allow_retries=True)
    return dg.Output(report.newly_held, metadata=metadata)


@dg.job(name=MATTER_HOLDS_RECONCILE_JOB,
        description="Finish saved-search joins and legal holds that the archive left (docs/compliance.md).",
        op_retry_policy=RETRY_POLICY)
def matter_holds_reconcile_job() -> None:
    reconcile_matter_holds()


@dg.schedule(
    job=matter_holds_reconcile_job,
    cron_schedule="*/10 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 10 minutes, when objects wait for collection or a legal hold is unconfirmed.",
)
def matter_holds_reconcile_schedule(
    context: dg.ScheduleEvaluationContext, database: DatabaseResource
) -> dg.RunRequest | dg.SkipReason:
    with database.sessions()() as session:
        queued, unconfirmed, missing = pending_work(session)
    if not (queued or unconfirmed or missing):
        return dg.SkipReason("no archived object waits for a matter or a legal hold")
    stamp = context.scheduled_execution_time.strftime("%Y-%m-%dT%H:%M")
    return dg.RunRequest(run_key=f"matter-holds-{stamp}", tags={
        "queued": str(queued), "unconfirmed": str(unconfirmed), "missing": str(missing)})


# --- search index rebuild (the CLI's `search-index rebuild`, launched from the UI) ----------

SEARCH_INDEX_REBUILD_JOB = "search_index_rebuild"


class SearchIndexRebuildConfig(dg.Config):
    since: str | None = Field(default=None, description="only objects archived at or after (YYYY-MM-DD or RFC 3339)")
    meeting: str | None = Field(default=None, description="only this meeting's objects")
    requested_by: str = Field(default="dagster", description="who asked for it (audited)")


@dg.op(description="Re-read archived transcripts and smart notes from S3 (SHA-256 checked) and "
                   "rebuild their search documents (meet_core.search.reindex).", pool=S3_POOL)
def rebuild_search_index(
    context: dg.OpExecutionContext, config: SearchIndexRebuildConfig, database: DatabaseResource,
    s3: ArchiveResource,
) -> dg.Output[int]:
    since = parse_moment("since", config.since) if config.since else None
    report = rebuild(database.sessions(), s3.get_client(), since=since, meeting_id=config.meeting,
                     actor=f"dagster:{config.requested_by}", progress=context.log.info)
    metadata: dict[str, dg.RawMetadataValue] = {
        "objects": report.objects, "changed": report.changed, "unchanged": report.unchanged,
        "failures": dg.MetadataValue.md("\n".join(f"- {f}" for f in report.failures[:50]) or "none"),
    }
    if report.failures:
        raise dg.Failure(description=f"{len(report.failures)} object(s) not indexed", metadata=metadata)
    return dg.Output(report.changed, metadata=metadata)


@dg.job(name=SEARCH_INDEX_REBUILD_JOB,
        description="Rebuild search documents from the archive (idempotent; docs/compliance.md).")
def search_index_rebuild_job() -> None:
    rebuild_search_index()
