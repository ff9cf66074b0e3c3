"""Property-based run of schemathesis over the API's own OpenAPI document.

Starts everything on loopback (a fresh SQLite database or $MEET_DATABASE_URL, the Google
emulator, an embedded S3 server, the API under uvicorn), creates an admin key (admin may call
every route), then runs ``st run`` against /schema/openapi.json with that key and exits with
its exit code. Anything after ``--`` goes to ``st run``, e.g.::

    .venv/bin/python bench/schemathesis_api.py -- --max-examples 50 --checks all
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from meet_api.app import create_app
from meet_api.config import ApiConfig
from meet_api.server import BackgroundServer
from meet_core.apikeys import create_key
from meet_core.db import make_engine, make_session_factory
from meet_core.db.migrate import upgrade
from meet_core.google.gateway import GoogleGateway
from meet_core.google.retry import RetryPolicy
from meet_core.settings import Settings
from meet_sandbox.emulator import EmulatorServer
from meet_sandbox.s3.embedded import EmbeddedS3

DEFAULT_CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance"
)


def _seed_meeting(base_url: str, key: str) -> str:
    start = datetime.now(UTC) + timedelta(days=1)
    response = httpx.post(
        f"{base_url}/api/v1/meetings",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "external_id": "schemathesis-seed",
            "title": "Seed",
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(hours=1)).isoformat(),
            "participants": [{"email": "seed@example.org"}],
        },
        timeout=60,
    )
    response.raise_for_status()
    return str(response.json()["id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", default="admin", choices=["admin", "service", "auditor"])
    parser.add_argument("st_args", nargs=argparse.REMAINDER, help="arguments for `st run` after --")
    args = parser.parse_args(argv)
    st_args = [a for a in args.st_args if a != "--"]
    if not any(a.startswith(("--checks", "-c")) for a in st_args):
        st_args += ["--checks", DEFAULT_CHECKS]

    home = Path(tempfile.mkdtemp(prefix="meet-schemathesis-"))
    url = os.environ.get("MEET_DATABASE_URL") or f"sqlite:///{home / 'meet.db'}"
    upgrade(url)
    with EmulatorServer() as emulator, EmbeddedS3() as s3:
        credentials = emulator.create_service_account(home / "service-account.json")
        settings = Settings.from_env(
            {
                "MEET_HOME": str(home),
                "MEET_DATABASE_URL": url,
                "MEET_GOOGLE_ENDPOINT": emulator.base_url,
                "GOOGLE_APPLICATION_CREDENTIALS": str(credentials),
                "MEET_S3_ENDPOINT_URL": s3.endpoint_url,
            }
        )
        engine = make_engine(url)
        with make_session_factory(engine).begin() as session:
            key = create_key(
                session, name="schemathesis", role=args.role, client="schemathesis"
            ).plaintext
        engine.dispose()
        gateway = GoogleGateway(
            settings, deadline=2.0, retry_policy=RetryPolicy(base=0.02, cap=0.2)
        )
        app = create_app(
            settings, gateway=gateway, config=ApiConfig(rate_limit_per_minute=1_000_000)
        )
        with BackgroundServer(app) as server:
            # One real meeting, so that the {meeting_id} routes get past 404 (schemathesis
            # cannot guess UUIDs); its id is fed to them through a config file.
            meeting_id = _seed_meeting(server.base_url, key)
            config = home / "schemathesis.toml"
            config.write_text(f'[parameters]\n"path.meeting_id" = "{meeting_id}"\n')
            command = [
                str(Path(sys.executable).with_name("st")),
                "--config-file",
                str(config),
                "run",
                f"{server.base_url}/schema/openapi.json",
                "--header",
                f"Authorization: Bearer {key}",
                *st_args,
            ]
            print(
                "$ st run",
                f"{server.base_url}/schema/openapi.json",
                "-H 'Authorization: Bearer …'",
                *st_args,
                flush=True,
            )
            return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
