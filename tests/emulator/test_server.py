"""The server as a process and under concurrent load."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import httplib2

from meet_sandbox.emulator import EmulatorServer, SandboxClient

from .conftest import clients


def test_concurrent_clients_each_with_their_own_http(
    server: EmulatorServer, key_file: Path
) -> None:
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            google = clients(key_file, server.base_url)  # one httplib2.Http per thread
            for item in range(10):
                event_id = f"c{number:02d}v{item:03d}"  # base32hex
                body = {
                    "id": event_id,
                    "start": {"date": "2030-01-01"},
                    "end": {"date": "2030-01-02"},
                }
                google.calendar.events().insert(calendarId="primary", body=body).execute()
        except BaseException as exc:  # reported below, with the thread's failure
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(SandboxClient(server.base_url).state()["events"]) == 60


def test_command_line_serves_until_stopped(tmp_path: Path, key_file: Path) -> None:
    state = tmp_path / "cli-state.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "meet_sandbox.emulator",
            "--port",
            "0",
            "--state",
            str(state),
            "--service-account",
            str(key_file),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        base_url = line.split(" on ", 1)[1].split()[0]
        response, body = httplib2.Http(timeout=10).request(base_url + "/_emulator/service_accounts")
        assert response.status == 200
        assert json.loads(body)["service_accounts"] == [
            json.loads(key_file.read_text())["client_email"]
        ]
    finally:
        process.terminate()
        returncode = process.wait(timeout=60)  # generous: CI's machine is loaded
    assert returncode == 0  # stopped by its SIGTERM handler, not killed by the signal
    assert json.loads(state.read_text())["service_accounts"]


def test_stop_ends_keepalive_connections(key_file: Path) -> None:
    server = EmulatorServer(service_accounts=[key_file]).start()
    http = httplib2.Http(timeout=5)
    url = server.base_url + "/_emulator/clock"
    assert http.request(url)[0].status == 200  # leaves a kept-alive connection open
    server.stop()
    try:
        response, _ = http.request(url)
        answered = response.status
    except (OSError, httplib2.HttpLib2Error):
        answered = None
    assert answered is None
