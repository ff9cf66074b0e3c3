"""Reads: list (filters, order, pagination), detail, participants, recordings, audit trail."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from meet_core.db.models import (
    ArchiveManifestEntry,
    ComplianceViolation,
    ConferenceParticipant,
    ConferenceRecord,
    LedgerEntry,
    Participant,
)
from meet_sandbox.s3.embedded import EmbeddedS3
from tests.api.conftest import Api, Keys, assert_problem, insert_pending, make_keys

BASE = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)


def _seed(api: Api, keys: Keys) -> list[str]:
    """Five meetings: two share a start time (the id breaks the tie), statuses vary."""
    specs = [
        (BASE + timedelta(hours=2), "scheduled", ["dana@example.org"]),
        (BASE, "pending", ["erin@example.org", "dana@example.org"]),
        (BASE + timedelta(hours=1), "cancelled", ["erin@example.org"]),
        (BASE + timedelta(hours=1), "scheduled", ["Frank@Example.org"]),
        (BASE + timedelta(days=1), "failed", ["dana@example.org"]),
    ]
    ids = []
    for start, status, emails in specs:
        ids.append(
            insert_pending(
                api.sessions,
                keys.client_id,
                start_time=start,
                end_time=start + timedelta(minutes=30),
                status=status,
                participants=[Participant(email=e.lower(), role="guest") for e in emails],
            )
        )
    return ids


@pytest.fixture
def seeded(api: Api, keys: Keys) -> list[str]:
    return _seed(api, keys)


def _ids(page: dict) -> list[str]:
    return [m["id"] for m in page["items"]]


def test_list_is_ordered_by_start_then_id_and_scoped_to_the_client(
    api: Api, keys: Keys, seeded: list[str], xoma: httpx.Client
) -> None:
    make_keys(api.sessions)  # another client's data must not show up
    insert_pending(api.sessions, make_keys(api.sessions).client_id, start_time=BASE)
    page = xoma.get("/api/v1/meetings").json()
    same_start = sorted([seeded[2], seeded[3]])
    assert _ids(page) == [seeded[1], *same_start, seeded[0], seeded[4]]
    # No count unless asked for (include_total): the field is there, null.
    assert page["total"] is None and page["next_cursor"] is None and page["limit"] == 50
    counted = xoma.get("/api/v1/meetings", params={"include_total": "true"}).json()
    assert _ids(counted) == _ids(page) and counted["total"] == 5


@pytest.mark.parametrize("value", ["false", "0", "FALSE"])
def test_list_total_is_null_unless_asked_for(
    seeded: list[str], xoma: httpx.Client, value: str
) -> None:
    page = xoma.get("/api/v1/meetings", params={"include_total": value}).json()
    assert "total" in page and page["total"] is None and len(page["items"]) == 5


def test_list_total_of_an_empty_page(seeded: list[str], xoma: httpx.Client) -> None:
    params = {"include_total": "true", "status": "in_progress"}
    assert xoma.get("/api/v1/meetings", params=params).json() == {
        "items": [], "total": 0, "limit": 50, "next_cursor": None
    }
    assert xoma.get("/api/v1/meetings", params={"status": "in_progress"}).json()["total"] is None


@pytest.mark.parametrize("value", ["yes", "on", "", "2", "true,false", "nul\u0000l", "é"])
def test_list_include_total_garbage_is_a_400_naming_it(
    seeded: list[str], xoma: httpx.Client, value: str
) -> None:
    problem = assert_problem(
        xoma.get("/api/v1/meetings", params={"include_total": value}), 400
    )
    assert "include_total" in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["include_total"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "scheduled"}, [3, 0]),
        ({"status": "in_progress"}, []),
        ({"participant": "DANA@example.org"}, [1, 0, 4]),
        ({"participant": "frank@example.org"}, [3]),
        ({"start_from": (BASE + timedelta(hours=1)).isoformat()}, [2, 3, 0, 4]),
        ({"start_to": (BASE + timedelta(hours=1)).isoformat()}, [1]),
        (
            {"start_from": "2031-03-01T10:00:00+01:00", "start_to": "2031-03-01T11:00:00Z"},
            [1, 2, 3],
        ),
        ({"status": "scheduled", "participant": "dana@example.org"}, [0]),
    ],
)
def test_list_filters(
    seeded: list[str], xoma: httpx.Client, params: dict[str, str], expected: list[int]
) -> None:
    page = xoma.get("/api/v1/meetings", params={**params, "include_total": "true"}).json()
    got = _ids(page)
    # The two meetings at BASE+1h are ordered by id; compare as positions in the seed.
    assert sorted(got) == sorted(seeded[i] for i in expected)
    assert page["total"] == len(expected)


def test_list_filter_by_external_id(api: Api, keys: Keys, xoma: httpx.Client) -> None:
    meeting_id = insert_pending(api.sessions, keys.client_id, external_id="XOMA-4711")
    params = {"external_id": "XOMA-4711", "include_total": "true"}
    page = xoma.get("/api/v1/meetings", params=params).json()
    assert _ids(page) == [meeting_id] and page["total"] == 1


def test_list_invitations_carry_their_stored_fields(api: Api, keys: Keys, xoma: httpx.Client) -> None:
    """A page's invitations (on PostgreSQL read as JSON with the page, on SQLite by a second
    statement) answer every stored field, ordered by email, timestamps to the microsecond in UTC."""
    joined = datetime(2031, 3, 1, 9, 0, 1, 123456, tzinfo=UTC)
    meeting_id = insert_pending(
        api.sessions,
        keys.client_id,
        start_time=BASE,
        status="finished",
        participants=[
            Participant(email="zoe@example.org", display_name="Zoë «Z» O'Neil", role="guest",
                        response_status="accepted", attended=True, first_joined_at=joined,
                        last_left_at=joined + timedelta(minutes=25), attended_seconds=1500),
            Participant(email="amy@example.org", role="guest"),
        ],
    )
    [item] = xoma.get("/api/v1/meetings", params={"status": "finished"}).json()["items"]
    assert item["id"] == meeting_id
    zoe = {
        "email": "zoe@example.org", "display_name": "Zoë «Z» O'Neil", "role": "guest",
        "response_status": "accepted", "attended": True, "first_joined_at": "2031-03-01T09:00:01.123456Z",
        "last_left_at": "2031-03-01T09:25:01.123456Z", "attended_seconds": 1500,
        "kind": None, "matched_by": None,
    }
    assert [p["email"] for p in item["participants"]] == ["amy@example.org", "zoe@example.org"]
    assert item["participants"][1] == zoe
    assert item["participants"][0]["attended"] is None and item["participants"][0]["first_joined_at"] is None
    # The same invitations as the detail answers before any harvest.
    detail = xoma.get(f"/api/v1/meetings/{meeting_id}").json()
    assert detail["participants"] == item["participants"]


def test_cursor_pagination_walks_every_meeting_once(seeded: list[str], xoma: httpx.Client) -> None:
    everything = _ids(xoma.get("/api/v1/meetings").json())
    walked, cursor, pages = [], None, 0
    while True:
        counted = pages % 2 == 0  # the total is per page: asked for on some pages only
        params = {"limit": "2", "include_total": str(counted).lower(),
                  **({"cursor": cursor} if cursor else {})}
        page = xoma.get("/api/v1/meetings", params=params).json()
        assert page["total"] == (5 if counted else None) and len(page["items"]) <= 2
        walked += _ids(page)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == everything and pages == 3


def test_page_size_is_capped(api: Api, keys: Keys) -> None:
    with api.client(
        keys.admin
    ) as admin:  # admin sees every client: more than 200 rows exist or not, never >200
        assert_problem(admin.get("/api/v1/meetings", params={"limit": "1000"}), 400)
        page = admin.get("/api/v1/meetings", params={"limit": "200"}).json()
    assert len(page["items"]) <= 200


def test_detail_has_fixed_recording_and_compliance_shape(
    api: Api, keys: Keys, xoma: httpx.Client
) -> None:
    meeting_id = insert_pending(api.sessions, keys.client_id)
    response = xoma.get(f"/api/v1/meetings/{meeting_id}")
    assert response.status_code == 200 and response.headers["etag"] == '"1"'
    detail = response.json()
    assert detail["recording"] == {
        "conferences": 0,
        "recordings": 0,
        "recordings_archived": 0,
        "transcripts": 0,
        "transcripts_archived": 0,
        "last_archived_at": None,
        "recorded_seconds": None,
        "unrecorded_seconds": None,
        "coverage": None,
        "unrecorded_intervals": [],
    }
    assert detail["compliance"] == {
        "state": "awaiting_meeting",
        "reasons": [],
        "evaluated_at": None,
        "open_violations": [],
    }


def _harvest(
    api: Api, meeting_id: str, s3: EmbeddedS3, *, archived: bool = True
) -> tuple[bytes, str]:
    """What the pipeline leaves behind for a held, recorded meeting (and the object in S3)."""
    content = b"mp4 bytes " + uuid.uuid4().bytes
    bucket = "api-test-archive"
    client = s3.client()
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    key = f"meetings/{meeting_id}/recording.mp4"
    version = client.put_object(Bucket=bucket, Key=key, Body=content)["VersionId"]
    record = f"conferenceRecords/{uuid.uuid4().hex[:10]}"
    now = datetime.now(UTC)
    with api.sessions.begin() as session:
        conference = ConferenceRecord(
            name=record,
            meeting_id=meeting_id,
            space_name="spaces/x",
            start_time=now - timedelta(hours=1),
            end_time=now,
        )
        session.add(conference)
        session.flush()
        for email, seconds in (("carol@example.org", 1800), ("CAROL@example.org", 600), (None, 60)):
            session.add(
                ConferenceParticipant(
                    name=f"{record}/participants/{uuid.uuid4().hex[:8]}",
                    conference_record_id=conference.id,
                    meeting_id=meeting_id,
                    kind="internal" if email else "anonymous",
                    email=email,
                    display_name="Guest" if email is None else None,
                    first_joined_at=now - timedelta(hours=1),
                    last_left_at=now,
                    attended_seconds=seconds,
                    session_count=1,
                )
            )
        session.add(
            ArchiveManifestEntry(
                artifact_name=f"{record}/recordings/r1",
                kind="recording",
                meeting_id=meeting_id,
                conference_record_name=record,
                partition_date=now.date().isoformat(),
                google_state="FILE_GENERATED",
                state="archived" if archived else "pending",
                bucket=bucket if archived else None,
                object_key=key if archived else None,
                version_id=version if archived else None,
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                content_type="video/mp4",
                retain_until=now + timedelta(days=2557),
                lock_mode="COMPLIANCE",
                archived_at=now if archived else None,
            )
        )
    return content, version


def _carol_and_dave_invited(api: Api, keys: Keys) -> str:
    """A finished meeting of the client that invited carol and dave (``_harvest`` has carol
    attend, dave not)."""
    return insert_pending(
        api.sessions,
        keys.client_id,
        status="finished",
        participants=[Participant(email="carol@example.org"), Participant(email="dave@example.org")],
    )


def test_participants_with_attendance(
    api: Api, keys: Keys, xoma: httpx.Client, s3_server: EmbeddedS3
) -> None:
    meeting_id = _carol_and_dave_invited(api, keys)
    before = xoma.get(f"/api/v1/meetings/{meeting_id}/participants").json()
    assert before["attendance_known"] is False
    assert {p["email"]: p["attended"] for p in before["items"]} == {
        "carol@example.org": None,
        "dave@example.org": None,
    }
    _harvest(api, meeting_id, s3_server)
    after = xoma.get(f"/api/v1/meetings/{meeting_id}/participants").json()
    people = {p["email"]: p for p in after["items"]}
    assert after["attendance_known"] is True
    assert (
        people["carol@example.org"]["attended"] is True
        and people["carol@example.org"]["attended_seconds"] == 2400
    )
    assert (
        people["dave@example.org"]["attended"] is False
        and people["dave@example.org"]["attended_seconds"] == 0
    )
    assert [a["kind"] for a in after["uninvited_attendees"]] == ["anonymous"]


def test_recordings_and_presigned_download(api: Api, keys: Keys, s3_server: EmbeddedS3) -> None:
    meeting_id = insert_pending(api.sessions, keys.client_id, status="finished")
    with api.client(keys.service) as xoma:
        assert xoma.get(f"/api/v1/meetings/{meeting_id}/recordings").json()["items"] == []
    content, version = _harvest(api, meeting_id, s3_server)
    with api.client(keys.service) as xoma:
        [item] = xoma.get(f"/api/v1/meetings/{meeting_id}/recordings").json()["items"]
        assert_problem(
            xoma.get(f"/api/v1/meetings/{meeting_id}/recordings", params={"presign": "true"}), 403
        )
    assert item["s3_uri"] == f"s3://api-test-archive/meetings/{meeting_id}/recording.mp4"
    assert item["version_id"] == version and item["sha256"] == hashlib.sha256(content).hexdigest()
    assert (
        item["size"] == len(content)
        and item["lock_mode"] == "COMPLIANCE"
        and item["download_url"] is None
    )
    with api.client(keys.auditor) as auditor:
        [signed] = auditor.get(
            f"/api/v1/meetings/{meeting_id}/recordings", params={"presign": "true"}
        ).json()["items"]
    assert "X-Amz-Signature=" in signed["download_url"] and signed["download_expires_at"]
    downloaded = httpx.get(signed["download_url"])
    assert downloaded.status_code == 200 and downloaded.content == content


def _ledger_row(meeting_id: str, client_id: str, now: datetime, **overrides: Any) -> LedgerEntry:
    """The ledger's row for a meeting held today, in violation: one recording found and not
    archived, no transcript (``overrides`` change counts and reasons)."""
    fields: dict[str, Any] = dict(
        meeting_id=meeting_id,
        partition_date=now.date().isoformat(),
        client_id=client_id,
        external_id="x",
        title="t",
        meeting_status="finished",
        outcome="held",
        scheduled_start=now,
        scheduled_end=now,
        held=True,
        invited_count=1,
        joined_count=1,
        invited_joined_count=1,
        recording_required=True,
        recordings_found=1,
        recordings_archived=0,
        transcripts_found=0,
        transcripts_archived=0,
        legal_hold=False,
        compliance_status="violation",
        violation_reasons="recording_not_archived_in_time",
        evaluated_at=now,
    )
    fields.update(overrides)
    return LedgerEntry(**fields)


def test_detail_reflects_archive_and_ledger(
    api: Api, keys: Keys, xoma: httpx.Client, s3_server: EmbeddedS3
) -> None:
    meeting_id = insert_pending(api.sessions, keys.client_id, status="finished")
    _harvest(api, meeting_id, s3_server, archived=False)
    detail = xoma.get(f"/api/v1/meetings/{meeting_id}").json()
    assert (
        detail["recording"]["recordings"] == 1 and detail["recording"]["recordings_archived"] == 0
    )
    assert (
        detail["compliance"]["state"] == "awaiting_archive"
        and detail["compliance"]["evaluated_at"] is None
    )
    now = datetime.now(UTC)
    with api.sessions.begin() as session:
        session.add(_ledger_row(meeting_id, keys.client_id, now))
    compliance = xoma.get(f"/api/v1/meetings/{meeting_id}").json()["compliance"]
    assert compliance["state"] == "violation" and compliance["reasons"] == [
        "recording_not_archived_in_time"
    ]
    assert compliance["evaluated_at"] is not None


def test_detail_shows_recording_coverage_from_the_ledger(
    api: Api, keys: Keys, xoma: httpx.Client
) -> None:
    meeting_id = insert_pending(api.sessions, keys.client_id, status="finished")
    now = datetime.now(UTC)
    gap = {"start": "2025-06-02T09:00:00Z", "end": "2025-06-02T09:15:00Z"}
    with api.sessions.begin() as session:
        session.add(
            _ledger_row(
                meeting_id,
                keys.client_id,
                now,
                violation_reasons="unrecorded_time",
                present_seconds=1800,
                recorded_seconds=900,
                unrecorded_seconds=900,
                coverage=0.5,
                unrecorded_intervals=[gap],
            )
        )
    detail = xoma.get(f"/api/v1/meetings/{meeting_id}").json()
    recording = detail["recording"]
    assert (
        recording["recorded_seconds"],
        recording["unrecorded_seconds"],
        recording["coverage"],
    ) == (900, 900, 0.5)
    assert recording["unrecorded_intervals"] == [
        {"start": "2025-06-02T09:00:00Z", "end": "2025-06-02T09:15:00Z"}
    ]
    assert detail["compliance"]["reasons"] == ["unrecorded_time"]


def _entry(meeting_id: str, name: str, kind: str, state: str) -> ArchiveManifestEntry:
    now = datetime.now(UTC)
    return ArchiveManifestEntry(
        artifact_name=name,
        kind=kind,
        meeting_id=meeting_id,
        conference_record_name="conferenceRecords/x",
        partition_date=now.date().isoformat(),
        google_state="FILE_GENERATED",
        state=state,
        archived_at=now if state == "archived" else None,
    )


def test_detail_has_attendance_archive_counts_and_open_violations(
    api: Api, keys: Keys, xoma: httpx.Client, s3_server: EmbeddedS3
) -> None:
    """Every part of the detail that comes from the pipeline's tables, in one answer."""
    meeting_id = _carol_and_dave_invited(api, keys)
    path = f"/api/v1/meetings/{meeting_id}"
    unseen = xoma.get(path).json()
    assert [(p["email"], p["attended"]) for p in unseen["participants"]] == [
        ("carol@example.org", None),
        ("dave@example.org", None),
    ]
    _harvest(api, meeting_id, s3_server)  # one archived recording; carol twice, once in capitals
    tag = uuid.uuid4().hex[:8]
    with api.sessions.begin() as session:
        session.add_all(
            [
                _entry(meeting_id, f"t/{tag}/text", "transcript_text", "archived"),
                _entry(meeting_id, f"t/{tag}/entries", "transcript_entries", "failed"),
            ]
        )
    detail = xoma.get(path).json()
    people = {p["email"]: p for p in detail["participants"]}
    assert (people["carol@example.org"]["attended"], people["carol@example.org"]["attended_seconds"]) == (True, 2400)
    assert (people["dave@example.org"]["attended"], people["dave@example.org"]["attended_seconds"]) == (False, 0)
    recording = detail["recording"]
    assert {k: v for k, v in recording.items() if k != "last_archived_at"} == {
        "conferences": 1,
        "recordings": 1,
        "recordings_archived": 1,
        "transcripts": 2,
        "transcripts_archived": 1,
        "recorded_seconds": None,  # the ledger row of this test carries no coverage
        "unrecorded_seconds": None,
        "coverage": None,
        "unrecorded_intervals": [],
    }
    assert recording["last_archived_at"] is not None
    assert detail["compliance"] == {
        "state": "violation",
        "reasons": [f"archiving failed: t/{tag}/entries"],
        "evaluated_at": None,
        "open_violations": [],
    }
    now = datetime.now(UTC)
    with api.sessions.begin() as session:
        session.add(
            _ledger_row(
                meeting_id,
                keys.client_id,
                now,
                invited_count=2,
                recordings_archived=1,
                transcripts_found=2,
                transcripts_archived=1,
                violation_reasons="archive_failed",
            )
        )
        for reason, state in (("archive_failed", "open"), ("recording_missing", "resolved")):
            session.add(
                ComplianceViolation(
                    meeting_id=meeting_id,
                    partition_date=now.date().isoformat(),
                    reason=reason,
                    detail=f"{reason} detail",
                    state=state,
                    opened_at=now,
                    opened_by="ledger",
                )
            )
    compliance = xoma.get(path).json()["compliance"]
    assert compliance["state"] == "violation" and compliance["reasons"] == ["archive_failed"]
    assert [(v["reason"], v["detail"]) for v in compliance["open_violations"]] == [
        ("archive_failed", "archive_failed detail")
    ]


def test_audit_trail_pages_and_chains(api: Api, keys: Keys, create_meeting: object) -> None:
    meeting = create_meeting()  # type: ignore[operator]
    with api.client(keys.service) as xoma:
        xoma.patch(
            f"/api/v1/meetings/{meeting['id']}",
            json={"title": "Renamed"},
            headers={"If-Match": '"1"'},
        )
        xoma.delete(f"/api/v1/meetings/{meeting['id']}")
    with api.client(keys.auditor) as auditor:
        trail = auditor.get(f"/api/v1/meetings/{meeting['id']}/audit").json()
        first = auditor.get(f"/api/v1/meetings/{meeting['id']}/audit", params={"limit": "2"}).json()
        rest = auditor.get(
            f"/api/v1/meetings/{meeting['id']}/audit",
            params={"after_seq": str(first["next_after_seq"])},
        ).json()
    actions = [e["action"] for e in trail["items"]]
    assert actions == [
        "meeting.created",
        "meeting.provisioned",
        "meeting.updated",
        "meeting.cancelled",
    ]
    assert [e["seq"] for e in first["items"] + rest["items"]] == [e["seq"] for e in trail["items"]]
    assert all(len(e["hash"]) == 64 and len(e["prev_hash"]) == 64 for e in trail["items"])
    assert trail["items"][2]["payload"]["changed"] == ["title"]
