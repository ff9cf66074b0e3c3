"""Peak memory of archiving one large recording through the pipeline's archive asset.

    .venv/bin/python bench/archive_pipeline_memory.py [--size-mib 2048]

The parent starts the Google emulator (in process) and a moto S3 server (its own
process, so its copy of the object does not count), provisions and plays a meeting whose
recording is ``--size-mib`` large, harvests it into the manifest with the pipeline's own
code, then materializes ``archived_recordings`` for the day in a fresh subprocess (the
archiving process) and reports that process's peak RSS: Drive → ranged chunks → multipart
upload → Object Lock read back. Target: under 300 MiB for 2 GiB.

``child PARTITION`` is the subprocess side; it reads the MEET_* environment like the
Dagster code location does.
"""

from __future__ import annotations

import argparse
import json

import common  # noqa: F401 - the repository root on sys.path

from meet_sandbox.archive_memory import measure


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, default=2048)
    args = parser.parse_args()
    report = measure(args.size_mib)
    peak = report["rss_peak_kib"] / 1024
    before = report["rss_before_archive_kib"] / 1024
    rate = report["size_bytes"] / 2**20 / report["seconds"]
    print(
        f"archived {report['size_bytes'] / 2**20:.0f} MiB through archived_recordings "
        f"in {report['seconds']} s ({rate:.0f} MiB/s); archiving process peak RSS {peak:.1f} MiB "
        f"({before:.1f} MiB after imports, +{peak - before:.1f} MiB while archiving); "
        "sha256 verified"
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
