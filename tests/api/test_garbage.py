"""Garbage on every input path is a 4xx problem document and writes nothing, here or at Google."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from meet_sandbox.emulator import SandboxClient
from tests.api.conftest import (
    Api,
    Keys,
    assert_problem,
    google_counts,
    insert_pending,
    meeting_body,
    row_counts,
)

NOW = datetime.now(UTC).replace(microsecond=0)
SOON = NOW + timedelta(days=1)


def _without(field: str) -> Callable[[], dict[str, Any]]:
    return lambda: {k: v for k, v in meeting_body().items() if k != field}


def _with(**changes: Any) -> Callable[[], dict[str, Any]]:
    return lambda: meeting_body(**changes)


def _people(*entries: Any) -> Callable[[], dict[str, Any]]:
    return lambda: meeting_body(participants=list(entries))


def _times(start: Any, end: Any) -> Callable[[], dict[str, Any]]:
    return lambda: meeting_body(start_time=start, end_time=end)


# (name, body factory, expected status)
JSON_CORPUS: list[tuple[str, Callable[[], Any], int]] = [
    # unknown fields, top level and nested
    ("unknown-field", _with(colour="red"), 422),
    ("unknown-participant-field", _people({"email": "a@example.org", "phone": "1"}), 422),
    # body shape
    ("array", lambda: [meeting_body()], 422),
    ("null", lambda: None, 422),
    ("string", lambda: "meeting", 422),
    ("empty-object", lambda: {}, 422),
    # external_id
    ("external_id-missing", _without("external_id"), 422),
    ("external_id-null", _with(external_id=None), 422),
    ("external_id-number", _with(external_id=123), 422),
    ("external_id-empty", _with(external_id=""), 422),
    ("external_id-space", _with(external_id="A B"), 422),
    ("external_id-newline", _with(external_id="AB\n"), 422),
    ("external_id-long", _with(external_id="x" * 201), 422),
    ("external_id-list", _with(external_id=["a"]), 422),
    # title
    ("title-missing", _without("title"), 422),
    ("title-empty", _with(title=""), 422),
    ("title-blank", _with(title="   "), 422),
    ("title-number", _with(title=42), 422),
    ("title-bool", _with(title=True), 422),
    ("title-long", _with(title="x" * 1025), 422),
    ("title-nul", _with(title="a\u0000b"), 422),
    ("title-newline", _with(title="a\nb"), 422),
    ("title-trailing-newline", _with(title="ab\n"), 422),
    # description
    ("description-number", _with(description=1), 422),
    ("description-long", _with(description="x" * 8193), 422),
    ("description-nul", _with(description="\u0000"), 422),
    # times
    ("start-missing", _without("start_time"), 422),
    ("end-missing", _without("end_time"), 422),
    (
        "start-no-offset",
        _times(SOON.replace(tzinfo=None).isoformat(), (SOON + timedelta(hours=1)).isoformat()),
        422,
    ),
    (
        "end-no-offset",
        _times(SOON.isoformat(), (SOON + timedelta(hours=1)).replace(tzinfo=None).isoformat()),
        422,
    ),
    (
        "start-date-only",
        _times(SOON.date().isoformat(), (SOON + timedelta(hours=1)).isoformat()),
        422,
    ),
    ("start-words", _times("tomorrow at ten", (SOON + timedelta(hours=1)).isoformat()), 422),
    ("start-epoch", _times(1_900_000_000, (SOON + timedelta(hours=1)).isoformat()), 422),
    ("start-impossible-date", _times("2031-02-30T10:00:00Z", "2031-02-30T11:00:00Z"), 422),
    ("start-no-seconds", _times("2031-01-01T10:00+01:00", "2031-01-01T11:00:00+01:00"), 422),
    ("end-before-start", _times(SOON.isoformat(), (SOON - timedelta(minutes=1)).isoformat()), 422),
    ("end-equals-start", _times(SOON.isoformat(), SOON.isoformat()), 422),
    (
        "longer-than-24h",
        _times(SOON.isoformat(), (SOON + timedelta(hours=24, seconds=1)).isoformat()),
        422,
    ),
    (
        "in-the-past",
        _times((NOW - timedelta(days=2)).isoformat(), (NOW - timedelta(days=1)).isoformat()),
        422,
    ),
    # time zone
    ("timezone-unknown", _with(timezone="Mars/Olympus_Mons"), 422),
    ("timezone-empty", _with(timezone=""), 422),
    ("timezone-path", _with(timezone="../../etc/passwd"), 422),
    ("timezone-number", _with(timezone=5), 422),
    ("timezone-abbreviation", _with(timezone="CEST"), 422),
    ("timezone-newline", _with(timezone="Europe/Zurich\n"), 422),
    # organizer
    ("organizer-other-domain", _with(organizer_email="boss@example.org"), 422),
    ("organizer-lookalike-domain", _with(organizer_email="boss@example.com.evil.org"), 422),
    ("organizer-not-email", _with(organizer_email="organizer"), 422),
    ("organizer-number", _with(organizer_email=7), 422),
    (
        "organizer-conflicts-with-role",
        lambda: meeting_body(
            organizer_email="organizer@example.com",
            participants=[{"email": "other@example.com", "role": "organizer"}],
        ),
        422,
    ),
    (
        "two-organizers",
        _people(
            {"email": "a@example.com", "role": "organizer"},
            {"email": "b@example.com", "role": "organizer"},
        ),
        422,
    ),
    # participants
    ("participants-missing", _without("participants"), 422),
    ("participants-empty", _people(), 422),
    ("participants-object", _with(participants={"email": "a@example.org"}), 422),
    ("participants-strings", _people("a@example.org"), 422),
    (
        "participants-101",
        lambda: meeting_body(participants=[{"email": f"p{i}@example.org"} for i in range(101)]),
        422,
    ),
    ("participant-empty-object", _people({}), 422),
    ("participant-email-null", _people({"email": None}), 422),
    ("participant-email-no-at", _people({"email": "alice.example.org"}), 422),
    ("participant-email-no-tld", _people({"email": "alice@example"}), 422),
    ("participant-email-space", _people({"email": "al ice@example.org"}), 422),
    ("participant-email-double-dot", _people({"email": "al..ice@example.org"}), 422),
    ("participant-email-leading-dot", _people({"email": ".alice@example.org"}), 422),
    ("participant-email-two-ats", _people({"email": "a@b@example.org"}), 422),
    ("participant-email-unicode", _people({"email": "zoë@example.org"}), 422),
    ("participant-email-newline", _people({"email": "alice@example.org\n"}), 422),
    ("participant-email-long", _people({"email": "a" * 250 + "@example.org"}), 422),
    ("participant-role-unknown", _people({"email": "a@example.org", "role": "owner"}), 422),
    (
        "participant-display-name-long",
        _people({"email": "a@example.org", "display_name": "x" * 201}),
        422,
    ),
    (
        "participant-display-name-control",
        _people({"email": "a@example.org", "display_name": "a\u0007"}),
        422,
    ),
]

RAW_CORPUS: list[tuple[str, bytes, str, int]] = [
    ("malformed-json", b'{"external_id": ', "application/json", 400),
    ("trailing-garbage", json.dumps(meeting_body()).encode() + b"}", "application/json", 400),
    ("bad-utf8", b'{"external_id": "X-\xff\xfe", "title": "t"}', "application/json", 400),
    ("overlong-utf8", b'{"title": "\xc0\xaf"}', "application/json", 400),
    ("lone-surrogate-escape", b'{"title": "\\ud800"}', "application/json", 400),
    ("empty-body", b"", "application/json", 400),
    ("nan", b'{"title": NaN}', "application/json", 400),
    ("text-plain", json.dumps(meeting_body()).encode(), "text/plain", 415),
    ("form", b"external_id=a&title=b", "application/x-www-form-urlencoded", 415),
    ("no-content-type", json.dumps(meeting_body()).encode(), "", 415),
    (
        "latin1-charset",
        json.dumps(meeting_body()).encode(),
        "application/json; charset=latin-1",
        415,
    ),
    ("huge", b'{"title": "' + b"x" * (300 * 1024) + b'"}', "application/json", 413),
]

BAD_IDEMPOTENCY_KEYS = ["", "has space", "k" * 256, "caf\u00e9"]


@pytest.fixture
def guard(
    api: Api, sandbox: SandboxClient
) -> Callable[[Callable[[], httpx.Response], int], dict[str, Any]]:
    """Send a request, expect the problem, and check that nothing was written anywhere."""

    def check(send: Callable[[], httpx.Response], status: int) -> dict[str, Any]:
        before, google_before = row_counts(api.sessions), google_counts(sandbox)
        problem = assert_problem(send(), status)
        assert row_counts(api.sessions) == before
        google_after = google_counts(sandbox)
        assert (google_after.events, google_after.spaces) == (
            google_before.events,
            google_before.spaces,
        )
        return problem

    return check


@pytest.mark.parametrize(("name", "make", "status"), JSON_CORPUS, ids=[c[0] for c in JSON_CORPUS])
def test_create_garbage_json(
    xoma: httpx.Client, guard: Any, name: str, make: Callable[[], Any], status: int
) -> None:
    problem = guard(
        lambda: xoma.post(
            "/api/v1/meetings",
            content=json.dumps(make()),
            headers={"Content-Type": "application/json"},
        ),
        status,
    )
    if status == 422:
        assert problem["errors"] and all(e["field"] and e["message"] for e in problem["errors"])


@pytest.mark.parametrize(
    ("name", "raw", "content_type", "status"), RAW_CORPUS, ids=[c[0] for c in RAW_CORPUS]
)
def test_create_garbage_bytes(
    xoma: httpx.Client, guard: Any, name: str, raw: bytes, content_type: str, status: int
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    if not content_type:
        xoma.headers.pop("content-type", None)
    guard(lambda: xoma.post("/api/v1/meetings", content=raw, headers=headers), status)


@pytest.mark.parametrize("key", BAD_IDEMPOTENCY_KEYS, ids=["empty", "space", "long", "non-ascii"])
def test_create_garbage_idempotency_key(xoma: httpx.Client, guard: Any, key: str) -> None:
    guard(
        lambda: xoma.post(
            "/api/v1/meetings",
            json=meeting_body(),
            headers={"Idempotency-Key": key.encode("utf-8")},
        ),
        400,
    )


PATCH_CORPUS: list[tuple[str, Any, dict[str, str], int]] = [
    ("no-version", {"title": "x"}, {}, 428),
    ("if-match-words", {"title": "x"}, {"If-Match": "latest"}, 400),
    ("if-match-star", {"title": "x"}, {"If-Match": "*"}, 400),
    ("if-match-disagrees-with-body", {"title": "x", "version": 2}, {"If-Match": '"1"'}, 400),
    ("stale-version", {"title": "x"}, {"If-Match": '"7"'}, 409),
    ("stale-version-in-body", {"title": "x", "version": 7}, {}, 409),
    ("version-as-string", {"title": "x", "version": "1"}, {}, 422),
    ("version-zero", {"title": "x", "version": 0}, {}, 422),
    ("nothing-to-change", {}, {"If-Match": '"1"'}, 422),
    ("unknown-field", {"status": "finished"}, {"If-Match": '"1"'}, 422),
    ("organizer-change", {"organizer_email": "boss@example.com"}, {"If-Match": '"1"'}, 422),
    ("title-null", {"title": None}, {"If-Match": '"1"'}, 422),
    ("title-long", {"title": "x" * 1025}, {"If-Match": '"1"'}, 422),
    (
        "end-before-start",
        {"end_time": (NOW + timedelta(days=3, minutes=-5)).isoformat()},
        {"If-Match": '"1"'},
        422,
    ),
    ("end-no-offset", {"end_time": "2031-01-01T10:00:00"}, {"If-Match": '"1"'}, 422),
    ("too-long", {"end_time": (NOW + timedelta(days=5)).isoformat()}, {"If-Match": '"1"'}, 422),
    ("timezone-unknown", {"timezone": "Atlantis/Capital"}, {"If-Match": '"1"'}, 422),
    ("participants-empty", {"participants": []}, {"If-Match": '"1"'}, 422),
    ("participant-bad-email", {"participants": [{"email": "nope"}]}, {"If-Match": '"1"'}, 422),
    (
        "new-organizer",
        {"participants": [{"email": "x@example.com", "role": "organizer"}]},
        {"If-Match": '"1"'},
        422,
    ),
    ("array", [{"title": "x"}], {"If-Match": '"1"'}, 422),
]


@pytest.mark.parametrize(
    ("name", "body", "headers", "status"), PATCH_CORPUS, ids=[c[0] for c in PATCH_CORPUS]
)
def test_patch_garbage(
    api: Api,
    keys: Keys,
    xoma: httpx.Client,
    guard: Any,
    name: str,
    body: Any,
    headers: dict[str, str],
    status: int,
) -> None:
    meeting_id = insert_pending(api.sessions, keys.client_id)
    guard(
        lambda: xoma.patch(
            f"/api/v1/meetings/{meeting_id}",
            content=json.dumps(body),
            headers={"Content-Type": "application/json", **headers},
        ),
        status,
    )
    assert xoma.get(f"/api/v1/meetings/{meeting_id}").json()["version"] == 1


# The same byte-level garbage shaped as PATCH bodies (a create body fails on its fields first).
PATCH_RAW_CORPUS = [
    (
        name,
        raw.replace(b'"external_id"', b'"title"')
        if name != "trailing-garbage"
        else b'{"title": "x"}}',
        content_type,
        status,
    )
    for name, raw, content_type, status in RAW_CORPUS
]


@pytest.mark.parametrize(
    ("name", "raw", "content_type", "status"),
    PATCH_RAW_CORPUS,
    ids=[c[0] for c in PATCH_RAW_CORPUS],
)
def test_patch_garbage_bytes(
    api: Api,
    keys: Keys,
    xoma: httpx.Client,
    guard: Any,
    name: str,
    raw: bytes,
    content_type: str,
    status: int,
) -> None:
    meeting_id = insert_pending(api.sessions, keys.client_id)
    headers = {"If-Match": '"1"', **({"Content-Type": content_type} if content_type else {})}
    guard(
        lambda: xoma.patch(f"/api/v1/meetings/{meeting_id}", content=raw, headers=headers), status
    )


QUERY_CORPUS: list[tuple[str, str, dict[str, str], int]] = [
    ("status-unknown", "/api/v1/meetings", {"status": "done"}, 400),
    ("limit-zero", "/api/v1/meetings", {"limit": "0"}, 400),
    ("limit-over-cap", "/api/v1/meetings", {"limit": "201"}, 400),
    ("limit-words", "/api/v1/meetings", {"limit": "ten"}, 400),
    ("start-from-naive", "/api/v1/meetings", {"start_from": "2031-01-01T10:00:00"}, 400),
    ("start-to-words", "/api/v1/meetings", {"start_to": "next week"}, 400),
    ("cursor-garbage", "/api/v1/meetings", {"cursor": "not-a-cursor"}, 400),
    ("cursor-json-garbage", "/api/v1/meetings", {"cursor": "WzEsMl0"}, 400),  # [1,2]
    ("external-id-long", "/api/v1/meetings", {"external_id": "x" * 201}, 400),
    ("presign-words", "/api/v1/meetings/{id}/recordings", {"presign": "please"}, 400),
    ("after-seq-negative", "/api/v1/meetings/{id}/audit", {"after_seq": "-1"}, 400),
    ("audit-limit-huge", "/api/v1/meetings/{id}/audit", {"limit": "100000"}, 400),
    ("id-not-uuid", "/api/v1/meetings/not-a-meeting", {}, 404),
    ("id-too-long", "/api/v1/meetings/" + "a" * 65, {}, 400),
    ("id-unknown", "/api/v1/meetings/00000000-0000-4000-8000-000000000000", {}, 404),
]


@pytest.mark.parametrize(
    ("name", "path", "params", "status"), QUERY_CORPUS, ids=[c[0] for c in QUERY_CORPUS]
)
def test_query_and_path_garbage(
    api: Api, keys: Keys, guard: Any, name: str, path: str, params: dict[str, str], status: int
) -> None:
    meeting_id = insert_pending(api.sessions, keys.client_id)
    with api.client(keys.admin) as admin:
        guard(lambda: admin.get(path.replace("{id}", meeting_id), params=params), status)


def test_delete_and_subroutes_of_garbage_ids(keys: Keys, xoma: httpx.Client, guard: Any) -> None:
    for path in (
        "/api/v1/meetings/%00",
        "/api/v1/meetings/..%2F..%2Fetc",
        "/api/v1/meetings/' OR 1=1 --",
    ):
        guard(lambda p=path: xoma.delete(p), 404)
        guard(lambda p=path: xoma.get(p + "/participants"), 404)


def test_unknown_route_and_method_are_problems(api: Api, xoma: httpx.Client, guard: Any) -> None:
    guard(lambda: xoma.get("/api/v2/meetings"), 404)
    guard(lambda: xoma.put("/api/v1/meetings", json=meeting_body()), 405)
