"""Peak memory and throughput of a recording download through the gateway vs. plain urllib.

    .venv/bin/python bench/download_peak_memory.py [--size-mib 2048] [--chunk-mib 8]

Starts the Google emulator in this process, plays a meeting whose recording is
``--size-mib`` large, then downloads it twice, each time in a fresh subprocess so that
``ru_maxrss`` is the download's own: once through ``GoogleGateway.download_file`` (ranged,
verified chunks) into a SHA-256 writer, once with plain ``urllib`` streaming the same
``alt=media`` URL into SHA-256 (the baseline). Prints one line per run and a JSON summary.

``child gateway|urllib`` is the subprocess side (also used by tests/google); it reads
MEET_GOOGLE_ENDPOINT, GOOGLE_APPLICATION_CREDENTIALS and MEET_GOOGLE_SUBJECT.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import child_env, peak_rss_kib, reset_peak_rss, run_json_child

ORGANIZER = "organizer@example.com"


class Sha256Writer:
    """A sink that keeps only a running hash (what the S3 archive writer does, minus S3)."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return len(data)


def child_gateway(file_id: str, chunk_size: int) -> dict[str, Any]:
    from meet_core.google import GoogleGateway
    from meet_core.settings import Settings

    gateway = GoogleGateway.from_settings(Settings.from_env())
    gateway.get_file(file_id)  # token, connection and client warm before the baseline
    before = reset_peak_rss()
    sink = Sha256Writer()
    started = time.perf_counter()
    written = gateway.download_file(file_id, sink, chunk_size=chunk_size)
    seconds = time.perf_counter() - started
    return {
        "bytes": written,
        "sha256": sink.hash.hexdigest(),
        "seconds": seconds,
        "rss_before_kib": before,
        "rss_peak_kib": peak_rss_kib(),
        "requests": gateway.calls.total,
    }


def child_urllib(file_id: str, chunk_size: int) -> dict[str, Any]:
    import urllib.request

    import google_auth_httplib2
    import httplib2
    from google.oauth2 import service_account

    from meet_core.google import SCOPES

    endpoint = os.environ["MEET_GOOGLE_ENDPOINT"]
    credentials = (
        service_account.Credentials.from_service_account_file(
            os.environ["GOOGLE_APPLICATION_CREDENTIALS"], scopes=list(SCOPES)
        )
        .with_token_uri(endpoint + "/token")
        .with_subject(os.environ.get("MEET_GOOGLE_SUBJECT", ORGANIZER))
    )
    credentials.refresh(google_auth_httplib2.Request(httplib2.Http()))
    request = urllib.request.Request(
        f"{endpoint}/drive/v3/files/{file_id}?alt=media",
        headers={"Authorization": f"Bearer {credentials.token}"},
    )
    before = reset_peak_rss()
    sink = Sha256Writer()
    started = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        while block := response.read(chunk_size):
            sink.write(block)
    seconds = time.perf_counter() - started
    return {
        "bytes": sink.size,
        "sha256": sink.hash.hexdigest(),
        "seconds": seconds,
        "rss_before_kib": before,
        "rss_peak_kib": peak_rss_kib(),
        "requests": 1,
    }


def run_child(mode: str, file_id: str, chunk_size: int, env: dict[str, str]) -> dict[str, Any]:
    """Run one download in a fresh interpreter and return its JSON report."""
    return run_json_child(
        [sys.executable, __file__, "child", mode, file_id, "--chunk-bytes", str(chunk_size)],
        env=child_env(env),
        timeout=3600,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("child")
    child.add_argument("mode", choices=["gateway", "urllib"])
    child.add_argument("file_id")
    child.add_argument("--chunk-bytes", type=int, default=8 * 2**20)
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--chunk-mib", type=int, default=8)
    args = parser.parse_args()
    if args.command == "child":
        report = (child_gateway if args.mode == "gateway" else child_urllib)(
            args.file_id, args.chunk_bytes
        )
        print(json.dumps(report))
        return

    from meet_core.google import GoogleGateway
    from meet_core.settings import Settings
    from meet_sandbox.emulator import EmulatorServer, SandboxClient, write_service_account

    size, chunk = args.size_mib * 2**20, args.chunk_mib * 2**20
    with tempfile.TemporaryDirectory() as home:
        key = write_service_account(Path(home) / "sa.json")
        with EmulatorServer("127.0.0.1", 0, service_accounts=[key]) as server:
            env = {
                "MEET_HOME": home,
                "MEET_GOOGLE_ENDPOINT": server.base_url,
                "GOOGLE_APPLICATION_CREDENTIALS": str(key),
                "MEET_GOOGLE_SUBJECT": ORGANIZER,
            }
            gateway = GoogleGateway.from_settings(Settings.from_env(env))
            sandbox = SandboxClient(server.base_url)
            space = gateway.create_space()
            record = sandbox.join(space.name, ORGANIZER, recording_size_bytes=size)[
                "conference_record"
            ]
            sandbox.leave(space.name, ORGANIZER)
            sandbox.advance(3600)
            [recording] = gateway.list_recordings(record)
            drive_file = gateway.get_file(recording.drive_file_id or "")
            results = {}
            for mode in ("urllib", "gateway"):
                report = run_child(mode, drive_file.id, chunk, env)
                assert report["bytes"] == size and report["sha256"] == drive_file.sha256, report
                growth = (int(report["rss_peak_kib"]) - int(report["rss_before_kib"])) / 1024
                mib_s = size / 2**20 / float(report["seconds"])
                peak = int(report["rss_peak_kib"]) / 1024
                print(
                    f"{mode:8} {size / 2**20:.0f} MiB in {report['seconds']:.2f} s"
                    f" = {mib_s:.0f} MiB/s, peak RSS {peak:.1f} MiB"
                    f" (+{growth:.1f} MiB during download),"
                    f" {report['requests']} request(s), sha256 ok"
                )
                results[mode] = {
                    **report,
                    "mib_per_s": round(mib_s, 1),
                    "rss_growth_mib": round(growth, 1),
                }
    print(json.dumps({"size_bytes": size, "chunk_bytes": chunk, **results}))


if __name__ == "__main__":
    main()
