"""Archive throughput: the pipeline's archive path vs ``curl | aws s3 cp -`` between the same servers.

    .venv/bin/python bench/archive_throughput.py            # 1 GiB, ~3 min
    .venv/bin/python bench/archive_throughput.py --full     # 1 GiB and 4 GiB (issue 8), ~15 min
    .venv/bin/python bench/archive_throughput.py --sizes-mib 256 --repeat 2 --no-diagnostics

For each size, the Google emulator serves (in this process, HTTP on loopback) a meeting
recording of that size, and a fresh moto S3 server (``python -m meet_sandbox.s3``, its own
process, bucket with Object Lock) receives it, per run:

* ``pipeline``: ``archived_recordings`` materialized for the day in a fresh subprocess (the
  archiving process): Drive ranged chunks of the part size, read one ahead by a prefetch
  thread → ArchiveWriter (8 MiB parts, 2 in flight, each chunk uploaded as its part without
  a copy, SHA-256 and MD5 vs Drive, CRC64NVME, Object Lock read back) → manifest + audit. Setup reuses
  bench/archive_pipeline_memory.py (``prepare``: provisioning, meeting played in the
  emulator, conference harvested into the manifest with the pipeline's own code).
* ``baseline``: ``curl -H 'Authorization: Bearer …' <alt=media URL> | aws s3 cp - s3://…``
  (AWS CLI v1 from PyPI, default settings: 8 MiB parts, 10 in flight).

Both sides get a 600 s read timeout (``--cli-read-timeout`` for the CLI) instead of 60 s,
see READ_TIMEOUT_S; it changes nothing unless moto's completion passes 60 s.

Throughput = size / wall time of the transfer (the asset body for the pipeline, the whole
shell pipeline for the baseline). Peak RSS = VmHWM of the archiving process (/usr/bin/time
%M for curl and aws). CPU seconds per process show which side saturates (2 cores).

Diagnostics (``--no-diagnostics`` to skip), to show where the limit is:
* ``emulator raw``: ``curl -o /dev/null`` of the media URL (what the emulator can serve);
* ``gateway download``: GoogleGateway.download_file into SHA-256 only (bench/download_peak_memory.py);
* ``moto via aws``: ``head -c N /dev/zero | aws s3 cp -`` (what moto + the CLI accept);
* ``writer upload``: ArchiveWriter from a generated stream, 8 MiB parts, 2 in flight
  (bench/archive_peak_memory.py).

Prints one line per run and a JSON summary last.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
for folder in (ROOT, BENCH):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import archive_peak_memory  # noqa: E402 - bench helpers
import archive_pipeline_memory as apm  # noqa: E402
import download_peak_memory  # noqa: E402

MiB = 2**20
PART_CONCURRENCY: dict[str, str] = {}  # --part-concurrency / --part-size-mib: BENCH_* for the child
BUCKET = apm.BUCKET
ORGANIZER = apm.ORGANIZER
BASELINE_KEY_PREFIX = "baseline"
# Both sides (pipeline client and AWS CLI) wait this long for an answer instead of 60 s:
# moto sends nothing while it completes a multipart upload (S3 sends keep-alive
# whitespace), its completion of 1 GiB can pass 60 s on a busy machine, and botocore's
# retry then races moto's still-running completion and fails. Not a throughput setting.
READ_TIMEOUT_S = 600


# -- helpers ----------------------------------------------------------------------------


def aws_cli() -> str:
    """The AWS CLI next to this interpreter (``uv pip install awscli``), else on PATH."""
    local = Path(sys.executable).with_name("aws")
    if local.exists():
        return str(local)
    found = shutil.which("aws")
    if not found:
        raise SystemExit("AWS CLI not found: uv pip install --python .venv/bin/python awscli 'botocore==<installed>'")
    return found


def aws_env(home: Path) -> dict[str, str]:
    """The embedded server's dummy keys and path-style addressing, for the AWS CLI."""
    from meet_core.archive.client import (
        EMBEDDED_ACCESS_KEY_ID,
        EMBEDDED_REGION,
        EMBEDDED_SECRET_ACCESS_KEY,
    )

    config = home / "aws-config"
    config.write_text(f"[default]\nregion = {EMBEDDED_REGION}\ns3 =\n  addressing_style = path\n")
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": EMBEDDED_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": EMBEDDED_SECRET_ACCESS_KEY,
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
    }


def bearer_token(env: dict[str, str]) -> str:
    """An access token for the organizer from the emulator's /token (JWT flow, like curl users)."""
    import google_auth_httplib2
    import httplib2
    from google.oauth2 import service_account

    from meet_core.google import SCOPES

    credentials = (
        service_account.Credentials.from_service_account_file(
            env["GOOGLE_APPLICATION_CREDENTIALS"], scopes=list(SCOPES)
        )
        .with_token_uri(env["MEET_GOOGLE_ENDPOINT"] + "/token")
        .with_subject(ORGANIZER)
    )
    credentials.refresh(google_auth_httplib2.Request(httplib2.Http()))
    return str(credentials.token)


def proc_status(pid: int) -> dict[str, int]:
    """VmHWM/VmRSS (KiB) and CPU seconds x100 of a live process."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("VmHWM:", "VmRSS:")):
                out[line.split(":")[0]] = int(line.split()[1])
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    out["cpu_cs"] = int(fields[11]) + int(fields[12])  # utime + stime, clock ticks (100/s)
    return out


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class MotoServer:
    """A fresh moto server process with the locked bucket; its memory and CPU are reported."""

    def __init__(self, home: Path) -> None:
        self.process, self.endpoint = apm.start_s3(home)

    def stats(self) -> dict[str, float]:
        status = proc_status(self.process.pid)
        return {
            "moto_peak_rss_mib": round(status["VmHWM"] / 1024, 1),
            "moto_cpu_s": status["cpu_cs"] / 100,
        }

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def object_size(self, key: str) -> int:
        from meet_core.archive import s3_client

        head = s3_client(self.endpoint).head_object(Bucket=BUCKET, Key=key)
        return int(head["ContentLength"])


def timed_tool(command: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """Run a tool under /usr/bin/time (max RSS KiB, user and system CPU seconds on stderr's last line)."""
    return subprocess.Popen(["/usr/bin/time", "-f", "TIME %M %U %S", *command], **kwargs)


def tool_figures(stderr: bytes) -> dict[str, float]:
    line = [x for x in stderr.decode(errors="replace").splitlines() if x.startswith("TIME ")][-1]
    kib, user, system = line.split()[1:]
    return {
        "peak_rss_mib": round(int(kib) / 1024, 1),
        "cpu_s": round(float(user) + float(system), 2),
    }


# -- the archiving process (pipeline) ----------------------------------------------------


def child(partition: str) -> dict[str, Any]:
    """Materialize archived_recordings for the partition, as a run worker would."""
    import warnings

    warnings.filterwarnings("ignore")
    import dagster as dg

    from meet_core.settings import Settings
    from meet_pipeline.defs.archive.assets import archived_recordings
    from meet_pipeline.settings import PipelineSettings
    from meet_sandbox.pipeline import build_sandbox_resources

    timings = instrument()
    resources = build_sandbox_resources(Settings.from_env(), PipelineSettings.from_env())
    what_if = {  # what-if only: the product defaults are kept otherwise
        field: int(os.environ[name])
        for field, name in (("part_concurrency", "BENCH_PART_CONCURRENCY"), ("part_size_mib", "BENCH_PART_SIZE_MIB"))
        if os.environ.get(name)
    }
    if what_if:
        s3 = resources["s3"]
        resources["s3"] = type(s3)(**{**s3.model_dump(), **what_if})
    before, cpu0 = apm.current_kib(), self_cpu()
    started = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([archived_recordings], partition_key=partition, resources=resources, instance=instance)
    wall = time.perf_counter() - started
    [materialization] = result.asset_materializations_for_node("archived_recordings")
    metadata = materialization.metadata
    return {
        "archived": metadata["archived"].value,
        "bytes": metadata["bytes"].value,
        "google_calls": metadata["google_calls"].value,
        "asset_seconds": metadata["duration_seconds"].value,
        "materialize_seconds": round(wall, 2),
        "cpu_s": round(self_cpu() - cpu0, 2),
        "rss_before_kib": before,
        "rss_peak_kib": apm.peak_kib(),
        "timings": {k: round(v, 2) for k, v in sorted(timings.items())},
    }


def instrument() -> dict[str, float]:
    """Where the archiving process waits (bench-side wrappers; product code is unchanged):
    seconds inside Drive chunk reads (the download generator's ``next``, run by the prefetch
    thread), seconds the archiving loop waited for a chunk anyway, and seconds per S3
    operation (botocore before-call/after-call events; parts overlap, so UploadPart sums
    exceed wall time)."""
    import threading

    import meet_pipeline.resources as pipeline_resources
    from meet_core.google import GoogleGateway

    timings: dict[str, float] = {}
    lock = threading.Lock()

    def add(name: str, seconds: float) -> None:
        with lock:
            timings[name] = timings.get(name, 0.0) + seconds

    original_iter = GoogleGateway.iter_file

    def iter_file(self: Any, *args: Any, **kwargs: Any) -> Any:
        chunks = original_iter(self, *args, **kwargs)
        while True:
            started = time.perf_counter()
            chunk = next(chunks, None)
            add("drive_chunk_reads", time.perf_counter() - started)
            if chunk is None:
                return
            yield chunk

    GoogleGateway.iter_file = iter_file  # type: ignore[method-assign]
    # With read-ahead, drive_chunk_reads happen in the prefetch thread; what the archiving
    # loop still waits for the next chunk is drive_chunk_waits.
    from meet_core.archive.multipart import Prefetch

    original_next = Prefetch.__next__

    def prefetch_next(self: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_next(self)
        finally:
            add("drive_chunk_waits", time.perf_counter() - started)

    Prefetch.__next__ = prefetch_next  # type: ignore[method-assign]
    original_client = pipeline_resources.s3_client

    def s3_client(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("read_timeout", READ_TIMEOUT_S)
        client = original_client(*args, **kwargs)

        def before(context: dict[str, Any], **_: Any) -> None:
            context["bench_started"] = time.perf_counter()

        def after(model: Any, context: dict[str, Any], **_: Any) -> None:
            if "bench_started" in context:
                add(f"s3_{model.name}", time.perf_counter() - context["bench_started"])

        client.meta.events.register("before-call.s3", before)
        client.meta.events.register("after-call.s3", after)
        return client

    pipeline_resources.s3_client = s3_client  # type: ignore[assignment]
    return timings


def source_file(env: dict[str, str]) -> str:
    from sqlalchemy import select

    from meet_core.db import make_engine, make_session_factory
    from meet_core.db.models import ArchiveManifestEntry
    from meet_core.settings import Settings

    engine = make_engine(Settings.from_env(env).database_url)
    with make_session_factory(engine)() as session:
        row = session.scalar(select(ArchiveManifestEntry).where(ArchiveManifestEntry.kind == "recording"))
        assert row is not None and row.source_id
        file_id = row.source_id
    engine.dispose()
    return file_id


def run_pipeline(base_env: dict[str, str], folder: Path, size: int, emulator_url: str) -> dict[str, Any]:
    """A fresh database and meeting, a fresh S3 server; archive in a subprocess."""
    home = folder / f"pipeline-{uuid.uuid4().hex[:6]}"
    home.mkdir()
    moto = MotoServer(home)
    try:
        env = {
            **base_env,
            "MEET_HOME": str(home),
            "MEET_DATABASE_URL": f"sqlite:///{home / 'meet.db'}",
            "MEET_S3_ENDPOINT_URL": moto.endpoint,
        }
        partition, _, drive_sha256 = apm.prepare(env, emulator_url, size)
        file_id = source_file(env)
        cpu0 = self_cpu()
        out = subprocess.run(
            [sys.executable, __file__, "child", partition],
            env={**os.environ, **env, "PYTHONPATH": str(ROOT), **PART_CONCURRENCY},
            capture_output=True,
            text=True,
            timeout=7200,
            cwd=home,
        )
        emulator_cpu = self_cpu() - cpu0
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-4000:])
        report: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        state, sha256, stored = apm.archived_row(env)
        assert (state, sha256, stored) == ("archived", drive_sha256, size), (state, sha256, stored)
        report.update(moto.stats())
    finally:
        moto.stop()
    seconds = float(report["asset_seconds"])
    complete = float(report["timings"].get("s3_CompleteMultipartUpload", 0.0))
    return {
        "mode": "pipeline",
        "seconds": seconds,
        "mib_s": round(size / MiB / seconds, 1),
        "materialize_seconds": report["materialize_seconds"],
        "mib_s_without_moto_complete": round(size / MiB / max(seconds - complete, 1e-3), 1),
        "peak_rss_mib": round(report["rss_peak_kib"] / 1024, 1),
        "rss_growth_mib": round((report["rss_peak_kib"] - report["rss_before_kib"]) / 1024, 1),
        "archiver_cpu_s": report["cpu_s"],
        "emulator_cpu_s": round(emulator_cpu, 2),
        "moto_cpu_s": report["moto_cpu_s"],
        "moto_peak_rss_mib": report["moto_peak_rss_mib"],
        "google_calls": report["google_calls"],
        "waits_s": report["timings"],
        "sha256_verified": True,
        "file_id": file_id,
    }


# -- the baseline and the diagnostics ------------------------------------------------------


def media_url(env: dict[str, str], file_id: str) -> str:
    return f"{env['MEET_GOOGLE_ENDPOINT']}/drive/v3/files/{file_id}?alt=media"


def run_baseline(env: dict[str, str], folder: Path, size: int, file_id: str) -> dict[str, Any]:
    """curl | aws s3 cp - between the same emulator and a fresh moto server."""
    home = folder / f"baseline-{uuid.uuid4().hex[:6]}"
    home.mkdir()
    moto = MotoServer(home)
    try:
        token = bearer_token(env)
        key = f"{BASELINE_KEY_PREFIX}/{uuid.uuid4().hex}.mp4"
        cpu0 = self_cpu()
        started = time.perf_counter()
        curl = timed_tool(
            [
                "curl",
                "-sS",
                "--fail",
                "-H",
                f"Authorization: Bearer {token}",
                media_url(env, file_id),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        aws = timed_tool(
            [
                aws_cli(),
                "s3",
                "cp",
                "-",
                f"s3://{BUCKET}/{key}",
                "--endpoint-url",
                moto.endpoint,
                "--only-show-errors",
                "--cli-read-timeout",
                str(READ_TIMEOUT_S),
            ],
            stdin=curl.stdout,
            stderr=subprocess.PIPE,
            env=aws_env(home),
        )
        assert curl.stdout is not None
        curl.stdout.close()
        _, aws_err = aws.communicate(timeout=7200)
        _, curl_err = curl.communicate(timeout=60)
        seconds = time.perf_counter() - started
        emulator_cpu = self_cpu() - cpu0
        if aws.returncode or curl.returncode:
            raise RuntimeError(f"baseline failed: curl {curl_err[-2000:]!r} aws {aws_err[-2000:]!r}")
        stored = moto.object_size(key)
        assert stored == size, (stored, size)
        stats = moto.stats()
    finally:
        moto.stop()
    aws_fig, curl_fig = tool_figures(aws_err), tool_figures(curl_err)
    return {
        "mode": "baseline",
        "seconds": round(seconds, 2),
        "mib_s": round(size / MiB / seconds, 1),
        "peak_rss_mib": aws_fig["peak_rss_mib"],
        "curl_peak_rss_mib": curl_fig["peak_rss_mib"],
        "archiver_cpu_s": round(aws_fig["cpu_s"] + curl_fig["cpu_s"], 2),
        "aws_cpu_s": aws_fig["cpu_s"],
        "curl_cpu_s": curl_fig["cpu_s"],
        "emulator_cpu_s": round(emulator_cpu, 2),
        **stats,
    }


def diag_emulator(env: dict[str, str], size: int, file_id: str) -> dict[str, Any]:
    token = bearer_token(env)
    cpu0 = self_cpu()
    started = time.perf_counter()
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "--fail",
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
            "-H",
            f"Authorization: Bearer {token}",
            media_url(env, file_id),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    seconds = time.perf_counter() - started
    assert int(out.stdout.strip()) == size
    return {
        "mode": "emulator raw (curl > /dev/null)",
        "seconds": round(seconds, 2),
        "mib_s": round(size / MiB / seconds, 1),
        "emulator_cpu_s": round(self_cpu() - cpu0, 2),
    }


def diag_gateway(env: dict[str, str], size: int, file_id: str) -> dict[str, Any]:
    report = download_peak_memory.run_child("gateway", file_id, 8 * MiB, env)
    assert report["bytes"] == size
    seconds = float(report["seconds"])
    return {
        "mode": "gateway download (to SHA-256)",
        "seconds": round(seconds, 2),
        "mib_s": round(size / MiB / seconds, 1),
        "rss_growth_mib": round((report["rss_peak_kib"] - report["rss_before_kib"]) / 1024, 1),
        "requests": report["requests"],
    }


def diag_moto_aws(folder: Path, size: int) -> dict[str, Any]:
    home = folder / f"moto-aws-{uuid.uuid4().hex[:6]}"
    home.mkdir()
    moto = MotoServer(home)
    try:
        key = f"{BASELINE_KEY_PREFIX}/zero-{uuid.uuid4().hex}"
        started = time.perf_counter()
        zeros = subprocess.Popen(["head", "-c", str(size), "/dev/zero"], stdout=subprocess.PIPE)
        aws = timed_tool(
            [
                aws_cli(),
                "s3",
                "cp",
                "-",
                f"s3://{BUCKET}/{key}",
                "--endpoint-url",
                moto.endpoint,
                "--only-show-errors",
                "--cli-read-timeout",
                str(READ_TIMEOUT_S),
            ],
            stdin=zeros.stdout,
            stderr=subprocess.PIPE,
            env=aws_env(home),
        )
        assert zeros.stdout is not None
        zeros.stdout.close()
        _, err = aws.communicate(timeout=7200)
        zeros.wait(timeout=60)
        seconds = time.perf_counter() - started
        if aws.returncode:
            raise RuntimeError(err.decode(errors="replace")[-2000:])
        assert moto.object_size(key) == size
        stats = moto.stats()
    finally:
        moto.stop()
    return {
        "mode": "moto via aws (/dev/zero | aws s3 cp -)",
        "seconds": round(seconds, 2),
        "mib_s": round(size / MiB / seconds, 1),
        "aws_cpu_s": tool_figures(err)["cpu_s"],
        **stats,
    }


def diag_moto_complete(folder: Path, size: int) -> dict[str, Any]:
    """moto's CompleteMultipartUpload for the same parts (8 MiB), COMPOSITE CRC32 (what the
    AWS CLI sends) vs FULL_OBJECT CRC64NVME (what ArchiveWriter sends): only completion timed."""
    from meet_core.archive import s3_client

    home = folder / f"moto-complete-{uuid.uuid4().hex[:6]}"
    home.mkdir()
    moto = MotoServer(home)
    part_size, block = 8 * MiB, os.urandom(8 * MiB)
    out: dict[str, Any] = {"mode": "moto complete: composite CRC32 / full-object CRC64NVME"}
    try:
        client = s3_client(moto.endpoint, read_timeout=READ_TIMEOUT_S)
        for algorithm, kind in (("CRC32", "COMPOSITE"), ("CRC64NVME", "FULL_OBJECT")):
            key = f"{BASELINE_KEY_PREFIX}/complete-{algorithm}-{uuid.uuid4().hex}"
            upload = client.create_multipart_upload(
                Bucket=BUCKET, Key=key, ChecksumAlgorithm=algorithm, ChecksumType=kind
            )["UploadId"]
            parts = []
            for number in range(1, size // part_size + 1):
                body = number.to_bytes(8, "big") + block[8:]
                answer = client.upload_part(
                    Bucket=BUCKET,
                    Key=key,
                    UploadId=upload,
                    PartNumber=number,
                    Body=body,
                    ChecksumAlgorithm=algorithm,
                )
                parts.append(
                    {
                        "PartNumber": number,
                        "ETag": answer["ETag"],
                        f"Checksum{algorithm}": answer[f"Checksum{algorithm}"],
                    }
                )
            started = time.perf_counter()
            client.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})
            out[f"complete_{algorithm}_s"] = round(time.perf_counter() - started, 2)
        out.update(moto.stats())
    finally:
        moto.stop()
    out["seconds"] = out["complete_CRC64NVME_s"]
    out["mib_s"] = round(size / MiB / max(out["seconds"], 1e-3), 1)
    return out


def diag_writer(size: int) -> dict[str, Any]:
    args = argparse.Namespace(size_mib=size // MiB, part_size_mib=8, concurrency=2)
    report = archive_peak_memory.run("writer", args)
    return {
        "mode": "writer upload (generated stream)",
        "seconds": report["seconds"],
        "mib_s": report["throughput_mib_s"],
        "rss_growth_mib": report["peak_rss_growth_mib"],
    }


# -- main ---------------------------------------------------------------------------------


def line(size: int, result: dict[str, Any]) -> str:
    extras = ", ".join(f"{k} {v}" for k, v in result.items() if k not in ("mode", "seconds", "mib_s"))
    return (
        f"{size // MiB:>5} MiB  {result['mode']:<40} {result['seconds']:>7.2f} s "
        f"{result['mib_s']:>7.1f} MiB/s  ({extras})"
    )


def measure_size(size: int, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from meet_sandbox.emulator import EmulatorServer, write_service_account

    key = write_service_account(folder / "sa.json")
    runs: list[dict[str, Any]] = []
    with EmulatorServer("127.0.0.1", 0, service_accounts=[key]) as emulator:
        base_env = {
            "MEET_HOME": str(folder),
            "MEET_GOOGLE_ENDPOINT": emulator.base_url,
            "GOOGLE_APPLICATION_CREDENTIALS": str(key),
            "MEET_GOOGLE_SUBJECT": ORGANIZER,
            "MEET_S3_BUCKET": BUCKET,
            "MEET_OBJECT_LOCK_MODE": "GOVERNANCE",
            "MEET_RETENTION_DAYS": "1",
        }
        for _ in range(args.repeat):
            pipeline = run_pipeline(base_env, folder, size, emulator.base_url)
            # the baseline moves the very recording the pipeline just archived
            file_id = pipeline.pop("file_id")
            baseline = run_baseline(base_env, folder, size, file_id)
            for result in (baseline, pipeline):
                print(line(size, result), flush=True)
                runs.append(result)
        diagnostics: list[dict[str, Any]] = []
        if args.diagnostics:
            for probe in (
                lambda: diag_emulator(base_env, size, file_id),
                lambda: diag_gateway(base_env, size, file_id),
                lambda: diag_moto_aws(folder, size),
                lambda: diag_moto_complete(folder, size),
                lambda: diag_writer(size),
            ):
                result = probe()
                print(line(size, result), flush=True)
                diagnostics.append(result)
    best = {mode: max(r["mib_s"] for r in runs if r["mode"] == mode) for mode in ("pipeline", "baseline")}
    ratios = [
        p["mib_s"] / b["mib_s"]
        for p, b in zip(
            [r for r in runs if r["mode"] == "pipeline"],
            [r for r in runs if r["mode"] == "baseline"],
            strict=True,
        )
    ]
    summary = {
        "size_mib": size // MiB,
        "runs": runs,
        "diagnostics": diagnostics,
        "throughput_ratio_pipeline_vs_baseline": [round(r, 2) for r in ratios],
        "best_mib_s": best,
        "pipeline_mib_s_without_moto_complete": [
            r["mib_s_without_moto_complete"] for r in runs if r["mode"] == "pipeline"
        ],
        "pipeline_peak_rss_mib": max(r["peak_rss_mib"] for r in runs if r["mode"] == "pipeline"),
    }
    print(
        f"{size // MiB:>5} MiB  throughput ratio pipeline / baseline: "
        f"{', '.join(f'{r:.2f}' for r in ratios)}; archiving process peak RSS "
        f"{summary['pipeline_peak_rss_mib']} MiB",
        flush=True,
    )
    return summary


# moto's FULL_OBJECT CompleteMultipartUpload holds the object ~4.4 times (measured at 1 GiB).
MOTO_MEMORY_FACTOR = 4.6


def mem_available_mib() -> int:
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    return 0


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "child":
        print(json.dumps(child(sys.argv[2])))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes-mib", type=int, nargs="+", default=None)
    parser.add_argument("--full", action="store_true", help="1 GiB and 4 GiB (issue 8)")
    parser.add_argument("--repeat", type=int, default=1, help="pipeline/baseline pairs per size")
    parser.add_argument("--no-diagnostics", dest="diagnostics", action="store_false")
    parser.add_argument(
        "--part-concurrency",
        type=int,
        default=None,
        help="what-if: parts in flight per transfer for the pipeline run (product default: 2)",
    )
    parser.add_argument(
        "--part-size-mib",
        type=int,
        default=None,
        help="what-if: part size (and Drive chunk size) for the pipeline run (product default: 8)",
    )
    args = parser.parse_args()
    if args.part_concurrency:
        PART_CONCURRENCY["BENCH_PART_CONCURRENCY"] = str(args.part_concurrency)
    if args.part_size_mib:
        PART_CONCURRENCY["BENCH_PART_SIZE_MIB"] = str(args.part_size_mib)
    sizes = args.sizes_mib or ([1024, 4096] if args.full else [1024])
    print(f"AWS CLI: {subprocess.run([aws_cli(), '--version'], capture_output=True, text=True).stdout.strip()}")
    summaries = []
    for size_mib in sizes:
        available = mem_available_mib()
        if available < MOTO_MEMORY_FACTOR * size_mib + 1024:
            print(
                f"{size_mib} MiB skipped: moto needs ~{MOTO_MEMORY_FACTOR} x the object in "
                f"memory for a FULL_OBJECT completion, {available} MiB available",
                flush=True,
            )
            continue
        with tempfile.TemporaryDirectory(prefix="meet-archive-throughput-") as folder:
            summaries.append(measure_size(size_mib * MiB, args, Path(folder)))
    print(json.dumps({"sizes": summaries}))


if __name__ == "__main__":
    main()
