"""One real moto S3 server over HTTP for the whole session; a fresh bucket per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from meet_core.archive.client import S3Client
from meet_sandbox.s3 import EmbeddedS3

from .helpers import new_bucket


@pytest.fixture(scope="session")
def s3_server() -> Iterator[EmbeddedS3]:
    with EmbeddedS3() as server:
        yield server


@pytest.fixture(scope="session")
def s3(s3_server: EmbeddedS3) -> S3Client:
    return s3_server.client()


@pytest.fixture
def bucket(s3: S3Client) -> str:
    return new_bucket(s3)


@pytest.fixture
def unlocked_bucket(s3: S3Client) -> str:
    return new_bucket(s3, object_lock=False)
