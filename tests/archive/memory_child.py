"""Run in a child process by test_archive_memory.py: archive a generated stream and print,
as JSON, the peak RSS before and after.

Peak RSS is VmHWM (meet_sandbox.memory): it belongs to the new address space, whereas
Linux carries ru_maxrss over from the parent across fork+exec."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import uuid

from meet_core.archive import ArchivePolicy, ArchiveWriter, s3_client
from meet_sandbox.memory import MiB, generated, peak_rss_kib


def main() -> None:
    endpoint, bucket, size, part_size, concurrency = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    block = os.urandom(MiB)
    sha256 = hashlib.sha256()
    for chunk in generated(size, block):
        sha256.update(chunk)
    writer = ArchiveWriter(
        s3_client(endpoint),
        bucket,
        ArchivePolicy("GOVERNANCE", 1),
        part_size=part_size,
        max_concurrency=concurrency,
    )
    # Warm up (imports, thread pool, connections) so the baseline holds the fixed costs.
    writer.archive_stream(
        f"warmup/{uuid.uuid4().hex}",
        [b"x" * 1000],
        expected_size=1000,
        content_type="application/octet-stream",
        metadata={},
    )
    baseline = peak_rss_kib()
    archived = writer.archive_stream(
        f"memory/{uuid.uuid4().hex}.bin",
        generated(size, block),
        expected_size=size,
        expected_sha256=sha256.hexdigest(),
        content_type="application/octet-stream",
        metadata={},
    )
    peak = peak_rss_kib()
    print(
        json.dumps(
            {
                "baseline_kib": baseline,
                "peak_kib": peak,
                "size": archived.size,
                "sha256": archived.sha256_hex,
                "expected_sha256": sha256.hexdigest(),
            }
        )
    )


if __name__ == "__main__":
    main()
