"""No route but health and the API documents answers without a valid key.

The routes are not listed by hand: they come from the app's own route table and from the
OpenAPI document it serves, so a route added later is covered without touching this test.
Every method of every route (and methods it does not have), path spellings that could slip
past a prefix check (``/schema/../api``, ``/health/..``, percent-encoding, double slashes,
case, trailing slash) sent byte for byte over a raw socket, and every kind of bad
credential: all get a 401 problem document (or, for a path that is not a route, a 404/405
problem) and never a 2xx. A real meeting id is used so that a bypass would show data.
"""

from __future__ import annotations

import http.client
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from sqlalchemy.orm import Session, sessionmaker

from meet_api.app import create_app
from meet_api.config import ApiConfig
from meet_api.server import BackgroundServer
from meet_core.apikeys import create_key, revoke_key
from meet_core.settings import Settings
from tests.api.conftest import insert_pending

PUBLIC_PREFIXES = ("/health/", "/schema")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@dataclass(frozen=True)
class Surface:
    app: Litestar
    base_url: str
    meeting_id: str
    good: str
    revoked: str
    wrong_secret: str


@pytest.fixture(scope="module")
def surface(
    database_url: str,
    google_env: dict[str, str],
    sessions: sessionmaker[Session],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Surface]:
    settings = Settings.from_env(
        {**google_env, "MEET_DATABASE_URL": database_url,
         "MEET_HOME": str(tmp_path_factory.mktemp("surface")),
         "MEET_S3_ENDPOINT_URL": "http://127.0.0.1:9", "MEET_S3_BUCKET": "unused"}
    )
    app = create_app(settings, config=ApiConfig(rate_limit_per_minute=1_000_000))
    client = f"surface-{uuid.uuid4().hex[:8]}"
    with sessions.begin() as session:
        good = create_key(session, name=f"{client}-admin", role="admin", client=client)
        gone = create_key(session, name=f"{client}-gone", role="admin", client=client)
        client_id = good.client_id
    with sessions.begin() as session:
        revoke_key(session, gone.key_id)
    meeting_id = insert_pending(sessions, client_id)
    wrong = good.plaintext[:-4] + ("AAAA" if not good.plaintext.endswith("AAAA") else "BBBB")
    with BackgroundServer(app) as server:
        yield Surface(app, server.base_url, meeting_id, good.plaintext, gone.plaintext, wrong)


def raw(base_url: str, method: str, target: str, headers: dict[str, str] | None = None,
        body: bytes | None = None) -> tuple[int, str, bytes]:
    """One request with the request-target exactly as given (no client-side normalization)."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        conn.close()


def concrete(path: str, meeting_id: str) -> str:
    """A route template with its parameters filled in (a real meeting id)."""
    for name in ("{meeting_id:str}", "{meeting_id}"):
        path = path.replace(name, meeting_id)
    path = path.replace("{file_path:path}", "x.js").replace("{path:str}", "x")
    # Any other parameter (e.g. a matter's name) as its bare OpenAPI form, sent literally.
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def routes(app: Litestar) -> list[tuple[str, set[str]]]:
    return [(r.path, set(r.methods)) for r in app.routes if isinstance(r, HTTPRoute)]


def is_public(path: str) -> bool:
    # "/" only redirects to the documentation (test_first_hour.py), it serves no data.
    return path == "/" or path.startswith(PUBLIC_PREFIXES)


def assert_refused(status: int, content_type: str, body: bytes, what: str) -> None:
    assert not 200 <= status < 400, f"{what} answered {status} without a valid key: {body[:300]!r}"
    if status != 401:  # not a route at all: a 404/405 problem, never data
        assert status in (404, 405), f"{what}: {status} {body[:300]!r}"
    if body:
        assert content_type.startswith("application/problem+json"), (what, content_type, body[:200])
        assert json.loads(body)["status"] == status


def test_the_route_table_has_the_expected_public_part(surface: Surface) -> None:
    public = sorted(p for p, _ in routes(surface.app) if is_public(p))
    assert {"/", "/health/live", "/health/ready", "/schema/openapi.json"} <= set(public)
    protected = [p for p, _ in routes(surface.app) if not is_public(p)]
    assert protected and all(p.startswith(("/api/v1/", "/metrics")) for p in protected), protected


def test_every_route_and_method_refuses_a_request_without_a_key(surface: Surface) -> None:
    checked = 0
    for path, methods in routes(surface.app):
        if is_public(path):
            continue
        target = concrete(path, surface.meeting_id)
        for method in METHODS:
            body = b'{"title": "x"}' if method in ("POST", "PATCH", "PUT") else None
            status, ctype, answer = raw(surface.base_url, method, target, body=body)
            assert_refused(status, ctype, answer, f"{method} {target}")
            if method in methods:
                assert status == 401, f"{method} {target}: {status}"
            checked += 1
    assert checked >= 6 * len(METHODS)


def test_every_openapi_operation_is_keyed_except_health(surface: Surface) -> None:
    status, _, body = raw(surface.base_url, "GET", "/schema/openapi.json")
    assert status == 200
    document = json.loads(body)
    assert document["security"] == [{"BearerApiKey": []}]
    table = {concrete(p, "{x}").replace("{x}", "{meeting_id}") for p, _ in routes(surface.app)}
    for path, operations in document["paths"].items():
        assert path in table or concrete(path, "{meeting_id}") in table, f"{path}: not a route"
        for method, operation in operations.items():
            if method not in {m.lower() for m in METHODS}:
                continue
            if path.startswith("/health/"):
                assert operation.get("security") == [{}], (method, path)  # documented as open
                continue
            assert "security" not in operation or operation["security"] == document["security"]
            target = concrete(path, surface.meeting_id)
            answer = raw(surface.base_url, method.upper(), target,
                         body=b"{}" if method in ("post", "patch", "put") else None)
            assert answer[0] == 401, f"{method.upper()} {target}: {answer[0]} {answer[2][:200]!r}"


@pytest.mark.parametrize(
    "target",
    [
        "/schema/../api/v1/meetings",
        "/schema/..%2Fapi/v1/meetings",
        "/schema%2F..%2Fapi%2Fv1%2Fmeetings",
        "/health/../api/v1/meetings",
        "/health/live/../../api/v1/meetings",
        "/health/%2E%2E/api/v1/meetings",
        "/schemax/../api/v1/meetings",
        "//api/v1/meetings",
        "/api/v1//meetings",
        "/api/v1/meetings/",
        "/API/v1/meetings",
        "/api/v1/%6deetings",
        "/api/v1/meetings?api_key=x",
        "/./api/v1/meetings",
        "/metrics/",
        "/api/v1/meetings/{id}",
        "/api/v1/meetings/{id}/audit",
        "/api/v1/meetings/{id}/recordings?presign=true",
        "/health/../api/v1/meetings/{id}",
        "/schema/../api/v1/meetings/{id}/audit",
        "/schema/../metrics",
    ],
)
def test_path_spellings_cannot_slip_past_the_key_check(surface: Surface, target: str) -> None:
    target = target.replace("{id}", surface.meeting_id)
    for method in ("GET", "HEAD", "DELETE"):
        status, ctype, body = raw(surface.base_url, method, target)
        assert_refused(status, ctype, body, f"{method} {target}")
        assert b"external_id" not in body and b"organizer" not in body  # no meeting data


def test_every_kind_of_bad_credential_is_refused(surface: Surface) -> None:
    bad = [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Token " + surface.wrong_secret},
        {"Authorization": "Bearer " + surface.wrong_secret},
        {"Authorization": "Bearer " + surface.revoked},
        {"Authorization": "Bearer " + surface.wrong_secret + "x"},
        {"Authorization": "Bearer " + surface.wrong_secret[:-1]},
        {"Authorization": "Bearer mka_aaaaaaaaaaaaaaaa_" + "A" * 43},
        {"Authorization": "Bearer null"},
        {"Authorization": "Bearer ' OR '1'='1"},
        {"X-Api-Key": surface.good},  # a valid key, but not where keys go
        {"Cookie": "api_key=" + surface.good},
        {"Authorization": "Basic " + surface.good},
        {"Authorization": "Bearer" + surface.good},
    ]
    for path, methods in routes(surface.app):
        if is_public(path):
            continue
        target = concrete(path, surface.meeting_id)
        # A method the route has (a POST-only route answers any other with 405 unkeyed).
        method = "GET" if "GET" in methods else "POST"
        payload = b"{}" if method == "POST" else None
        for headers in bad:
            status, ctype, body = raw(surface.base_url, method, target, headers, body=payload)
            assert status == 401, (target, headers, status, body[:200])
            assert ctype.startswith("application/problem+json")


def test_public_routes_answer_without_a_key_and_show_no_data(surface: Surface) -> None:
    for target in ("/health/live", "/health/ready", "/schema/openapi.json", "/schema"):
        status, _, body = raw(surface.base_url, "GET", target)
        assert status == 200, target
        assert surface.meeting_id.encode() not in body and b"organizer@" not in body


def test_a_valid_key_on_the_query_string_is_not_a_key(surface: Surface) -> None:
    for name in ("access_token", "api_key", "key", "authorization"):
        status, _, _ = raw(surface.base_url, "GET", f"/api/v1/meetings?{name}={surface.good}")
        assert status == 401
    # ... while in its place it works (the test's key is a real one)
    status, _, _ = raw(surface.base_url, "GET", "/api/v1/meetings",
                       {"Authorization": "Bearer " + surface.good})
    assert status == 200
