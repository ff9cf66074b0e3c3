"""The Dagster code location of meet-archive: reconcile meetings with Google, record
attendance, archive recordings and transcripts into S3 under Object Lock.

Load it with ``dagster dev -w workspace.yaml`` (or ``-m meet_pipeline.definitions``).
"""
