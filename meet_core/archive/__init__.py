"""S3 archive: client factory, bucket checks, and the streamed Object Lock writer.

The archive manifest (:mod:`meet_core.archive.manifest`) and the transfer of one manifest
row from Google to S3 (:mod:`meet_core.archive.transfer`) are imported from their modules.
"""

from meet_core.archive.client import bucket_has_object_lock, ensure_bucket, s3_client
from meet_core.archive.errors import ArchiveConflict, ArchiveError, ChecksumMismatch
from meet_core.archive.keys import object_key
from meet_core.archive.lock import ArchivePolicy
from meet_core.archive.verify import VerifyResult
from meet_core.archive.writer import ArchivedObject, ArchiveWriter

__all__ = [
    "ArchiveConflict",
    "ArchiveError",
    "ArchivePolicy",
    "ArchiveWriter",
    "ArchivedObject",
    "ChecksumMismatch",
    "VerifyResult",
    "bucket_has_object_lock",
    "ensure_bucket",
    "object_key",
    "s3_client",
]
