"""Local S3 for development, demos and tests: an embedded moto server and a fault proxy."""

from meet_sandbox.s3.embedded import EmbeddedS3
from meet_sandbox.s3.faultproxy import FaultProxy

__all__ = ["EmbeddedS3", "FaultProxy"]
