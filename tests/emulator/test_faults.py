"""Every fault kind, seen on the wire with a raw client; and how rules pick their victims."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import httplib2
import pytest
from googleapiclient.errors import HttpError

from meet_sandbox.emulator import EmulatorServer, SandboxClient, SandboxError

from .conftest import Google, create_space, raw_request, token_for

START_TOKEN = "/drive/v3/changes/startPageToken"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("path", "api"),
    [
        (START_TOKEN, "drive"),
        ("/calendar/v3/calendars/primary/events", "calendar"),
        ("/v2/conferenceRecords", "meet"),
    ],
)
def test_429_carries_retry_after(
    server: EmulatorServer, sandbox: SandboxClient, token: str, path: str, api: str
) -> None:
    sandbox.faults(kinds=["429"], count=1, apis=[api], retry_after=2)
    raw = raw_request(server.base_url, "GET", path, headers=_auth(token))
    assert raw.status == 429 and raw.headers["retry-after"] == "2"
    error = raw.json()["error"]
    assert error["code"] == 429
    assert (
        error["status"] == "RESOURCE_EXHAUSTED"
        if api == "meet"
        else error["errors"][0]["reason"] == "rateLimitExceeded"
    )
    assert (
        raw_request(server.base_url, "GET", path, headers=_auth(token)).status == 200
    )  # count=1: spent


def test_500_and_503(server: EmulatorServer, sandbox: SandboxClient, token: str) -> None:
    sandbox.faults(kinds=["500", "503"], count=2)
    first = raw_request(server.base_url, "GET", START_TOKEN, headers=_auth(token))
    assert first.status == 500 and first.json()["error"]["errors"][0]["reason"] == "backendError"
    second = raw_request(server.base_url, "GET", START_TOKEN, headers=_auth(token))
    assert second.status == 503 and second.headers["content-type"].startswith("text/html")
    with pytest.raises(ValueError):
        json.loads(second.body)


@pytest.mark.parametrize("reason", ["rateLimitExceeded", "userRateLimitExceeded"])
def test_403_rate_limit_reasons(
    server: EmulatorServer, sandbox: SandboxClient, token: str, reason: str
) -> None:
    sandbox.faults(kinds=["403_rate"], count=2, rate_reason=reason)
    for path in (START_TOKEN, "/v2/conferenceRecords"):
        raw = raw_request(server.base_url, "GET", path, headers=_auth(token))
        assert raw.status == 403 and raw.json()["error"]["errors"][0]["reason"] == reason


def test_reset_closes_with_rst(server: EmulatorServer, sandbox: SandboxClient, token: str) -> None:
    sandbox.faults(kinds=["reset"], count=1, methods=["changes.getStartPageToken"])
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)) as caught:
        raw_request(server.base_url, "GET", START_TOKEN, headers=_auth(token))
    assert isinstance(caught.value, ConnectionResetError)  # RST, not an orderly close
    log = sandbox.requests()
    assert log[-1]["fault"] == "reset" and log[-1]["status"] is None


def test_slow_answers_normally(server: EmulatorServer, sandbox: SandboxClient, token: str) -> None:
    sandbox.faults(kinds=["slow"], count=1, slow_seconds=0.2)
    raw = raw_request(server.base_url, "GET", START_TOKEN, headers=_auth(token))
    assert raw.status == 200 and raw.json()["startPageToken"] == "1"
    assert sandbox.requests()[-1]["fault"] == "slow"


def test_truncate_cuts_a_media_download(
    server: EmulatorServer, sandbox: SandboxClient, google: Google, token: str
) -> None:
    space = create_space(google)
    sandbox.join(space["meetingCode"], "colleague@example.com", recording_size_bytes=100_000)
    sandbox.end_conference(space["meetingCode"])
    sandbox.advance(3600)
    record = google.meet.conferenceRecords().list().execute()["conferenceRecords"][0]["name"]
    file_id = (
        google.meet.conferenceRecords()
        .recordings()
        .list(parent=record)
        .execute()["recordings"][0]["driveDestination"]["file"]
    )
    sandbox.faults(kinds=["truncate"], count=1, methods=["drive.files.get"], truncate_fraction=0.25)
    host, port = server.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", f"/drive/v3/files/{file_id}?alt=media", headers=_auth(token))
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Content-Length") == "100000"
    with pytest.raises(http.client.IncompleteRead) as caught:
        response.read()
    assert len(caught.value.partial) == 25_000
    connection.close()
    assert (
        len(google.drive.files().get_media(fileId=file_id).execute()) == 100_000
    )  # next one is whole


def test_token_endpoint_faults(
    server: EmulatorServer, sandbox: SandboxClient, key_file: Path
) -> None:
    sandbox.faults(kinds=["429", "500"], apis=["token"], count=2)
    form = b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=x"
    first = raw_request(server.base_url, "POST", "/token", body=form)
    assert first.status == 429 and first.headers["retry-after"] == "1" and first.json()["error"]
    second = raw_request(server.base_url, "POST", "/token", body=form)
    assert second.status == 500 and second.json()["error"] == "internal_failure"
    assert token_for(key_file, server.base_url)  # rule spent: the real flow works again


def test_random_rules_are_reproducible_with_a_seed(
    server: EmulatorServer, sandbox: SandboxClient, token: str
) -> None:
    def run() -> list[int]:
        sandbox.clear_faults()
        sandbox.faults(rate=0.5, kinds=["500", "429"], seed=7, apis=["drive"])
        return [
            raw_request(server.base_url, "GET", START_TOKEN, headers=_auth(token)).status
            for _ in range(20)
        ]

    first = run()
    assert first == run()
    assert 200 in first and set(first) - {200}


def test_fail_everything_then_clear(
    server: EmulatorServer, sandbox: SandboxClient, google: Google
) -> None:
    google.drive.changes().getStartPageToken().execute()  # fetch the access token first
    sandbox.faults(kinds=["500"])
    for _ in range(3):
        with pytest.raises(HttpError) as caught:
            google.drive.changes().getStartPageToken().execute(num_retries=0)
        assert caught.value.resp.status == 500
    # The sandbox's own API is never faulted.
    assert raw_request(server.base_url, "POST", "/token", body=b"grant_type=x").status == 500
    assert sandbox.call("GET", "faults")["rules"][0]["fired"] == 4
    sandbox.clear_faults()
    assert google.drive.changes().getStartPageToken().execute()["startPageToken"] == "1"


def test_method_filter_spares_other_methods(
    server: EmulatorServer, sandbox: SandboxClient, token: str
) -> None:
    sandbox.faults(kinds=["500"], methods=["meet.conferenceRecords.list"])
    assert raw_request(server.base_url, "GET", START_TOKEN, headers=_auth(token)).status == 200
    assert (
        raw_request(server.base_url, "GET", "/v2/conferenceRecords", headers=_auth(token)).status
        == 500
    )


@pytest.mark.parametrize(
    "spec",
    [
        {"kinds": ["explode"]},
        {"kinds": "500"},
        {"rate": 2},
        {"rate": 0.5, "apis": ["mail"]},
        {"count": 0},
        {"seed": "x", "rate": 0.1},
        {"mystery": True},
    ],
)
def test_bad_fault_specs_are_refused(sandbox: SandboxClient, spec: dict) -> None:
    with pytest.raises(SandboxError) as caught:
        sandbox.faults(**spec)
    assert caught.value.status == 400
    assert sandbox.call("GET", "faults")["rules"] == []


def test_http_keepalive_connection_survives_normal_requests(
    server: EmulatorServer, token: str
) -> None:
    http = httplib2.Http()
    for _ in range(3):
        response, body = http.request(server.base_url + START_TOKEN, headers=_auth(token))
        assert response.status == 200 and json.loads(body)["kind"] == "drive#startPageToken"
