"""Exceptions of the archive writer: callers catch :class:`ArchiveError` and its kinds."""

from __future__ import annotations


class ArchiveError(Exception):
    """Archiving failed; nothing half-visible was left behind unless the message says so."""


class ChecksumMismatch(ArchiveError):
    """The bytes streamed do not match the expected size or digest (or S3's checksum)."""


class ArchiveConflict(ArchiveError):
    """The key already holds an object with different content: keys are derived from
    stable ids, so this means the source changed or two ids collide, and a human must look."""


class S3Unavailable(ArchiveError):
    """S3 cannot be reached or refuses us: a configuration problem, not a finding about the
    archive. The message names the settings to look at."""
