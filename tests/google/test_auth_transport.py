"""Credentials, scopes, endpoints, per-thread clients and the attempt counter."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from meet_core.google import SCOPES, CallCounter, GoogleGateway
from meet_core.google.auth import API_SCOPES, load_service_account
from meet_core.google.transport import APIS, SELF
from meet_core.settings import Settings
from meet_sandbox.emulator import SandboxClient
from tests.google.conftest import ORGANIZER, api_requests

ROOT = Path(__file__).resolve().parents[2]


def discovery_scopes() -> set[str]:
    import googleapiclient

    folder = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
    scopes: set[str] = set()
    for name in ("calendar.v3", "meet.v2", "drive.v3", "people.v1", "admin.directory_v1"):
        scopes |= set(json.loads((folder / f"{name}.json").read_text())["auth"]["oauth2"]["scopes"])
    return scopes


def test_scopes_are_least_privilege_real_and_documented() -> None:
    short = {s.rsplit("/", 1)[1] for s in SCOPES}
    assert short == {
        "calendar.events",
        "meetings.space.created",
        "meetings.space.settings",
        "meetings.space.readonly",
        "drive.meet.readonly",
        "directory.readonly",
        "contacts.other.readonly",
        "admin.directory.user.readonly",
    }
    assert set(SCOPES) <= discovery_scopes()
    doc = (ROOT / "docs" / "google.md").read_text()
    assert all(f"| `{s}` |" in doc for s in short)


def test_endpoint_moves_every_api_and_the_token_uri(settings: Settings) -> None:
    gateway = GoogleGateway.from_settings(settings)
    base = settings.google_endpoint
    assert load_service_account(settings)._token_uri == f"{base}/token"
    assert gateway._service("calendar", ORGANIZER)._baseUrl == f"{base}/calendar/v3/"
    assert gateway._service("drive", ORGANIZER)._baseUrl == f"{base}/drive/v3/"
    assert gateway._service("meet", ORGANIZER)._baseUrl == f"{base}/"


def test_without_endpoint_google_is_used(settings: Settings, key_file: Path) -> None:
    production = replace(settings, google_endpoint=None)
    gateway = GoogleGateway.from_settings(production)  # builds clients, calls nothing
    assert (
        load_service_account(production)._token_uri == json.loads(key_file.read_text())["token_uri"]
    )
    assert (
        gateway._service("calendar", ORGANIZER)._baseUrl
        == "https://www.googleapis.com/calendar/v3/"
    )
    assert gateway._service("drive", ORGANIZER)._baseUrl == "https://www.googleapis.com/drive/v3/"
    assert gateway._service("meet", ORGANIZER)._baseUrl == "https://meet.googleapis.com/"


def test_one_token_per_subject_shared_by_threads(
    gateway: GoogleGateway, sandbox: SandboxClient
) -> None:
    space = gateway.create_space()
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _: gateway.get_space(space.name), range(30)))
        list(
            pool.map(lambda n: gateway.create_space(subject=f"user{n % 2}@example.com"), range(10))
        )
    tokens = [r for r in sandbox.requests() if r["api"] == "token"]
    # Threads may race for the first token of a subject; never more than one per thread.
    assert 3 <= len(tokens) <= 3 * 6
    assert gateway.calls.total == len(api_requests(sandbox)) == 41


def test_clients_are_per_thread_and_per_subject(gateway: GoogleGateway) -> None:
    pool = gateway._pool
    mine = pool.http("meet", ORGANIZER)
    assert pool.http("meet", ORGANIZER) is mine and pool.http("meet", "other@example.com") is not mine
    assert pool.http("calendar", ORGANIZER) is not mine  # another API: another token
    assert pool.service("meet", ORGANIZER) is pool.service("meet", ORGANIZER)
    theirs: list[object] = []
    thread = threading.Thread(target=lambda: theirs.append(pool.http("meet", ORGANIZER)))
    thread.start()
    thread.join()
    assert theirs[0] is not mine
    # token shared across threads
    assert pool.credentials("meet", ORGANIZER) is pool.credentials("meet", ORGANIZER)


def test_each_apis_token_carries_only_that_apis_scopes(gateway: GoogleGateway) -> None:
    """A token leaked from one API's client (say Calendar's) reads nothing of another's
    (Drive's recordings); delegated APIs act as the subject, Pub/Sub as the account itself."""
    pool = gateway._pool
    assert set(API_SCOPES) == set(APIS)
    for api, scopes in API_SCOPES.items():
        creds = pool.credentials(api, SELF if api == "pubsub" else ORGANIZER)
        assert tuple(creds.scopes) == scopes, api
        assert creds._subject == (None if api == "pubsub" else ORGANIZER), api
    assert set(SCOPES) == {s for api, scopes in API_SCOPES.items() if api != "pubsub" for s in scopes}


def test_call_counter_is_thread_safe() -> None:
    counter = CallCounter()

    def bump(n: int) -> None:
        for _ in range(5000):
            counter.add(f"m{n % 3}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(bump, range(8)))
    assert counter.total == 40000
    assert counter.snapshot() == {"m0": 15000, "m1": 15000, "m2": 10000}
    assert counter["m9"] == 0
    counter.reset()
    assert counter.snapshot() == {} and counter.total == 0
