"""OAuth2 JWT-bearer flow, bearer tokens and scope gates, as Google's."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from google.auth import crypt, jwt
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError

from meet_sandbox.emulator import EmulatorServer, SandboxClient, write_service_account

from .conftest import (
    CALENDAR_EVENTS,
    DRIVE_READONLY,
    SPACE_CREATED,
    SPACE_SETTINGS,
    Google,
    clients,
    create_space,
    raw_request,
    token_for,
)

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _assertion(key_file: Path, **claims: object) -> str:
    info = json.loads(key_file.read_text())
    signer = crypt.RSASigner.from_service_account_info(info)
    now = int(time.time())
    payload = {
        "iss": info["client_email"],
        "aud": "https://oauth2.googleapis.com/token",
        "iat": now,
        "exp": now + 3600,
        "scope": CALENDAR_EVENTS,
        "sub": "organizer@example.com",
    }
    payload.update(claims)
    return jwt.encode(signer, {k: v for k, v in payload.items() if v is not None}).decode()


def _token(server: EmulatorServer, form: dict[str, str]) -> tuple[int, dict[str, object]]:
    raw = raw_request(
        server.base_url,
        "POST",
        "/token",
        body=urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return raw.status, raw.json()


def test_jwt_grant_gives_a_bearer_token(server: EmulatorServer, key_file: Path) -> None:
    status, body = _token(server, {"grant_type": JWT_BEARER, "assertion": _assertion(key_file)})
    assert status == 200
    assert body["token_type"] == "Bearer" and str(body["access_token"]).startswith("ya29.")
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0


def test_bad_signature_is_refused(server: EmulatorServer, tmp_path: Path, key_file: Path) -> None:
    # Same service-account email, another key: the signature cannot verify.
    impostor = write_service_account(tmp_path / "impostor.json", token_uri=server.token_uri)
    info = json.loads(impostor.read_text())
    info["private_key_id"] = json.loads(key_file.read_text())["private_key_id"]
    impostor.write_text(json.dumps(info))
    status, body = _token(server, {"grant_type": JWT_BEARER, "assertion": _assertion(impostor)})
    assert (status, body["error"]) == (400, "invalid_grant")
    with pytest.raises(RefreshError, match="invalid_grant"):
        clients(impostor, server.base_url).calendar.events().list(calendarId="primary").execute()


def test_unknown_issuer_is_refused(server: EmulatorServer, tmp_path: Path) -> None:
    stranger = write_service_account(
        tmp_path / "stranger.json", client_email="x@other.iam.gserviceaccount.com"
    )
    status, body = _token(server, {"grant_type": JWT_BEARER, "assertion": _assertion(stranger)})
    assert (status, body["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"exp": int(time.time()) - 7200, "iat": int(time.time()) - 10800}, "invalid_grant"),
        ({"exp": int(time.time()) + 86400}, "invalid_grant"),
        ({"sub": "someone@elsewhere.org"}, "invalid_grant"),
        ({"scope": None}, "invalid_scope"),
    ],
    ids=["expired", "too-long-lived", "subject-outside-domain", "no-scope"],
)
def test_bad_assertions_are_refused(
    server: EmulatorServer, key_file: Path, claims: dict, error: str
) -> None:
    status, body = _token(
        server, {"grant_type": JWT_BEARER, "assertion": _assertion(key_file, **claims)}
    )
    assert (status, body["error"]) == (400, error)


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "password", "assertion": "x"},
        {"grant_type": JWT_BEARER},
        {"grant_type": JWT_BEARER, "assertion": "garbage"},
    ],
    ids=["grant-type", "missing-assertion", "garbage-assertion"],
)
def test_garbage_token_requests_get_oauth_errors(
    server: EmulatorServer, form: dict[str, str]
) -> None:
    status, body = _token(server, form)
    assert status == 400 and body["error"] in (
        "unsupported_grant_type",
        "invalid_request",
        "invalid_grant",
    )
    assert body["error_description"]


def test_audience_is_not_required_to_be_the_emulator(
    server: EmulatorServer, key_file: Path
) -> None:
    status, _ = _token(
        server,
        {"grant_type": JWT_BEARER, "assertion": _assertion(key_file, aud="https://elsewhere/")},
    )
    assert status == 200


@pytest.mark.parametrize(
    ("path", "header"),
    [
        ("/calendar/v3/calendars/primary/events", None),
        ("/v2/conferenceRecords", None),
        ("/drive/v3/changes/startPageToken", "Bearer not-a-token"),
        ("/v2/spaces/abc", "Basic dXNlcjpwYXNz"),
    ],
)
def test_api_calls_without_a_valid_token_get_401(
    server: EmulatorServer, path: str, header: str | None
) -> None:
    raw = raw_request(
        server.base_url, "GET", path, headers={"Authorization": header} if header else {}
    )
    assert raw.status == 401
    error = raw.json()["error"]
    assert error["code"] == 401 and error["message"]
    assert "bearer" in raw.headers["www-authenticate"].lower()
    if path.startswith("/v2/"):
        assert error["status"] == "UNAUTHENTICATED" and "errors" not in error
    else:
        assert error["errors"][0]["reason"] in ("required", "authError")


def test_a_scope_withheld_from_the_delegation_is_refused_at_the_token_endpoint(
    server: EmulatorServer, key_file: Path
) -> None:
    """As Google: a delegated token (with ``sub``) that asks for a scope the admin did not
    grant is refused with 401 unauthorized_client; without it, or acting as the service
    account itself, a token is issued."""
    sandbox = SandboxClient(server.base_url)
    sandbox.settings(withheld_scopes=[SPACE_CREATED])
    try:
        asked = f"{CALENDAR_EVENTS} {SPACE_CREATED}"
        status, body = _token(server, {"grant_type": JWT_BEARER, "assertion": _assertion(key_file, scope=asked)})
        assert (status, body["error"]) == (401, "unauthorized_client")
        status, _ = _token(server, {"grant_type": JWT_BEARER, "assertion": _assertion(key_file)})
        assert status == 200
        itself = _assertion(key_file, scope=SPACE_CREATED, sub=None)
        assert _token(server, {"grant_type": JWT_BEARER, "assertion": itself})[0] == 200
    finally:
        sandbox.settings(withheld_scopes=[])


def test_missing_scope_gets_403(key_file: Path, server: EmulatorServer) -> None:
    drive_only = clients(key_file, server.base_url, [DRIVE_READONLY])
    with pytest.raises(HttpError) as caught:
        drive_only.calendar.events().list(calendarId="primary").execute()
    assert caught.value.resp.status == 403
    assert (
        json.loads(caught.value.content)["error"]["errors"][0]["reason"]
        == "insufficientPermissions"
    )
    with pytest.raises(HttpError) as caught:
        drive_only.meet.spaces().create(body={}).execute()
    error = json.loads(caught.value.content)["error"]
    assert (error["code"], error["status"]) == (403, "PERMISSION_DENIED")


def _calendar_space(google: Google) -> str:
    event = (
        google.calendar.events()
        .insert(
            calendarId="primary",
            conferenceDataVersion=1,
            body={
                "summary": "s",
                "start": {"dateTime": "2030-01-01T10:00:00Z"},
                "end": {"dateTime": "2030-01-01T11:00:00Z"},
                "conferenceData": {
                    "createRequest": {
                        "requestId": "req-1",
                        "conferenceSolutionKey": {"type": "hangoutsMeet"},
                    }
                },
            },
        )
        .execute()
    )
    event = google.calendar.events().get(calendarId="primary", eventId=event["id"]).execute()
    return str(event["conferenceData"]["conferenceId"])


RECORDING_ON = {
    "config": {"artifactConfig": {"recordingConfig": {"autoRecordingGeneration": "ON"}}}
}
MASK = "config.artifactConfig.recordingConfig.autoRecordingGeneration"


def test_patching_a_calendar_space_needs_the_settings_scope(
    key_file: Path, server: EmulatorServer
) -> None:
    created_only = clients(key_file, server.base_url, [CALENDAR_EVENTS, SPACE_CREATED])
    code = _calendar_space(created_only)
    with pytest.raises(HttpError) as caught:
        created_only.meet.spaces().patch(
            name=f"spaces/{code}", updateMask=MASK, body=RECORDING_ON
        ).execute()
    assert caught.value.resp.status == 403
    with_settings = clients(key_file, server.base_url, [CALENDAR_EVENTS, SPACE_SETTINGS])
    space = (
        with_settings.meet.spaces()
        .patch(name=f"spaces/{code}", updateMask=MASK, body=RECORDING_ON)
        .execute()
    )
    assert space["config"]["artifactConfig"]["recordingConfig"]["autoRecordingGeneration"] == "ON"


def test_created_scope_covers_the_apps_own_spaces(key_file: Path, server: EmulatorServer) -> None:
    created_only = clients(key_file, server.base_url, [SPACE_CREATED])
    space = create_space(created_only, recording="OFF")
    patched = (
        created_only.meet.spaces()
        .patch(name=space["name"], updateMask=MASK, body=RECORDING_ON)
        .execute()
    )
    assert patched["config"]["artifactConfig"]["recordingConfig"]["autoRecordingGeneration"] == "ON"


def test_another_user_cannot_see_the_organizers_space(
    key_file: Path, server: EmulatorServer, google: Google
) -> None:
    space = create_space(google)
    colleague = clients(key_file, server.base_url, subject="colleague@example.com")
    with pytest.raises(HttpError) as caught:
        colleague.meet.spaces().get(name=space["name"]).execute()
    assert caught.value.resp.status == 403


def test_token_survives_in_requests(server: EmulatorServer, key_file: Path) -> None:
    token = token_for(key_file, server.base_url, [DRIVE_READONLY])
    raw = raw_request(
        server.base_url,
        "GET",
        "/drive/v3/changes/startPageToken",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert raw.status == 200 and raw.json()["startPageToken"] == "1"


def test_key_file_written_by_the_server_works_as_is(server: EmulatorServer, tmp_path: Path) -> None:
    from google.oauth2 import service_account
    from googleapiclient.discovery import build

    key = server.create_service_account(
        tmp_path / "own.json", client_email="own@proj.iam.gserviceaccount.com"
    )
    info = json.loads(key.read_text())
    assert {
        "type",
        "project_id",
        "private_key_id",
        "private_key",
        "client_email",
        "client_id",
        "token_uri",
    } <= set(info)
    assert info["token_uri"] == server.base_url + "/token"
    creds = service_account.Credentials.from_service_account_file(str(key), scopes=[DRIVE_READONLY])
    drive = build(
        "drive",
        "v3",
        credentials=creds.with_subject("organizer@example.com"),
        static_discovery=True,
        client_options={"api_endpoint": server.base_url + "/drive/v3/"},
    )
    assert drive.changes().getStartPageToken().execute()["startPageToken"] == "1"
