"""Keys, secrets and tokens never appear in logs.

Three processes are run and every byte they write is kept: the whole demo story through
the API and the pipeline with logging at DEBUG for every logger and Google faults of every
kind (``tests/hardening/log_scenario.py``), ``meet-archive api-key create``, and a
``meet-archive api`` server that is sent good, wrong, revoked and misplaced keys while
Google fails. Then every API key (and each wrong or revoked one a client presented), the
service account's private key, every OAuth access token the emulator issued (and the first
half of each, as a cut response would show it) and the webhook secret are searched for in:
those outputs, the Dagster instance on disk (event logs, run storage, compute logs), the
database file (audit trail, outbox, keys table), and what the webhook receiver was sent.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from meet_sandbox.children import free_port
from meet_sandbox.demo.headless import DEMO_PIPELINE_ENV
from meet_sandbox.emulator import EmulatorServer, SandboxClient
from meet_sandbox.s3 import EmbeddedS3
from tests.compliance.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("meet-archive"))
# Where the DEBUG logs of urllib3, httpcore, google-auth and googleapiclient name a host.
CONNECTIONS = re.compile(
    rb"Starting new HTTPS? connection \(\d+\): ([^:\s]+)"
    rb"|connect_tcp\.started host='([^']+)'"
    rb"|(?:Making request|URL being requested): [A-Z]+ https?://([^/:\s]+)"
)

pytestmark = pytest.mark.slow


def _private_key_lines(key_file: Path) -> list[str]:
    pem = json.loads(key_file.read_text())["private_key"]
    return [line for line in pem.splitlines() if len(line) >= 40 and "PRIVATE KEY" not in line]


def _serve_api(env: dict[str, str], out: Path, people: SandboxClient, key: str) -> None:
    """``meet-archive api`` as an operator runs it, and a client that gets things wrong."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (out / "api.stdout").open("wb") as stdout, (out / "api.stderr").open("wb") as stderr:
        server = subprocess.Popen([CLI, "api", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=stdout, stderr=stderr)
        try:
            for _ in range(600):
                try:
                    httpx.get(f"{base}/health/live")
                    break
                except httpx.TransportError:
                    assert server.poll() is None, (out / "api.stderr").read_text()
                    time.sleep(0.1)
            good = {"Authorization": f"Bearer {key}"}
            start = "2030-01-07T10:00:00+01:00"
            body = {"external_id": "LOG-1", "title": "Logs", "start_time": start,
                    "end_time": "2030-01-07T11:00:00+01:00",
                    "participants": [{"email": "alice@example.org"}]}
            people.faults(kinds=["truncate", "500", "reset"], apis=["token"], count=3)
            people.faults(kinds=["429", "500", "503", "403_rate", "reset", "slow", "truncate"],
                          rate=0.3, seed=4, retry_after=0, slow_seconds=0.2)
            created = httpx.post(f"{base}/api/v1/meetings", json=body, headers=good, timeout=120)
            assert created.status_code in (201, 202), created.text
            people.clear_faults()
            people.faults(kinds=["503"], apis=["calendar", "meet"])
            outage = httpx.post(f"{base}/api/v1/meetings", json={**body, "external_id": "LOG-2"},
                                headers=good, timeout=120)
            assert outage.status_code == 202, outage.text
            people.clear_faults()
            meeting = httpx.get(f"{base}/api/v1/meetings/{created.json()['id']}", headers=good).json()
            httpx.patch(f"{base}/api/v1/meetings/{meeting['id']}", json={"title": "x"},
                        headers={**good, "If-Match": f'"{meeting["version"]}"'}, timeout=120)
            for bad in (key[:-3] + "abc", key + "x", "Basic " + key, key.upper()):
                httpx.get(f"{base}/api/v1/meetings", headers={"Authorization": f"Bearer {bad}"})
            httpx.get(f"{base}/api/v1/meetings?api_key={key}")
            httpx.get(f"{base}/api/v1/meetings", headers={"X-Api-Key": key})
            httpx.get(f"{base}/api/v1/nowhere", headers=good)
            httpx.post(f"{base}/api/v1/meetings", content=b'{"external_id": ' + key.encode(),
                       headers={**good, "Content-Type": "application/json"})
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)


def test_no_key_secret_or_token_in_any_log(tmp_path: Path, s3_server: EmbeddedS3, bucket: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    webhook_secret = "whsec-" + secrets.token_urlsafe(32)
    with (
        EmulatorServer("127.0.0.1", 0, organizer_domain="example.com") as emulator,
        Receiver(answer=lambda n: 500 if n <= 2 else 200) as receiver,
    ):
        key_file = emulator.create_service_account(tmp_path / "sa.json")
        database = tmp_path / "meet.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MEET_", "GOOGLE_"))}
        env.update(DEMO_PIPELINE_ENV)
        env.update({
            "PYTHONUNBUFFERED": "1",
            "MEET_HOME": str(tmp_path / "home"),
            "MEET_DATABASE_URL": f"sqlite:///{database}",
            "MEET_GOOGLE_ENDPOINT": emulator.base_url,
            "GOOGLE_APPLICATION_CREDENTIALS": str(key_file),
            "MEET_GOOGLE_SUBJECT": "organizer@example.com",
            "MEET_S3_ENDPOINT_URL": s3_server.endpoint_url,
            "MEET_S3_BUCKET": bucket,
            "MEET_WEBHOOK_URL": receiver.url,
            "MEET_WEBHOOK_SECRET": webhook_secret,
            "MEET_WEBHOOK_BACKOFF_SECONDS": "1",
            "MEET_GOOGLE_DEADLINE_SECONDS": "3",  # an outage is answered in seconds
        })
        with (out / "scenario.stdout").open("wb") as stdout, \
                (out / "scenario.stderr").open("wb") as stderr:
            done = subprocess.run(
                [sys.executable, "-m", "tests.hardening.log_scenario", str(out)],
                cwd=ROOT, env=env, stdout=stdout, stderr=stderr, timeout=900,
            )
        assert done.returncode == 0, (out / "scenario.stderr").read_text()[-5000:]
        assert b"log scenario done" in (out / "scenario.stdout").read_bytes()

        cli = subprocess.run([CLI, "api-key", "create", "--name", "log-cli", "--role", "service"],
                             env=env, capture_output=True, timeout=300)
        assert cli.returncode == 0, cli.stderr
        cli_lines = cli.stdout.decode().strip().splitlines()
        cli_key = cli_lines[-1].strip()
        assert cli_key.startswith("mka_")  # the one place a key is printed, by design
        (out / "cli.output").write_text("\n".join(cli_lines[:-1]) + cli.stderr.decode())

        people = SandboxClient(emulator.base_url)
        _serve_api(env, out, people, cli_key)
        with emulator.emulator.store.lock:
            tokens = list(emulator.emulator.store.state["tokens"])
        sent = [(json.dumps(r.headers) + r.body).encode() for r in receiver.received]

    made = json.loads((out / "secrets.json").read_text())
    secret_values: dict[str, list[str]] = {
        "API key": [*made["api_keys"], cli_key],
        "API key a client presented": made["presented"],
        "service account private key": _private_key_lines(key_file),
        "OAuth access token": tokens + [t[: len("ya29.emu.") + 20] for t in tokens],
        "webhook secret": [webhook_secret],
    }
    assert len(secret_values["OAuth access token"]) >= 6, "too few tokens were issued to search for"
    assert receiver.received, "no webhook was delivered: the secret was never used"

    blobs: dict[str, bytes] = {
        name: (out / name).read_bytes()
        for name in ("scenario.stdout", "scenario.stderr", "api.stdout", "api.stderr", "cli.output")
    }
    assert len(blobs["scenario.stderr"]) > 100_000  # DEBUG logs of the whole story
    assert b'"logger"' in blobs["api.stderr"]  # the API's JSON log lines
    for path in sorted((out / "dagster").rglob("*")):
        if path.is_file():
            blobs[str(path.relative_to(out))] = path.read_bytes()
    for path in sorted(tmp_path.glob("meet.db*")):
        blobs[path.name] = path.read_bytes()
    blobs["webhook requests"] = b"\n".join(sent)

    leaks = [
        f"{kind} {value[:12]}… in {source}"
        for kind, values in secret_values.items()
        for value in values
        for source, blob in blobs.items()
        if value.encode() in blob
    ]
    assert not leaks, "\n".join(leaks)

    # And the whole story talked to loopback only.
    hosts = {
        next(h for h in match.groups() if h).decode()
        for match in CONNECTIONS.finditer(blobs["scenario.stderr"])
    }
    assert hosts and hosts <= {"127.0.0.1", "localhost"}, hosts
