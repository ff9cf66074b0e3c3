"""The chaos run at full size: 100 meetings through the API and the pipeline with 20 % Google
faults (every kind the emulator has, on Calendar, Meet, Drive and the token endpoint), 10 %
S3 faults, a Google outage during some creates and one PostgreSQL restart in the middle of
an archive transfer; then every invariant of meet_sandbox/chaos.py is checked.

    .venv/bin/python bench/chaos_run.py [--meetings 100] [--seed 8] [--google-rate 0.2] [--s3-rate 0.1]

Everything runs on loopback: a private PostgreSQL instance (initdb + pg_ctl in a temporary
folder, run as the postgres user when started as root; never the machine's shared
cluster), the Google emulator, moto behind the S3 fault proxy, the API under uvicorn and
the pipeline's sensors and assets in this process. Prints the figures as JSON (last line)
and every violation found; exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: F401 - the repository root on sys.path

# Loopback only: boto3 would otherwise ask the EC2 metadata service for credentials.
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meetings", type=int, default=100)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--google-rate", type=float, default=0.2)
    parser.add_argument("--s3-rate", type=float, default=0.1)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-rounds", type=int, default=60)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("dagster").setLevel(logging.WARNING)

    from meet_sandbox.chaos import ChaosConfig, run_and_verify

    config = ChaosConfig(
        meetings=args.meetings, google_rate=args.google_rate, s3_rate=args.s3_rate,
        seed=args.seed, clients=args.clients, max_rounds=args.max_rounds,
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="meet-chaos-") as folder:
        _, report, violations = run_and_verify(Path(folder), config)
    summary = report.summary()
    summary["total_seconds"] = round(time.monotonic() - started, 1)
    for line in violations:
        print("VIOLATION", line, file=sys.stderr)
    print(json.dumps(summary, sort_keys=True))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
