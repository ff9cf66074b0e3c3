"""Peak memory of one recording download, in a fresh interpreter so that its peak RSS is
its own: through ``GoogleGateway.download_file`` (ranged, verified chunks) into a SHA-256
writer, or with plain ``urllib`` streaming the same ``alt=media`` URL into SHA-256 (the
baseline).

``python -m meet_sandbox.download_memory gateway|urllib FILE_ID [--chunk-bytes N]`` is the
child; it reads MEET_GOOGLE_ENDPOINT, GOOGLE_APPLICATION_CREDENTIALS and MEET_GOOGLE_SUBJECT
and prints its report as JSON. Used by ``tests/google/test_download_memory.py`` and
``bench/download_peak_memory.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from typing import Any

from meet_sandbox.children import run_json_child
from meet_sandbox.memory import peak_rss_kib, reset_peak_rss

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
    request = urllib.request.Request(  # noqa: S310 - the emulator on loopback
        f"{endpoint}/drive/v3/files/{file_id}?alt=media",
        headers={"Authorization": f"Bearer {credentials.token}"},
    )
    before = reset_peak_rss()
    sink = Sha256Writer()
    started = time.perf_counter()
    with urllib.request.urlopen(request) as response:  # noqa: S310
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
    """Run one download in a fresh interpreter (this module's ``main``) and return its
    JSON report; ``env`` is added to this process's environment."""
    return run_json_child(
        [sys.executable, "-m", "meet_sandbox.download_memory", mode, file_id, "--chunk-bytes", str(chunk_size)],
        env={**os.environ, **env},
        timeout=3600,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["gateway", "urllib"])
    parser.add_argument("file_id")
    parser.add_argument("--chunk-bytes", type=int, default=8 * 2**20)
    args = parser.parse_args(argv)
    report = (child_gateway if args.mode == "gateway" else child_urllib)(args.file_id, args.chunk_bytes)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
