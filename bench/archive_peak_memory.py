"""Peak memory and throughput of ArchiveWriter vs boto3 ``upload_fileobj``.

Archives a generated stream (default 2 GiB) to the embedded moto S3 server twice: with
ArchiveWriter (SHA-256 while streaming, CRC64NVME, Object Lock read-back) and, as the
baseline, with boto3's managed ``upload_fileobj`` of the same stream and part size. Each
run happens in a fresh child process (so peak RSS is its own) against a fresh server
process (moto keeps whole objects in memory; its memory is not measured).

    .venv/bin/python bench/archive_peak_memory.py [--size-mib 2048] [--part-size-mib 16] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

from common import ROOT, MiB, child_env, generated, last_json, peak_rss_mib, stop_process

BUCKET = "bench-archive"


class GeneratedFile:
    """The same stream as a non-seekable file object, for upload_fileobj."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._pending = chunks, b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._pending) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._pending += chunk
        if size < 0:
            size = len(self._pending)
        data, self._pending = self._pending[:size], self._pending[size:]
        return data


def child(mode: str, endpoint: str, size: int, part_size: int, concurrency: int) -> None:
    from boto3.s3.transfer import TransferConfig

    from meet_core.archive import ArchivePolicy, ArchiveWriter, s3_client

    client = s3_client(endpoint, read_timeout=600)  # moto's completion can pass 60 s on a busy machine
    block = os.urandom(MiB)
    sha256 = hashlib.sha256()
    for chunk in generated(size, block):
        sha256.update(chunk)
    writer = ArchiveWriter(
        client, BUCKET, ArchivePolicy("GOVERNANCE", 1), part_size=part_size, max_concurrency=concurrency
    )
    config = TransferConfig(
        multipart_threshold=part_size, multipart_chunksize=part_size, max_concurrency=concurrency
    )
    # Warm up both paths so the baseline holds imports, pools and threads.
    writer.archive_stream(
        f"warm/{uuid.uuid4().hex}",
        [b"w"],
        expected_size=1,
        content_type="application/octet-stream",
        metadata={},
    )
    client.upload_fileobj(GeneratedFile(iter([b"w"])), BUCKET, f"warm/{uuid.uuid4().hex}", Config=config)
    baseline = peak_rss_mib()
    key = f"bench/{mode}/{uuid.uuid4().hex}"
    started = time.perf_counter()
    if mode == "writer":
        result = writer.archive_stream(
            key,
            generated(size, block),
            expected_size=size,
            expected_sha256=sha256.hexdigest(),
            content_type="application/octet-stream",
            metadata={},
        )
        assert result.size == size and result.retain_until is not None
    else:
        client.upload_fileobj(GeneratedFile(generated(size, block)), BUCKET, key, Config=config)
    seconds = time.perf_counter() - started
    assert client.head_object(Bucket=BUCKET, Key=key)["ContentLength"] == size
    print(
        json.dumps(
            {
                "mode": mode,
                "size_mib": size / MiB,
                "seconds": round(seconds, 2),
                "throughput_mib_s": round(size / MiB / seconds, 1),
                "baseline_rss_mib": round(baseline, 1),
                "peak_rss_growth_mib": round(peak_rss_mib() - baseline, 1),
            }
        )
    )


def run(mode: str, args: argparse.Namespace) -> dict[str, object]:
    env = child_env()
    server = subprocess.Popen(
        [sys.executable, "-m", "meet_sandbox.s3", "--bucket", BUCKET],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        endpoint = server.stdout.readline().strip()
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                mode,
                "--endpoint",
                endpoint,
                "--size-mib",
                str(args.size_mib),
                "--part-size-mib",
                str(args.part_size_mib),
                "--concurrency",
                str(args.concurrency),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return last_json(out.stdout)
    finally:
        stop_process(server, timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--part-size-mib", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--child", choices=["writer", "upload_fileobj"], help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.endpoint, args.size_mib * MiB, args.part_size_mib * MiB, args.concurrency)
        return
    bound = args.part_size_mib * (args.concurrency + 1)
    print(
        f"{args.size_mib} MiB stream, {args.part_size_mib} MiB parts, concurrency {args.concurrency} "
        f"(buffer bound part_size x (concurrency + 1) = {bound} MiB)"
    )
    for mode in ("writer", "upload_fileobj"):
        result = run(mode, args)
        print(
            f"{mode:15} peak RSS growth {result['peak_rss_growth_mib']:7.1f} MiB  "
            f"{result['throughput_mib_s']:6.1f} MiB/s  ({result['seconds']} s)"
        )


if __name__ == "__main__":
    main()
