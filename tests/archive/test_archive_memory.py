"""Peak memory of a streamed archive stays near part_size x (max_concurrency + 1), far
below the object size: a 512 MiB generated stream, archived by a child process."""

from __future__ import annotations

import json
import subprocess
import sys

from .helpers import ROOT, MiB, embedded_s3_process

SIZE = 512 * MiB
PART_SIZE = 8 * MiB
CONCURRENCY = 4


def test_peak_rss_growth_is_bounded_by_parts_not_object_size() -> None:
    # The server runs in its own process: moto keeps whole objects in memory.
    with embedded_s3_process("--bucket", "memory") as endpoint:
        child = subprocess.run(
            [
                sys.executable,
                str(ROOT / "tests/archive/memory_child.py"),
                endpoint,
                "memory",
                str(SIZE),
                str(PART_SIZE),
                str(CONCURRENCY),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env={"PYTHONPATH": str(ROOT), "PATH": ""},
        )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])
    growth_mib = (report["peak_kib"] - report["baseline_kib"]) / 1024
    baseline_mib = report["baseline_kib"] // 1024
    print(f"archived {SIZE // MiB} MiB: peak RSS growth {growth_mib:.1f} MiB (baseline {baseline_mib} MiB)")
    assert report["size"] == SIZE and report["sha256"] == report["expected_sha256"]
    # Buffers: at most CONCURRENCY parts in flight plus the one being cut (40 MiB here);
    # allow 16 MiB for allocator slack and botocore's transient copies.
    assert growth_mib < (PART_SIZE * (CONCURRENCY + 1) + 16 * MiB) / MiB
