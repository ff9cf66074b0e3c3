"""Every JSON answer of a full scenario matches the method's response schema in Google's
own discovery documents (shipped in google-api-python-client): no property the schema
lacks, the right JSON types, int64 as strings, enum values from the schema."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import googleapiclient.discovery_cache
from googleapiclient.discovery import build

from meet_core.google import SCOPES
from meet_sandbox.emulator import EmulatorServer, SandboxClient
from meet_sandbox.emulator.app import Emulator

from .conftest import Google, create_space, credentials
from .events_clients import DEAD_LETTERS, MEET_TYPES, PULL, TOPIC, apis

IDENTITY_SCOPES = [s for s in SCOPES if "directory" in s or "contacts" in s]

DOCUMENTS = Path(googleapiclient.discovery_cache.__file__).parent / "documents"
FILES = {
    "calendar": "calendar.v3.json",
    "meet": "meet.v2.json",
    "drive": "drive.v3.json",
    "people": "people.v1.json",
    "directory": "admin.directory_v1.json",
    "workspaceevents": "workspaceevents.v1.json",
    "pubsub": "pubsub.v1.json",
}


def _documents() -> dict[str, dict[str, Any]]:
    return {api: json.loads((DOCUMENTS / name).read_text()) for api, name in FILES.items()}


def _methods(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for resource in resources.values():
        found.update({m["id"]: m for m in resource.get("methods", {}).values()})
        found.update(_methods(resource.get("resources", {})))
    return found


def schema_errors(
    value: Any, schema: dict[str, Any], schemas: dict[str, Any], where: str
) -> list[str]:
    """Everything in `value` that the discovery schema does not allow."""
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type", "object")
    if kind == "any":
        return []
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: expected object, got {type(value).__name__}"]
        errors = []
        properties, extra = schema.get("properties", {}), schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                errors += schema_errors(item, properties[key], schemas, f"{where}.{key}")
            elif extra is not None:
                errors += schema_errors(item, extra, schemas, f"{where}.{key}")
            else:
                errors.append(f"{where}.{key}: not in the schema")
        return errors
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: expected array"]
        return [
            e
            for i, item in enumerate(value)
            for e in schema_errors(item, schema.get("items", {}), schemas, f"{where}[{i}]")
        ]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected string, got {value!r}"]
        if schema.get("format") in ("int64", "uint64") and not value.lstrip("-").isdigit():
            return [f"{where}: int64 string expected, got {value!r}"]
        if schema.get("format") in ("date-time", "google-datetime"):
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return [f"{where}: not a timestamp: {value!r}"]
        if "enum" in schema and value not in schema["enum"]:
            return [f"{where}: {value!r} not in enum"]
        return []
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected integer, got {value!r}"]
    if kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected number, got {value!r}"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: expected boolean, got {value!r}"]
    return [f"{where}: unhandled schema type {kind}"]


def test_the_validator_catches_what_it_should() -> None:
    schemas = _documents()["drive"]["schemas"]
    file_schema = {"$ref": "File"}
    assert (
        schema_errors({"id": "x", "size": "12", "trashed": False}, file_schema, schemas, "File")
        == []
    )
    assert schema_errors({"size": 12}, file_schema, schemas, "File")  # int64 must be a string
    assert schema_errors({"sizeBytes": "12"}, file_schema, schemas, "File")
    assert schema_errors({"trashed": "no"}, file_schema, schemas, "File")
    meet = _documents()["meet"]["schemas"]
    assert schema_errors({"state": "DONE"}, {"$ref": "Recording"}, meet, "Recording")


def _scenario(google: Google, sandbox: SandboxClient) -> None:
    """Touch every method the emulator serves, with every optional part present at least once."""
    events = google.calendar.events()
    create = {
        "createRequest": {"requestId": "r-1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}
    }
    body = {
        "id": "schema0001",
        "summary": "S",
        "description": "D",
        "location": "L",
        "start": {"dateTime": "2030-01-01T10:00:00+01:00", "timeZone": "Europe/Paris"},
        "end": {"dateTime": "2030-01-01T11:00:00+01:00", "timeZone": "Europe/Paris"},
        "attendees": [
            {"email": "organizer@example.com"},
            {"email": "guest@other.org", "optional": True},
        ],
        "extendedProperties": {"private": {"k": "v"}, "shared": {"s": "t"}},
        "conferenceData": create,
        "reminders": {"useDefault": False, "overrides": [{"method": "popup", "minutes": 5}]},
        "guestsCanModify": False,
        "visibility": "private",
    }
    events.insert(
        calendarId="primary", conferenceDataVersion=1, sendUpdates="all", body=body
    ).execute()
    event = events.get(calendarId="primary", eventId="schema0001").execute()
    events.patch(calendarId="primary", eventId="schema0001", body={"summary": "S2"}).execute()
    events.update(
        calendarId="primary", eventId="schema0001", conferenceDataVersion=1, body=event
    ).execute()
    events.insert(
        calendarId="primary",
        body={"summary": "x", "start": {"date": "2030-02-01"}, "end": {"date": "2030-02-02"}},
    ).execute()
    events.list(calendarId="primary", maxResults=1).execute()
    events.list(
        calendarId="primary", privateExtendedProperty="k=v", orderBy="startTime", singleEvents=True
    ).execute()

    code = event["conferenceData"]["conferenceId"]
    mask = (
        "config.artifactConfig.recordingConfig.autoRecordingGeneration,"
        "config.artifactConfig.transcriptionConfig.autoTranscriptionGeneration,"
        "config.artifactConfig.smartNotesConfig.autoSmartNotesGeneration"
    )
    on = {
        "config": {
            "artifactConfig": {
                "recordingConfig": {"autoRecordingGeneration": "ON"},
                "transcriptionConfig": {"autoTranscriptionGeneration": "ON"},
                "smartNotesConfig": {"autoSmartNotesGeneration": "ON"},
            }
        }
    }
    google.meet.spaces().patch(name=f"spaces/{code}", updateMask=mask, body=on).execute()
    own = create_space(google)
    google.meet.spaces().get(name=own["name"]).execute()
    for who in (
        {"email": "guest@other.org"},
        {"email": "colleague@example.com"},
        {"kind": "anonymousUser", "display_name": "A"},
        {"kind": "phoneUser", "display_name": "+1"},
    ):
        sandbox.call("POST", "participants/join", {"space": code, **who})
    sandbox.advance(120)
    google.meet.spaces().get(name=f"spaces/{code}").execute()  # with activeConference
    active = (
        google.meet.conferenceRecords()
        .list(filter="end_time IS NULL")
        .execute()["conferenceRecords"][0]["name"]
    )
    google.meet.conferenceRecords().get(name=active).execute()
    google.meet.conferenceRecords().recordings().list(parent=active).execute()  # STARTED
    sandbox.leave(code, "guest@other.org")
    sandbox.end_conference(code)
    sandbox.join(own["meetingCode"], "colleague@example.com")
    google.meet.spaces().endActiveConference(name=own["name"], body={}).execute()
    google.meet.conferenceRecords().recordings().list(parent=active).execute()  # ENDED
    sandbox.advance(3600)
    record = google.meet.conferenceRecords().get(name=active).execute()["name"]
    google.meet.conferenceRecords().list(pageSize=1).execute()
    participants = (
        google.meet.conferenceRecords()
        .participants()
        .list(parent=record, pageSize=2)
        .execute()["participants"]
    )
    for participant in (
        google.meet.conferenceRecords().participants().list(parent=record).execute()["participants"]
    ):
        google.meet.conferenceRecords().participants().get(name=participant["name"]).execute()
    sessions = (
        google.meet.conferenceRecords()
        .participants()
        .participantSessions()
        .list(parent=participants[0]["name"])
        .execute()
    )
    google.meet.conferenceRecords().participants().participantSessions().get(
        name=sessions["participantSessions"][0]["name"]
    ).execute()
    recording = (
        google.meet.conferenceRecords().recordings().list(parent=record).execute()["recordings"][0]
    )
    google.meet.conferenceRecords().recordings().get(name=recording["name"]).execute()
    transcript = (
        google.meet.conferenceRecords()
        .transcripts()
        .list(parent=record)
        .execute()["transcripts"][0]
    )
    google.meet.conferenceRecords().transcripts().get(name=transcript["name"]).execute()
    entries = (
        google.meet.conferenceRecords()
        .transcripts()
        .entries()
        .list(parent=transcript["name"], pageSize=1)
        .execute()
    )
    google.meet.conferenceRecords().transcripts().entries().get(
        name=entries["transcriptEntries"][0]["name"]
    ).execute()
    notes = google.meet.conferenceRecords().smartNotes().list(parent=record).execute()
    google.meet.conferenceRecords().smartNotes().get(name=notes["smartNotes"][0]["name"]).execute()

    file_id = recording["driveDestination"]["file"]
    google.drive.files().get(fileId=file_id).execute()
    google.drive.files().get(fileId=file_id, fields="*").execute()
    google.drive.files().get(fileId=transcript["docsDestination"]["document"], fields="*").execute()
    google.drive.files().get_media(fileId=file_id).execute()
    google.drive.files().export(
        fileId=transcript["docsDestination"]["document"], mimeType="text/plain"
    ).execute()
    google.drive.changes().getStartPageToken().execute()
    google.drive.changes().list(pageToken="1", pageSize=1).execute()
    google.drive.changes().list(pageToken="1", fields="*").execute()
    events.delete(calendarId="primary", eventId="schema0001", sendUpdates="all").execute()
    events.list(calendarId="primary", showDeleted=True).execute()


def _identity_scenario(key_file: Path, base_url: str, sandbox: SandboxClient) -> None:
    """People and Directory, with the scopes the gateway asks for, on the people above."""
    creds = credentials(key_file, base_url, IDENTITY_SCOPES)
    options = {"api_endpoint": base_url + "/"}
    people = build("people", "v1", credentials=creds, static_discovery=True, client_options=options)
    directory = build(
        "admin", "directory_v1", credentials=creds, static_discovery=True, client_options=options
    )
    users = sandbox.call("GET", "users")["users"]
    for email in ("colleague@example.com", "guest@other.org"):
        people.people().get(resourceName=users[email].replace("users/", "people/"),
                            personFields="emailAddresses,names").execute()
    directory.users().get(
        userKey=users["colleague@example.com"].removeprefix("users/"), viewType="domain_public"
    ).execute()


def _events_scenario(key_file: Path, base_url: str, sandbox: SandboxClient) -> None:
    """Every Workspace Events and Pub/Sub method, with events to pull."""
    google = apis(key_file, base_url)
    google.setup(deadLetterPolicy={"deadLetterTopic": DEAD_LETTERS})
    pubsub = google.pubsub.projects()
    pubsub.topics().get(topic=TOPIC).execute()
    pubsub.subscriptions().get(subscription=PULL).execute()
    made = google.subscribe()
    subscriptions = google.events.subscriptions()
    subscriptions.get(name=made["name"]).execute()
    query = " OR ".join(f'event_types:"{t}"' for t in MEET_TYPES)
    subscriptions.list(filter=query).execute()
    google.finish(subscriptions.patch(name=made["name"], updateMask="ttl",
                                      body={"ttl": "86400s"}).execute())
    sandbox.call("POST", "subscriptions/suspend", {"subscription": made["name"]})
    google.finish(subscriptions.reactivate(name=made["name"], body={}).execute())
    received = google.pull()
    assert received
    pubsub.subscriptions().modifyAckDeadline(
        subscription=PULL, body={"ackIds": [received[0]["ackId"]], "ackDeadlineSeconds": 30}
    ).execute()
    google.ack(received)
    google.finish(subscriptions.delete(name=made["name"]).execute())


def test_every_answer_matches_the_discovery_schema(
    google: Google, sandbox: SandboxClient, server: EmulatorServer, key_file: Path
) -> None:
    sandbox.settings(record_response_bodies=True, default_page_size=2)
    _scenario(google, sandbox)
    _identity_scenario(key_file, server.base_url, sandbox)
    _events_scenario(key_file, server.base_url, sandbox)
    documents = _documents()
    methods = {api: _methods(doc["resources"]) for api, doc in documents.items()}
    checked, errors = set(), []
    for entry in sandbox.requests():
        if (
            entry["api"] not in FILES
            or not 200 <= (entry["status"] or 0) < 300
            or "response" not in entry
        ):
            continue
        method = methods[entry["api"]][entry["method_id"]]
        schema = method.get("response", {"$ref": "Empty"} if entry["api"] == "meet" else None)
        assert schema is not None, f"{entry['method_id']} answered JSON but has no response schema"
        errors += schema_errors(
            entry["response"], schema, documents[entry["api"]]["schemas"], entry["method_id"]
        )
        checked.add(entry["method_id"])
    assert errors == []
    served = {route.method_id for route in Emulator().routes}
    with_json = {m for m in served if m not in ("calendar.events.delete", "drive.files.export")}
    assert with_json <= checked, f"not exercised: {sorted(with_json - checked)}"
    for method_id in served:  # every route is a real Google method
        assert method_id in methods[method_id.split(".")[0]]
