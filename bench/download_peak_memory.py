"""Peak memory and throughput of a recording download through the gateway vs. plain urllib.

    .venv/bin/python bench/download_peak_memory.py [--size-mib 2048] [--chunk-mib 8]

Starts the Google emulator in this process, plays a meeting whose recording is
``--size-mib`` large, then downloads it twice, each time in a fresh subprocess so that
``ru_maxrss`` is the download's own: once through ``GoogleGateway.download_file`` (ranged,
verified chunks) into a SHA-256 writer, once with plain ``urllib`` streaming the same
``alt=media`` URL into SHA-256 (the baseline). Prints one line per run and a JSON summary.

The subprocess side is ``python -m meet_sandbox.download_memory gateway|urllib`` (also used
by tests/google).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import common  # noqa: F401 - the repository root on sys.path

from meet_sandbox.download_memory import ORGANIZER, run_child


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--chunk-mib", type=int, default=8)
    args = parser.parse_args()
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
