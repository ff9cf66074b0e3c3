"""What bothered XOMA's developer in the first hour, over HTTP: unknown query parameters,
one time format in every answer, a readable error for an unencoded '+', and a root that
points at the documentation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.api.conftest import Api, assert_problem

Create = Callable[..., dict[str, Any]]


@pytest.mark.parametrize(
    ("path", "unknown"),
    [
        ("/api/v1/meetings?compliance=violation", ["compliance"]),
        ("/api/v1/meetings?status=finished&statuss=x&page=2", ["page", "statuss"]),
    ],
)
def test_unknown_query_parameters_are_refused_by_name(xoma: httpx.Client, path: str, unknown: list[str]) -> None:
    problem = assert_problem(xoma.get(path), 400)
    assert [e["field"] for e in problem["errors"]] == unknown
    assert "unknown query parameter" in problem["errors"][0]["message"]
    assert "status" in problem["errors"][0]["message"]  # it says what the route does take


def test_unknown_query_parameter_on_one_meeting_routes(xoma: httpx.Client, create_meeting: Create) -> None:
    meeting = create_meeting()
    for suffix in ("", "/participants", "/recordings"):
        problem = assert_problem(xoma.get(f"/api/v1/meetings/{meeting['id']}{suffix}?verbose=1"), 400)
        assert [e["field"] for e in problem["errors"]] == ["verbose"]
    known = xoma.get(f"/api/v1/meetings/{meeting['id']}/recordings?presign=false")
    assert known.status_code == 200, known.text
    assert xoma.get("/api/v1/meetings?status=scheduled&include_total=true").status_code == 200


def test_every_answer_gives_times_in_utc(xoma: httpx.Client, create_meeting: Create) -> None:
    plus_one = timezone(timedelta(hours=1))
    start = (datetime.now(plus_one) + timedelta(days=3)).replace(microsecond=0, minute=0, second=0)
    created = create_meeting(start_time=start.isoformat(), end_time=(start + timedelta(hours=1)).isoformat())
    assert created["start_time"].endswith("Z")
    moved = start + timedelta(hours=2)
    patched = xoma.patch(
        f"/api/v1/meetings/{created['id']}",
        json={"start_time": moved.isoformat(), "end_time": (moved + timedelta(hours=1)).isoformat()},
        headers={"If-Match": f'"{created["version"]}"'},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["start_time"].endswith("Z") and body["end_time"].endswith("Z")
    assert datetime.fromisoformat(body["start_time"]) == moved
    read = xoma.get(f"/api/v1/meetings/{created['id']}").json()
    assert (read["start_time"], read["end_time"]) == (body["start_time"], body["end_time"])
    cancelled = xoma.delete(f"/api/v1/meetings/{created['id']}")
    assert cancelled.json()["start_time"] == body["start_time"]


def test_an_unencoded_plus_is_explained_in_words(xoma: httpx.Client) -> None:
    # httpx would encode '+'; a raw query string sends it as XOMA's client did.
    response = xoma.get(httpx.URL("/api/v1/meetings", query=b"start_from=2026-01-07T10:00:00+01:00"))
    problem = assert_problem(response, 400)
    [error] = problem["errors"]
    assert error["field"] == "start_from"
    assert "%2B" in error["message"] and "use Z" in error["message"]
    assert "regex" not in problem["detail"] and "^" not in problem["detail"]
    encoded = xoma.get("/api/v1/meetings", params={"start_from": "2026-01-07T10:00:00+01:00"})
    assert encoded.status_code == 200, encoded.text


def test_root_points_to_the_documentation(api: Api) -> None:
    answer = httpx.get(f"{api.base_url}/", follow_redirects=False)
    assert answer.status_code == 307 and answer.headers["location"] == "/schema"
    assert httpx.get(f"{api.base_url}/", follow_redirects=True).status_code == 200
