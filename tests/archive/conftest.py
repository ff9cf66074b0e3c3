"""The archive tests use the shared S3 fixtures (tests/fixtures/s3.py): one real moto S3
server over HTTP for the whole session, a fresh bucket per test."""
