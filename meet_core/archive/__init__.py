"""S3 archive: embedded server, client factory, Object Lock writer and fault proxy."""

from meet_core.archive.client import bucket_has_object_lock, ensure_bucket, s3_client
from meet_core.archive.embedded import EmbeddedS3
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
    "EmbeddedS3",
    "VerifyResult",
    "bucket_has_object_lock",
    "ensure_bucket",
    "object_key",
    "s3_client",
]
