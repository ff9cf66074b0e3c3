"""`meet-archive api` with nothing configured: it refuses to start without Google, and with
`--sandbox` serves on migrated SQLite and an embedded emulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from meet_sandbox.children import free_port

SCRIPT = Path(sys.executable).with_name("meet-archive")


def _bare_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEET_", "GOOGLE_"))}
    env["MEET_HOME"] = str(home)
    return env


def test_api_command_without_google_fails_fast_naming_the_settings(tmp_path: Path) -> None:
    done = subprocess.run([str(SCRIPT), "api", "--port", str(free_port())], env=_bare_env(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "GOOGLE_APPLICATION_CREDENTIALS" in lines[0] and "MEET_GOOGLE_ENDPOINT" in lines[0]
    assert not (tmp_path / "emulator-state.json").exists()  # no emulator was started silently


def test_api_command_with_sandbox_serves_with_embedded_defaults(tmp_path: Path) -> None:
    port = free_port()
    env = _bare_env(tmp_path)
    server = subprocess.Popen(
        [str(SCRIPT), "api", "--sandbox", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        ready = None
        for _ in range(600):  # the first start migrates the database and writes a key file
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/health/ready")
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
                time.sleep(0.1)
        assert ready is not None and ready.status_code == 200 and ready.json()["status"] == "ready"
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/meetings").status_code == 401
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises the signal it caught (exit by SIGTERM).
    assert server.returncode in (0, -signal.SIGTERM)
    assert b"Application shutdown complete" in stderr
    assert b'"logger": "meet_sandbox.google"' in stderr and b"embedded emulator" in stderr
    assert (tmp_path / "meet.db").exists()


def test_api_command_with_workers_shares_the_rate_limit_on_embedded_sqlite(tmp_path: Path) -> None:
    """`--sandbox --workers 2`: the emulator started by the parent is handed down to both
    workers, which count one key together in the one SQLite file (limit 3: 3 of 8 served)."""
    port = free_port()
    env = {**_bare_env(tmp_path), "MEET_API_RATE_LIMIT": "3"}
    server = subprocess.Popen(
        [str(SCRIPT), "api", "--sandbox", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(1200):
            try:
                if httpx.get(f"{base}/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None
            time.sleep(0.1)
        made = subprocess.run([str(SCRIPT), "api-key", "create", "--name", "xoma", "--role", "service"],
                              env=env, capture_output=True, text=True, timeout=60, check=True)
        auth = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
        statuses = []
        for _ in range(8):  # a new connection each, accepted by whichever worker
            with httpx.Client(headers=auth, timeout=30) as client:
                statuses.append(client.get(f"{base}/api/v1/meetings").status_code)
        assert sorted(statuses) == [200] * 3 + [429] * 5 and statuses[:3] == [200] * 3
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    assert stderr.count(b"Started server process") == 2, stderr[-2000:]
    assert stderr.count(b"Application startup complete") == 2


def test_api_command_refuses_a_bad_worker_count(tmp_path: Path) -> None:
    for bad in ("0", "-1", "two", "65", ""):
        done = subprocess.run([str(SCRIPT), "api", "--workers", bad, "--port", str(free_port())],
                              env=_bare_env(tmp_path), capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, (bad, done.stderr)
        assert "--workers" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "meet.db").exists()  # nothing migrated, nothing served


def test_api_command_with_workers_reports_a_configuration_error_once(tmp_path: Path) -> None:
    """Checked before any worker starts: one line, exit 2 (not workers dying in a loop)."""
    env = {**_bare_env(tmp_path), "MEET_API_RATE_LIMIT": "sixty"}
    done = subprocess.run(
        [str(SCRIPT), "api", "--sandbox", "--port", str(free_port()), "--workers", "2"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "configuration error: MEET_API_RATE_LIMIT" in done.stderr
    assert "Started server process" not in done.stderr and "Traceback" not in done.stderr
