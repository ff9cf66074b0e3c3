"""Commands run beside the demo with the same MEET_HOME find its embedded services: the
demo records their endpoints under MEET_HOME while they run, and removes the record when
they stop."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from meet_core.settings import ENDPOINTS_FILE, Settings, read_endpoints, write_endpoints
from meet_sandbox.demo.stack import start_stack


def _outer_env() -> dict[str, str]:
    """This process's environment without anything that names a database, Google or S3."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("MEET_", "GOOGLE_", "AWS_"))}


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meet_cli.main", *args], env={**_outer_env(), **env},
                          capture_output=True, text=True, timeout=180)


def test_audit_verify_beside_the_embedded_services_reaches_them(tmp_path: Path) -> None:
    env = {"MEET_HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true"}
    stack = start_stack({**_outer_env(), **env})
    try:
        recorded = read_endpoints(tmp_path)
        assert recorded["MEET_S3_ENDPOINT_URL"] == stack.env["MEET_S3_ENDPOINT_URL"]
        assert recorded["MEET_GOOGLE_ENDPOINT"] == stack.emulator_url
        assert Settings.from_env(env).s3_endpoint_url == stack.env["MEET_S3_ENDPOINT_URL"]
        assert _cli(["db", "upgrade"], env).returncode == 0
        verified = _cli(["audit", "verify", "--all"], env)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "VERIFIED" in verified.stdout and "credentials" not in verified.stdout + verified.stderr
    finally:
        stack.close()
    assert not (tmp_path / ENDPOINTS_FILE).exists()
    # Nothing runs any more: the same command is a configuration error, not a finding.
    assert Settings.from_env(env).s3_endpoint_url is None


def test_the_environment_wins_over_the_record_and_garbage_lines_are_ignored(tmp_path: Path) -> None:
    write_endpoints(tmp_path, {"MEET_S3_ENDPOINT_URL": "http://127.0.0.1:1", "MEET_DATABASE_URL": "x"})
    (tmp_path / ENDPOINTS_FILE).write_text((tmp_path / ENDPOINTS_FILE).read_text() + "junk\nMEET_HOME=/x\n")
    assert read_endpoints(tmp_path) == {"MEET_S3_ENDPOINT_URL": "http://127.0.0.1:1"}
    home = {"MEET_HOME": str(tmp_path)}
    assert Settings.from_env(home).s3_endpoint_url == "http://127.0.0.1:1"
    assert Settings.from_env({**home, "MEET_S3_ENDPOINT_URL": "http://127.0.0.1:2"}).s3_endpoint_url == (
        "http://127.0.0.1:2"
    )


def test_a_stale_record_does_not_stop_the_demo_starting_its_own(tmp_path: Path) -> None:
    write_endpoints(tmp_path, {"MEET_S3_ENDPOINT_URL": "http://127.0.0.1:1", "MEET_GOOGLE_ENDPOINT": "http://127.0.0.1:1"})
    stack = start_stack({**_outer_env(), "MEET_HOME": str(tmp_path)})
    try:
        assert stack.env["MEET_S3_ENDPOINT_URL"] != "http://127.0.0.1:1"
        assert read_endpoints(tmp_path)["MEET_S3_ENDPOINT_URL"] == stack.env["MEET_S3_ENDPOINT_URL"]
    finally:
        stack.close()
