"""Shared core of meet-archive: settings, database, audit chain, Google gateway, S3 archive."""
