"""Health, metrics, request ids, JSON logs and the OpenAPI document."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from meet_api.app import create_app
from meet_api.lib.logging import JsonFormatter, redact
from meet_api.lib.ratelimit import decide
from meet_api.server import BackgroundServer
from meet_core.google.gateway import GoogleGateway
from tests.api.conftest import Api, Keys, api_settings, assert_problem, meeting_body


def test_health(api: Api) -> None:
    assert httpx.get(api.base_url + "/health/live").json() == {
        "status": "ok",
        "database": None,
        "migration": None,
    }
    ready = httpx.get(api.base_url + "/health/ready")
    assert (
        ready.status_code == 200
        and ready.json()["status"] == "ready"
        and ready.json()["database"] == "ok"
    )


def test_not_ready_without_migrations(
    empty_database_url: str,
    google_env: dict[str, str],
    api_gateway: GoogleGateway,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = api_settings(
        google_env, empty_database_url, tmp_path_factory.mktemp("bare"), "http://127.0.0.1:9"
    )
    with BackgroundServer(create_app(settings, gateway=api_gateway)) as server:
        problem = assert_problem(httpx.get(server.base_url + "/health/ready"), 503)
        assert problem["migration"].startswith("none")
        assert httpx.get(server.base_url + "/health/live").status_code == 200


def test_metrics_count_requests_latency_and_google_calls(
    api: Api, keys: Keys, xoma: httpx.Client
) -> None:
    xoma.post("/api/v1/meetings", json=meeting_body())
    xoma.get("/api/v1/meetings/does-not-exist")
    with api.client(keys.admin) as admin:
        response = admin.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "text/plain; version=0.0.4"
    )
    text = response.text
    created = re.search(
        r'meet_api_requests_total\{method="POST",route="/api/v1/meetings",status="201"\} (\d+)',
        text,
    )
    assert created and int(created.group(1)) >= 1
    assert re.search(
        r'meet_api_requests_total\{method="GET",route="/api/v1/meetings/\{meeting_id\}",'
        r'status="404"\} \d+',
        text,
    )
    assert (
        'meet_api_request_duration_seconds_bucket{method="POST",route="/api/v1/meetings",le="+Inf"}'
        in text
    )
    assert re.search(r'meet_api_google_calls_total\{method="calendar.events.insert"\} [1-9]', text)
    assert re.search(r'meet_api_google_calls_total\{method="meet.spaces.patch"\} [1-9]', text)
    assert "meet_api_provisioning_total" in text and "mka_" not in text


def test_google_errors_are_counted_by_method(
    api: Api, keys: Keys, xoma: httpx.Client, sandbox: object
) -> None:
    sandbox.faults(kinds=["503"], methods=["events.insert"])  # type: ignore[attr-defined]
    assert xoma.post("/api/v1/meetings", json=meeting_body()).status_code == 202
    with api.client(keys.admin) as admin:
        text = admin.get("/metrics").text
    assert re.search(
        r'meet_api_google_errors_total\{kind="GoogleUnavailable",'
        r'method="calendar.events.insert"\} [1-9]',
        text,
    )


def test_request_ids(api: Api, xoma: httpx.Client) -> None:
    given = xoma.get("/api/v1/meetings", headers={"X-Request-ID": "xoma-req-12345678"})
    assert given.headers["x-request-id"] == "xoma-req-12345678"
    unsafe = xoma.get("/api/v1/meetings", headers={"X-Request-ID": "bad id\twith spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["x-request-id"])
    assert httpx.get(api.base_url + "/nowhere").headers["x-request-id"]


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(name) for name in ("meet_api", "meet_core")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield stream
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_json_logs_carry_request_ids_and_never_keys(
    api: Api, keys: Keys, xoma: httpx.Client, captured_logs: io.StringIO, sandbox: object
) -> None:
    sandbox.faults(kinds=["503"], methods=["spaces.patch"])  # type: ignore[attr-defined]  # a warning path too
    xoma.post("/api/v1/meetings", json=meeting_body(), headers={"X-Request-ID": "trace-logs-0001"})
    httpx.get(api.base_url + "/api/v1/meetings", headers={"Authorization": f"Bearer {keys.admin}x"})
    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "meet_api.access"]
    assert any(line["request_id"] == "trace-logs-0001" and line["status"] == 202 for line in access)
    assert any(line["status"] == 401 for line in access)
    provisioning = [line for line in lines if line["logger"] == "meet_core.provisioning"]
    assert provisioning and all(line["request_id"] == "trace-logs-0001" for line in provisioning)
    assert all(line["request_id"] for line in access + provisioning)
    text = captured_logs.getvalue()
    for secret in (keys.admin, keys.service, keys.auditor):
        assert secret not in text and secret.split("_", 2)[2] not in text  # mka_<id>_<secret>
    assert "Bearer" not in text


def test_redaction_of_key_shaped_strings() -> None:
    key = "mka_abcdefghijklmnop_" + "S" * 43
    assert (
        redact(f"token {key} and Authorization: Bearer abc.def")
        == "token [redacted] and Authorization: [redacted]"
    )
    assert redact("ya29.a0AfH6SMB-secret") == "[redacted]"


def test_rate_limit_decision_unit() -> None:
    """The answer for the n-th request of a window (the count itself is the database's)."""
    opened = 1_000_000_000_000  # ms
    first = decide(1, opened, opened, limit=2, window_seconds=60)
    assert first.allowed and first.remaining == 1 and first.reset_seconds == 60
    assert "Retry-After" not in first.headers()
    assert decide(2, opened, opened + 30_000, 2, 60).remaining == 0
    refused = decide(3, opened, opened + 59_000, 2, 60)
    assert not refused.allowed and refused.remaining == 0 and refused.reset_seconds == 1
    assert refused.headers() == {
        "RateLimit-Limit": "2",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "1",
        "RateLimit-Policy": "2;w=60",
        "Retry-After": "1",
    }
    # This process's clock a little behind or ahead of the database's: within 1..window.
    assert decide(1, opened, opened - 5_000, 2, 60).reset_seconds == 60
    assert decide(3, opened, opened + 61_000, 2, 60).reset_seconds == 1


def test_openapi_documents_auth_and_problems(api: Api) -> None:
    schema = httpx.get(api.base_url + "/schema/openapi.json").json()
    assert schema["components"]["securitySchemes"]["BearerApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "mka_<key id>_<secret>",
        "description": "An API key from `meet-archive api-key create`.",
    }
    assert schema["security"] == [{"BearerApiKey": []}]
    expected = {
        ("/api/v1/meetings", "post"),
        ("/api/v1/meetings", "get"),
        ("/api/v1/meetings/{meeting_id}", "get"),
        ("/api/v1/meetings/{meeting_id}", "patch"),
        ("/api/v1/meetings/{meeting_id}", "delete"),
        ("/api/v1/meetings/{meeting_id}/participants", "get"),
        ("/api/v1/meetings/{meeting_id}/recordings", "get"),
        ("/api/v1/meetings/{meeting_id}/audit", "get"),
        ("/metrics", "get"),
        ("/health/live", "get"),
        ("/health/ready", "get"),
    }
    found = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert expected <= found
    for path, method in expected:
        operation = schema["paths"][path][method]
        if path.startswith("/health"):
            assert operation["security"] == [{}]
            continue
        for status in ("401", "403", "429"):
            assert "application/problem+json" in operation["responses"][status]["content"], (
                path,
                method,
                status,
            )
    create = schema["paths"]["/api/v1/meetings"]["post"]
    assert {"201", "202", "409", "413", "415", "422"} <= set(create["responses"])
    # Lists: total is opt-in (include_total, a boolean query parameter) and nullable.
    listing = schema["paths"]["/api/v1/meetings"]["get"]
    [include_total] = [p for p in listing["parameters"] if p["name"] == "include_total"]
    assert include_total["in"] == "query" and include_total["required"] is False
    assert include_total["schema"]["type"] == "boolean" and include_total["schema"]["default"] is False
    assert "include_total=true" in listing["description"]
    page = schema["components"]["schemas"]["MeetingPage"]
    assert "total" in page["required"]
    assert {"type": "null"} in page["properties"]["total"]["oneOf"]
    assert {"type": "integer"} in page["properties"]["total"]["oneOf"]
    assert create["requestBody"]["content"]["application/json"]["schema"]
    assert httpx.get(api.base_url + "/schema").status_code == 200


def test_docs_page_works_offline(api: Api) -> None:
    """The docs UI loads only files the API itself serves (no CDN), without a key."""
    page = httpx.get(api.base_url + "/schema")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/schema/assets/") for a in assets), assets
    for asset in assets:
        answer = httpx.get(api.base_url + asset)
        assert answer.status_code == 200 and len(answer.content) > 100, asset
    # No way out of the assets folder (encoded so that the client does not normalise it).
    escape = httpx.get(api.base_url + "/schema/assets/%2e%2e/%2e%2e/__init__.py")
    assert escape.status_code in (400, 404)


def test_database_outage_is_a_503_with_retry_after(database_url: str, google_gateway: Any, tmp_path: Any) -> None:
    """A database that cannot be reached answers 503 + Retry-After (clients retry), not 500."""
    from litestar.testing import TestClient

    from meet_core.settings import Settings

    unreachable = ("postgresql+psycopg://nobody@127.0.0.1:1/none" if "postgresql" in database_url
                   else f"sqlite:///{tmp_path}/missing-folder/x/../../nope/none.db")
    settings = Settings.from_env({"MEET_HOME": str(tmp_path), "MEET_DATABASE_URL": unreachable})
    with TestClient(create_app(settings, gateway=google_gateway)) as client:
        answer = client.get("/api/v1/meetings", headers={"Authorization": "Bearer mka_" + "a" * 16 + "_" + "b" * 43})
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "5"
    assert answer.headers["content-type"].startswith("application/problem+json")
