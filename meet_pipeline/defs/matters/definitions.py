"""Matters area: the export job for long exports."""

import dagster as dg

from meet_pipeline.defs.matters.jobs import matter_export_job

defs = dg.Definitions(jobs=[matter_export_job])
