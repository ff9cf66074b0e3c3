"""Fixtures: a fresh emulator per test on a free loopback port that trusts the run's
``key_file`` (tests/fixtures/google.py; token_uri is set per server), and real Google
clients for it."""

from __future__ import annotations

import functools
import http.client
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httplib2
import pytest
from google.auth import crypt
from google.oauth2 import service_account
from google_auth_httplib2 import Request as HttpRequest
from googleapiclient.discovery import Resource, build

from meet_sandbox.emulator import EmulatorServer, SandboxClient

ORGANIZER = "organizer@example.com"
CALENDAR_EVENTS = "https://www.googleapis.com/auth/calendar.events"
SPACE_CREATED = "https://www.googleapis.com/auth/meetings.space.created"
SPACE_SETTINGS = "https://www.googleapis.com/auth/meetings.space.settings"
SPACE_READONLY = "https://www.googleapis.com/auth/meetings.space.readonly"
DRIVE_READONLY = "https://www.googleapis.com/auth/drive.readonly"
ALL_SCOPES = [CALENDAR_EVENTS, SPACE_CREATED, SPACE_SETTINGS, SPACE_READONLY, DRIVE_READONLY]


@pytest.fixture
def token(key_file: Path, server: EmulatorServer) -> str:
    return token_for(key_file, server.base_url)


@pytest.fixture
def server(key_file: Path, tmp_path: Path) -> Iterator[EmulatorServer]:
    with EmulatorServer(
        state_file=tmp_path / "state.json", service_accounts=[key_file]
    ) as emulator:
        yield emulator


@pytest.fixture
def sandbox(server: EmulatorServer) -> SandboxClient:
    return SandboxClient(server.base_url)


@dataclass
class Google:
    calendar: Resource
    meet: Resource
    drive: Resource


@functools.cache
def _signer(key_text: str) -> crypt.RSASigner:
    # Loading an RSA key costs ~0.1 s; tests share one signer per key file.
    return crypt.RSASigner.from_service_account_info(json.loads(key_text))


def credentials(key_file: Path, base_url: str, scopes: list[str], subject: str = ORGANIZER) -> Any:
    """Service-account credentials as google-auth makes them, with the emulator's token URI."""
    text = key_file.read_text()
    info = json.loads(text)
    return service_account.Credentials(
        _signer(text),
        service_account_email=info["client_email"],
        token_uri=base_url + "/token",  # the key file of a real deployment names Google's
        scopes=scopes,
        subject=subject,
        project_id=info["project_id"],
    )


def clients(
    key_file: Path, base_url: str, scopes: list[str] = ALL_SCOPES, subject: str = ORGANIZER
) -> Google:
    creds = credentials(key_file, base_url, scopes, subject)

    def make(api: str, version: str, endpoint: str) -> Resource:
        return build(
            api,
            version,
            credentials=creds,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": endpoint},
        )

    return Google(
        calendar=make("calendar", "v3", base_url + "/calendar/v3/"),
        meet=make("meet", "v2", base_url + "/"),
        drive=make("drive", "v3", base_url + "/drive/v3/"),
    )


@pytest.fixture
def google(key_file: Path, server: EmulatorServer) -> Google:
    return clients(key_file, server.base_url)


@pytest.fixture
def make_clients(key_file: Path, server: EmulatorServer) -> Callable[..., Google]:
    def factory(scopes: list[str] = ALL_SCOPES, subject: str = ORGANIZER) -> Google:
        return clients(key_file, server.base_url, scopes, subject)

    return factory


@dataclass
class Raw:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(
    base_url: str,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Raw:
    """One request over a fresh http.client connection: exactly what went over the wire."""
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Raw(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()


def token_for(
    key_file: Path, base_url: str, scopes: list[str] = ALL_SCOPES, subject: str = ORGANIZER
) -> str:
    creds = credentials(key_file, base_url, scopes, subject)
    creds.refresh(HttpRequest(httplib2.Http()))
    return str(creds.token)


def create_space(
    google: Google, recording: str = "ON", transcription: str = "OFF"
) -> dict[str, Any]:
    body = {
        "config": {
            "accessType": "TRUSTED",
            "artifactConfig": {
                "recordingConfig": {"autoRecordingGeneration": recording},
                "transcriptionConfig": {"autoTranscriptionGeneration": transcription},
            },
        }
    }
    return dict(google.meet.spaces().create(body=body).execute())
