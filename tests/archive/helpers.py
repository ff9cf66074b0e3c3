"""Helpers shared by the archive tests (data, listings, an S3 server in a child process)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from meet_core.archive.client import S3Client
from tests.fixtures.s3 import new_bucket

__all__ = ["new_bucket"]  # the archive tests' helpers, plus the shared bucket maker

MiB = 2**20


def payload(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def chunked(data: bytes, size: int = 1_000_003) -> Iterator[bytes]:
    """Odd-sized chunks, so part boundaries never line up with input chunks."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def versions(client: S3Client, bucket: str, key: str) -> list[dict]:
    answer = client.list_object_versions(Bucket=bucket, Prefix=key)
    return [v for v in answer.get("Versions", []) if v["Key"] == key]


def uploads(client: S3Client, bucket: str) -> list[dict]:
    return list(client.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def object_keys(client: S3Client, bucket: str) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def consume(chunks: Iterable[bytes]) -> bytes:
    return b"".join(chunks)


ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def embedded_s3_process(*args: str) -> Iterator[str]:
    """``python -m meet_sandbox.s3`` in a child process (its memory is not ours); yields
    the endpoint URL it prints, and stops it with SIGTERM."""
    process = subprocess.Popen(
        [sys.executable, "-m", "meet_sandbox.s3", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        endpoint = process.stdout.readline().strip()
        assert endpoint.startswith("http://127.0.0.1:"), endpoint
        yield endpoint
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
