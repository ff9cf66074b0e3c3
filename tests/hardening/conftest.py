"""Hardening tests reuse the pipeline's fixtures (emulator, moto over HTTP, a fresh migrated
database per test on SQLite and PostgreSQL, a Dagster instance, the harness).

They also keep every process they start on loopback: boto3's credential chain would ask
the EC2 instance metadata service (169.254.169.254) for keys whenever an S3 client is made
for a loopback endpoint without keys (see test_network_confinement.py), so it is switched
off here, for this process and the subprocesses that inherit its environment.
"""

import os
from collections.abc import Iterator

import pytest

from tests.pipeline.conftest import (  # noqa: F401 - fixtures, found by name
    dagster_instance,
    harness,
    harness_factory,
    people,
    pipeline_s3_url,
)


@pytest.fixture(autouse=True, scope="module")
def _no_instance_metadata_service() -> Iterator[None]:
    before = os.environ.get("AWS_EC2_METADATA_DISABLED")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    yield
    if before is None:
        os.environ.pop("AWS_EC2_METADATA_DISABLED", None)
    else:
        os.environ["AWS_EC2_METADATA_DISABLED"] = before
