"""Archive area: recordings and transcripts into S3 under Object Lock, and their checks."""

import dagster as dg

from meet_pipeline.defs.archive.assets import archived_recordings, archived_transcripts
from meet_pipeline.defs.archive.checks import recordings_all_archived, transcripts_all_archived
from meet_pipeline.defs.archive.sensors import archive_sensor

defs = dg.Definitions(
    assets=[archived_recordings, archived_transcripts],
    asset_checks=[recordings_all_archived, transcripts_all_archived],
    sensors=[archive_sensor],
)
