"""Archive area: recordings and transcripts into S3 under Object Lock."""
