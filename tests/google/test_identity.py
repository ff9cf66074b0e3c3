"""people.get and Directory users.get through the real client against the emulator: domain
users resolve through both, outsiders through People only where Google shows their email,
unknown ids are None (404), the admin view is refused to a non-admin (403), and 429/5xx on
either call are retried."""

from __future__ import annotations

from typing import Any

import pytest

from meet_core.google import GoogleGateway, PermissionDenied
from meet_sandbox.emulator import SandboxClient
from tests.google.conftest import ORGANIZER

ANN_LEE = "ann.lee@example.com"
CARL = "carl@partner.org"
DORA = "dora@partner.org"


def _users(gateway: GoogleGateway, sandbox: SandboxClient) -> dict[str, str]:
    space = gateway.create_space().name
    sandbox.join(space, ORGANIZER)
    sandbox.join(space, ANN_LEE, display_name="Ann Lee")
    sandbox.join(space, CARL, display_name="Carl Partner")
    sandbox.join(space, DORA, display_name="Dora Guest")
    record = gateway.list_conference_records(space)[0].name
    return {p.display_name or "": p.user or "" for p in gateway.list_participants(record)}


def test_a_domain_user_resolves_through_people_and_directory(
    gateway: GoogleGateway, sandbox: SandboxClient
) -> None:
    users = _users(gateway, sandbox)
    person = gateway.get_person(users["Ann Lee"])
    directory = gateway.get_directory_user(users["Ann Lee"])
    assert person is not None and directory is not None
    assert (person.email, person.display_name, person.source) == (ANN_LEE, "Ann Lee", "people")
    assert (directory.email, directory.display_name, directory.source) == (
        ANN_LEE,
        "Ann Lee",
        "directory",
    )
    assert person.account_id == users["Ann Lee"].removeprefix("users/")


def test_an_external_user_shows_an_email_only_where_google_would(
    gateway: GoogleGateway, sandbox: SandboxClient
) -> None:
    sandbox.settings(external_visible_emails=[CARL])
    users = _users(gateway, sandbox)
    carl, dora = gateway.get_person(users["Carl Partner"]), gateway.get_person(users["Dora Guest"])
    assert carl is not None and carl.email == CARL
    assert dora is not None and dora.email is None and dora.display_name == "Dora Guest"
    # Outsiders are no users of the domain: Directory answers 404.
    assert gateway.get_directory_user(users["Carl Partner"]) is None
    assert gateway.get_directory_user(users["Dora Guest"]) is None


def test_unknown_ids_are_none_and_the_admin_view_is_refused(
    gateway: GoogleGateway, sandbox: SandboxClient
) -> None:
    assert gateway.get_person("users/123456789") is None
    assert gateway.get_directory_user("users/123456789") is None
    users = _users(gateway, sandbox)
    with pytest.raises(PermissionDenied):
        gateway._execute(
            "directory",
            ORGANIZER,
            lambda s: s.users().get(userKey=users["Ann Lee"].removeprefix("users/")),
        )


@pytest.mark.parametrize("garbage", ["", "ann@example.com", "users/abc", "users/1/2", None, 7])
def test_garbage_ids_cost_no_request(
    gateway: GoogleGateway, sandbox: SandboxClient, garbage: Any
) -> None:
    sandbox.call("DELETE", "requests")
    with pytest.raises(ValueError, match="user"):
        gateway.get_person(garbage)
    with pytest.raises(ValueError, match="user"):
        gateway.get_directory_user(garbage)
    assert not [r for r in sandbox.requests() if r["api"] in ("people", "directory")]


@pytest.mark.parametrize("kind", ["429", "500", "503"])
def test_faults_on_people_and_directory_are_retried(
    gateway: GoogleGateway, sandbox: SandboxClient, kind: str
) -> None:
    users = _users(gateway, sandbox)
    sandbox.faults(kinds=[kind], count=2, apis=["people", "directory"], retry_after=0)
    person = gateway.get_person(users["Ann Lee"])
    sandbox.faults(kinds=[kind], count=2, apis=["directory"], retry_after=0)
    directory = gateway.get_directory_user(users["Ann Lee"])
    assert person is not None and person.email == ANN_LEE
    assert directory is not None and directory.email == ANN_LEE
    assert gateway.calls["people.people.get"] == 3
    assert gateway.calls["directory.users.get"] == 3
