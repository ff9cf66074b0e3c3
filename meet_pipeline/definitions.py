"""The code location: every area's definitions, the jobs the sensors launch with the
retry policy applied once, and the resources built from the environment.

``dagster dev -w workspace.yaml`` or ``dagster dev -m meet_pipeline.definitions``.
"""

from __future__ import annotations

import dagster as dg

from meet_core.settings import Settings
from meet_pipeline.defs.archive import definitions as archive
from meet_pipeline.defs.compliance import definitions as compliance
from meet_pipeline.defs.google import definitions as google
from meet_pipeline.defs.meetings import definitions as meetings
from meet_pipeline.policy import ARCHIVE_JOB, HARVEST_JOB, RETRY_POLICY
from meet_pipeline.resources import ClockResource, build_resources
from meet_pipeline.settings import PipelineSettings

archive_job = dg.define_asset_job(
    ARCHIVE_JOB,
    selection=dg.AssetSelection.groups("archive"),
    op_retry_policy=RETRY_POLICY,
    description="Archive one day's ready recordings and transcripts (launched by archive_sensor).",
)
harvest_job = dg.define_asset_job(
    HARVEST_JOB,
    selection=dg.AssetSelection.groups("meetings"),
    op_retry_policy=RETRY_POLICY,
    description="Harvest one day's conference records and attendance (daily sweep, backfills).",
)


def build_definitions(
    settings: Settings, pipeline: PipelineSettings, *, clock: ClockResource | None = None
) -> dg.Definitions:
    """The code location for these settings; ``clock`` replaces the system clock (the
    sandbox passes the emulator's, production never does)."""
    resources = build_resources(settings, pipeline)
    if clock is not None:
        resources["clock"] = clock
    return dg.Definitions.merge(
        google.defs,
        meetings.defs,
        archive.defs,
        compliance.build_defs(settings),
        dg.Definitions(jobs=[archive_job, harvest_job], resources=resources),
    )


defs = build_definitions(Settings.from_env(), PipelineSettings.from_env())
