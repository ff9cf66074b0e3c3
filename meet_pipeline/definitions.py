"""The code location: every area's definitions, cross-cutting policy applied once (owners
and the database kind on every asset spec, the retry policy on every job), and
the resources built from the environment.

``dagster dev -w workspace.yaml`` or ``dagster dev -m meet_pipeline.definitions``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import dagster as dg

from meet_core.settings import Settings
from meet_pipeline.defs.archive import definitions as archive
from meet_pipeline.defs.compliance import definitions as compliance
from meet_pipeline.defs.events import definitions as events
from meet_pipeline.defs.google import definitions as google
from meet_pipeline.defs.matters import definitions as matters
from meet_pipeline.defs.meetings import definitions as meetings
from meet_pipeline.policy import ARCHIVE_JOB, DATABASE_KIND, HARVEST_JOB, OWNERS, RETRY_POLICY
from meet_pipeline.resources import ClockResource, build_resources
from meet_pipeline.settings import PipelineSettings

archive_job = dg.define_asset_job(
    ARCHIVE_JOB,
    selection=dg.AssetSelection.groups("archive"),
    description="Archive one day's ready recordings and transcripts (launched by archive_sensor).",
)
harvest_job = dg.define_asset_job(
    HARVEST_JOB,
    selection=dg.AssetSelection.groups("meetings"),
    description="Harvest one day's conference records and attendance (daily sweep, backfills).",
)
JOBS: Sequence[dg.UnresolvedAssetJobDefinition] = [archive_job, harvest_job, *compliance.JOBS]


def database_kind(database_url: str) -> str:
    """The kind the UI shows for the app database: the engine of the configured URL."""
    if database_url.startswith("postgresql"):
        return "postgres"
    if database_url.startswith("sqlite"):
        return "sqlite"
    return DATABASE_KIND


def with_policy(job: dg.UnresolvedAssetJobDefinition) -> dg.UnresolvedAssetJobDefinition:
    """The job as declared by its area, with the retry policy: steps that failed on Google
    or S3 are tried again inside the run."""
    return dg.define_asset_job(
        job.name,
        selection=job.selection,
        config=job.config,
        description=job.description,
        tags=job.tags,
        run_tags=job.run_tags,
        metadata=job.metadata,
        partitions_def=job.partitions_def,
        executor_def=job.executor_def,
        hooks=job.hooks,
        op_retry_policy=RETRY_POLICY,
        automation_condition=job.automation_condition,
    )


def build_definitions(
    settings: Settings, pipeline: PipelineSettings, *, clock: ClockResource | None = None
) -> dg.Definitions:
    """The code location for these settings; ``clock`` replaces the system clock (the
    sandbox passes the emulator's, production never does)."""
    resources = build_resources(settings, pipeline)
    if clock is not None:
        resources["clock"] = clock
    engine = database_kind(settings.database_url)

    def apply_policy(spec: dg.AssetSpec) -> dg.AssetSpec:
        kinds = {engine if kind == DATABASE_KIND else kind for kind in spec.kinds}
        return spec.replace_attributes(owners=OWNERS, kinds=kinds)

    merged = dg.Definitions.merge(
        google.defs,
        meetings.defs,
        archive.defs,
        matters.defs,
        events.defs,
        compliance.build_defs(settings),
        dg.Definitions(jobs=[with_policy(job) for job in JOBS], resources=resources),
    )
    with warnings.catch_warnings():
        # Preview in Dagster 1.13; it is the documented way to apply policy to every spec.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return merged.map_asset_specs(func=apply_policy)


defs = build_definitions(Settings.from_env(), PipelineSettings.from_env())
