"""Matters area: the export job for long exports, the reconcile of saved-search joins and
legal holds (job and schedule), and the search index rebuild job."""

import dagster as dg

from meet_pipeline.defs.matters.jobs import (
    matter_export_job,
    matter_holds_reconcile_job,
    matter_holds_reconcile_schedule,
    search_index_rebuild_job,
)

defs = dg.Definitions(
    jobs=[matter_export_job, matter_holds_reconcile_job, search_index_rebuild_job],
    schedules=[matter_holds_reconcile_schedule],
)
