"""A 64 MiB recording streams through the gateway into a hashing writer without being held
in memory: the download runs in a fresh interpreter (python -m meet_sandbox.download_memory,
also the child of bench/download_peak_memory.py)
so that its peak RSS is its own."""

from __future__ import annotations

import json
import subprocess
import sys

from meet_core.google import GoogleGateway
from meet_core.settings import Settings
from meet_sandbox.emulator import EmulatorServer, SandboxClient
from tests.google.conftest import ORGANIZER

SIZE = 64 * 2**20
CHUNK = 4 * 2**20


def test_peak_memory_of_a_64_mib_download(
    gateway: GoogleGateway, sandbox: SandboxClient, emulator: EmulatorServer, settings: Settings
) -> None:
    space = gateway.create_space()
    record = sandbox.join(space.name, ORGANIZER, recording_size_bytes=SIZE)["conference_record"]
    sandbox.leave(space.name, ORGANIZER)
    sandbox.advance(5)
    [recording] = gateway.list_recordings(record)
    drive_file = gateway.get_file(recording.drive_file_id or "")
    env = {
        "PATH": "/usr/bin:/bin",
        "MEET_HOME": str(settings.home),
        "MEET_GOOGLE_ENDPOINT": emulator.base_url,
        "GOOGLE_APPLICATION_CREDENTIALS": str(settings.google_credentials_file),
        "MEET_GOOGLE_SUBJECT": ORGANIZER,
    }
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "meet_sandbox.download_memory",
            "gateway",
            drive_file.id,
            "--chunk-bytes",
            str(CHUNK),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["bytes"] == SIZE and report["sha256"] == drive_file.sha256
    assert report["requests"] == 1 + SIZE // CHUNK  # metadata + one ranged GET per chunk
    growth = (report["rss_peak_kib"] - report["rss_before_kib"]) * 1024
    print(
        f"peak RSS growth, {SIZE >> 20} MiB in {CHUNK >> 20} MiB chunks: {growth / 2**20:.1f} MiB"
    )
    # Streaming keeps about one chunk alive; buffering the file would add >= 64 MiB.
    assert growth < 3 * CHUNK
