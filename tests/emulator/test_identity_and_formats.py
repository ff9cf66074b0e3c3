"""The emulator's People `people.get` and Directory `users.get` over the wire (scopes,
400/403/404 as Google answers), plain-text transcripts (alt=media with checksums, export
refused), smart notes, and the settings that choose them (garbage refused)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from googleapiclient.errors import HttpError

from meet_sandbox.emulator import EmulatorServer, SandboxClient

from .conftest import ALL_SCOPES, Google, create_space, raw_request, token_for

COLLEAGUE = "colleague@example.com"
OUTSIDER = "guest@other.org"
DIRECTORY = "https://www.googleapis.com/auth/directory.readonly"
OTHER_CONTACTS = "https://www.googleapis.com/auth/contacts.other.readonly"
USERS = "https://www.googleapis.com/auth/admin.directory.user.readonly"


def _people_ids(google: Google, sandbox: SandboxClient) -> dict[str, str]:
    space = create_space(google)
    sandbox.join(space["meetingCode"], COLLEAGUE, display_name="Col League")
    sandbox.join(space["meetingCode"], OUTSIDER, display_name="Gus Guest")
    users = sandbox.call("GET", "users")["users"]
    return {email: users[email].removeprefix("users/") for email in (COLLEAGUE, OUTSIDER)}


def _get(server: EmulatorServer, token: str, path: str) -> tuple[int, dict[str, object]]:
    answer = raw_request(server.base_url, "GET", path, headers={"Authorization": f"Bearer {token}"})
    return answer.status, answer.json()


def test_people_and_directory_answer_as_google_does(
    google: Google, sandbox: SandboxClient, server: EmulatorServer, key_file: Path
) -> None:
    ids = _people_ids(google, sandbox)
    token = token_for(key_file, server.base_url, [DIRECTORY, OTHER_CONTACTS, USERS])
    fields = "personFields=emailAddresses,names"
    status, colleague = _get(server, token, f"/v1/people/{ids[COLLEAGUE]}?{fields}")
    assert status == 200 and colleague["resourceName"] == f"people/{ids[COLLEAGUE]}"
    assert [e["value"] for e in colleague["emailAddresses"]] == [COLLEAGUE]  # type: ignore[union-attr]
    status, outsider = _get(server, token, f"/v1/people/{ids[OUTSIDER]}?{fields}")
    assert status == 200 and "emailAddresses" not in outsider  # Google hides it
    sandbox.settings(external_visible_emails=[OUTSIDER])
    status, outsider = _get(server, token, f"/v1/people/{ids[OUTSIDER]}?{fields}")
    assert [e["value"] for e in outsider["emailAddresses"]] == [OUTSIDER]  # type: ignore[union-attr]
    # personFields is required; an unknown person is 404; a bad mask 400.
    assert _get(server, token, f"/v1/people/{ids[COLLEAGUE]}")[0] == 400
    assert _get(server, token, f"/v1/people/{ids[COLLEAGUE]}?personFields=shoeSize")[0] == 400
    status, body = _get(server, token, f"/v1/people/123?{fields}")
    assert status == 404 and body["error"]["status"] == "NOT_FOUND"  # type: ignore[index]

    public = "viewType=domain_public"
    status, user = _get(server, token, f"/admin/directory/v1/users/{ids[COLLEAGUE]}?{public}")
    assert status == 200 and user["primaryEmail"] == COLLEAGUE and user["id"] == ids[COLLEAGUE]
    status, body = _get(server, token, f"/admin/directory/v1/users/{ids[OUTSIDER]}?{public}")
    assert status == 404 and body["error"]["errors"][0]["reason"] == "notFound"  # type: ignore[index]
    status, body = _get(server, token, f"/admin/directory/v1/users/{ids[COLLEAGUE]}")
    assert status == 403  # admin_view needs an admin subject
    sandbox.settings(directory_admins=["organizer@example.com"])
    assert _get(server, token, f"/admin/directory/v1/users/{ids[COLLEAGUE]}")[0] == 200


def test_identity_calls_need_their_scopes(
    google: Google, sandbox: SandboxClient, server: EmulatorServer, key_file: Path
) -> None:
    ids = _people_ids(google, sandbox)
    token = token_for(key_file, server.base_url, ALL_SCOPES)  # Meet, Calendar, Drive only
    for path in (
        f"/v1/people/{ids[COLLEAGUE]}?personFields=names",
        f"/admin/directory/v1/users/{ids[COLLEAGUE]}?viewType=domain_public",
    ):
        assert _get(server, token, path)[0] == 403
    # contacts.other.readonly alone: People answers, a colleague's email stays hidden.
    token = token_for(key_file, server.base_url, [OTHER_CONTACTS])
    status, person = _get(server, token, f"/v1/people/{ids[COLLEAGUE]}?personFields=emailAddresses,names")
    assert status == 200 and "emailAddresses" not in person


def _held(google: Google, sandbox: SandboxClient, notes: bool = False) -> str:
    space = create_space(google, recording="ON", transcription="ON")
    if notes:
        google.meet.spaces().patch(
            name=space["name"],
            updateMask="config.artifactConfig.smartNotesConfig.autoSmartNotesGeneration",
            body={"config": {"artifactConfig": {"smartNotesConfig": {"autoSmartNotesGeneration": "ON"}}}},
        ).execute()
    sandbox.join(space["meetingCode"], COLLEAGUE, recording_size_bytes=1000)
    sandbox.advance(300)
    sandbox.end_conference(space["meetingCode"])
    sandbox.advance(3600)
    return str(
        google.meet.conferenceRecords()
        .list(filter=f'space.name = "{space["name"]}"')
        .execute()["conferenceRecords"][0]["name"]
    )


def test_plain_text_transcripts_download_with_checksums_and_refuse_export(
    google: Google, sandbox: SandboxClient
) -> None:
    sandbox.settings(transcript_format="text")
    record = _held(google, sandbox)
    (item,) = google.meet.conferenceRecords().transcripts().list(parent=record).execute()["transcripts"]
    file_id = item["docsDestination"]["document"]
    meta = google.drive.files().get(fileId=file_id, fields="*").execute()
    data = google.drive.files().get_media(fileId=file_id).execute()
    assert meta["mimeType"] == "text/plain" and int(meta["size"]) == len(data)
    assert meta["sha256Checksum"] == hashlib.sha256(data).hexdigest()
    assert b"Transcript" in data
    with pytest.raises(HttpError) as caught:
        google.drive.files().export(fileId=file_id, mimeType="text/plain").execute()
    assert caught.value.resp.status == 403
    assert json.loads(caught.value.content)["error"]["errors"][0]["reason"] == "fileNotExportable"


def test_smart_notes_only_when_the_space_has_them_on(google: Google, sandbox: SandboxClient) -> None:
    assert google.meet.conferenceRecords().smartNotes().list(parent=_held(google, sandbox)).execute() == {}
    record = _held(google, sandbox, notes=True)
    (note,) = google.meet.conferenceRecords().smartNotes().list(parent=record).execute()["smartNotes"]
    assert note["name"].startswith(f"{record}/smartNotes/") and note["state"] == "FILE_GENERATED"
    text = google.drive.files().export(
        fileId=note["docsDestination"]["document"], mimeType="text/plain"
    ).execute()
    assert b"Notes by Gemini" in text


@pytest.mark.parametrize(
    "garbage",
    [
        {"transcript_format": "pdf"},
        {"transcript_format": 1},
        {"external_visible_emails": "guest@other.org"},
        {"external_visible_emails": ["not an email"]},
        {"directory_admins": [7]},
        {"withheld_scopes": ["calendar.events"]},
        {"withheld_scopes": "https://www.googleapis.com/auth/calendar.events"},
    ],
)
def test_garbage_settings_are_refused(sandbox: SandboxClient, garbage: dict[str, object]) -> None:
    before = sandbox.settings()
    with pytest.raises(Exception, match="400"):
        sandbox.settings(**garbage)
    assert sandbox.settings() == before
