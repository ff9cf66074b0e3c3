"""Unit tests of the retry policy (one function each, fake clock: no network, no sleeping)."""

from __future__ import annotations

import http.client
import json
from typing import Any

import google.auth.exceptions
import httplib2
import pytest
from googleapiclient.errors import HttpError

from meet_core.google.errors import (
    Conflict,
    GoogleError,
    GoogleUnavailable,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    QuotaExhausted,
)
from meet_core.google.retry import (
    RetryPolicy,
    TruncatedBody,
    call_with_retry,
    classify,
    parse_error_body,
    parse_retry_after,
)


def http_error(status: int, body: object = b"", **headers: str) -> HttpError:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    resp = httplib2.Response(
        {"status": status, **{k.replace("_", "-"): v for k, v in headers.items()}}
    )
    return HttpError(resp, content, uri="http://127.0.0.1/x")


def legacy(status: int, reason: str) -> dict[str, object]:
    return {
        "error": {
            "code": status,
            "message": f"m {reason}",
            "errors": [{"domain": "usageLimits", "reason": reason}],
        }
    }


def aip(status: int, code: str, **extra: object) -> dict[str, object]:
    return {"error": {"code": status, "message": f"m {code}", "status": code, **extra}}


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def run(
    failures: list[BaseException], policy: RetryPolicy, fake: FakeTime, rand: float = 0.5
) -> tuple[str, int]:
    """call_with_retry over an attempt that raises ``failures`` in turn, then returns "ok"."""
    attempts = 0

    def attempt() -> str:
        nonlocal attempts
        attempts += 1
        if failures:
            raise failures.pop(0)
        return "ok"

    result = call_with_retry(
        attempt, method="t.m", policy=policy, sleep=fake.sleep, clock=fake.clock, rand=lambda: rand
    )
    return result, attempts


@pytest.mark.parametrize(
    "exc",
    [
        http_error(429, aip(429, "RESOURCE_EXHAUSTED")),
        http_error(500, legacy(500, "backendError")),
        http_error(502, b"<html>bad gateway</html>"),
        http_error(503, b"<html><body>Service Unavailable</body></html>"),
        http_error(403, legacy(403, "rateLimitExceeded")),
        http_error(403, legacy(403, "userRateLimitExceeded")),
        ConnectionResetError(104, "reset"),
        TimeoutError("timed out"),
        http.client.IncompleteRead(b"abc", 10),
        http.client.RemoteDisconnected("closed"),
        TruncatedBody("cut"),
        google.auth.exceptions.TransportError("token endpoint down"),
    ],
    ids=lambda e: type(e).__name__ + (f"-{e.resp.status}" if isinstance(e, HttpError) else ""),
)
def test_transient_failures_are_retried_then_succeed(exc: BaseException) -> None:
    fake = FakeTime()
    result, attempts = run([exc, exc], RetryPolicy(base=0.1, cap=1, deadline=30), fake)
    assert (result, attempts) == ("ok", 3)
    assert len(fake.sleeps) == 2


@pytest.mark.parametrize(
    ("exc", "cls", "reason"),
    [
        (http_error(400, legacy(400, "invalid")), InvalidRequest, "invalid"),
        (http_error(404, aip(404, "NOT_FOUND")), NotFound, "NOT_FOUND"),
        (http_error(410, legacy(410, "deleted")), NotFound, "deleted"),
        (http_error(409, legacy(409, "duplicate")), Conflict, "duplicate"),
        (http_error(403, legacy(403, "forbidden")), PermissionDenied, "forbidden"),
        (http_error(403, aip(403, "PERMISSION_DENIED")), PermissionDenied, "PERMISSION_DENIED"),
        (http_error(401, aip(401, "UNAUTHENTICATED")), PermissionDenied, "UNAUTHENTICATED"),
        (http_error(403, legacy(403, "quotaExceeded")), QuotaExhausted, "quotaExceeded"),
        (http_error(403, legacy(403, "dailyLimitExceeded")), QuotaExhausted, "dailyLimitExceeded"),
        (http_error(412, b"not json at all"), InvalidRequest, None),
    ],
)
def test_client_errors_are_not_retried(
    exc: HttpError, cls: type[GoogleError], reason: str | None
) -> None:
    fake = FakeTime()
    with pytest.raises(cls) as info:
        run([exc], RetryPolicy(base=0.1, cap=1, deadline=30), fake)
    assert fake.sleeps == []
    assert info.value.status == exc.resp.status
    assert info.value.reason == reason
    assert info.value.method == "t.m"


def test_refresh_error_retryable_flag_decides() -> None:
    transient = google.auth.exceptions.RefreshError("temporarily_unavailable", retryable=True)
    final = google.auth.exceptions.RefreshError("unauthorized_client", retryable=False)
    assert classify(transient, "m")[1] is True
    error, retryable = classify(final, "m")
    assert retryable is False and isinstance(error, PermissionDenied)


def test_unknown_exceptions_propagate_unchanged() -> None:
    with pytest.raises(KeyError):
        classify(KeyError("bug"), "m")


def test_backoff_grows_is_capped_and_jittered() -> None:
    policy = RetryPolicy(base=0.2, cap=8.0, deadline=1000)
    low = [policy.delay(n, None, 0.0) for n in range(10)]
    high = [policy.delay(n, None, 0.999999) for n in range(10)]
    assert low[:3] == pytest.approx([0.1, 0.2, 0.4])
    assert high[:3] == pytest.approx([0.2, 0.4, 0.8], rel=1e-5)
    assert max(high) <= 8.0 and high[-1] == pytest.approx(8.0, rel=1e-5)
    assert all(a < b for a, b in zip(low, high, strict=True))


def test_retry_after_is_a_floor_not_capped() -> None:
    policy = RetryPolicy(base=0.2, cap=1.0, deadline=1000)
    assert policy.delay(0, 5.0, 0.5) == 5.0
    assert policy.delay(6, 0.01, 0.5) == pytest.approx(0.75)


def test_retry_after_header_is_honoured() -> None:
    fake = FakeTime()
    run(
        [http_error(503, b"busy", retry_after="3")],
        RetryPolicy(base=0.01, cap=0.02, deadline=30),
        fake,
    )
    assert fake.sleeps == [3.0]


def test_aip_retry_info_is_honoured() -> None:
    fake = FakeTime()
    body = aip(
        429,
        "RESOURCE_EXHAUSTED",
        details=[{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}],
    )
    run([http_error(429, body)], RetryPolicy(base=0.01, cap=0.02, deadline=30), fake)
    assert fake.sleeps == [1.5]


def test_deadline_stops_retrying_with_google_unavailable() -> None:
    fake = FakeTime()
    failures: list[BaseException] = [http_error(503, b"down") for _ in range(100)]
    with pytest.raises(GoogleUnavailable) as info:
        run(failures, RetryPolicy(base=1, cap=4, deadline=10), fake)
    assert fake.now <= 10
    assert info.value.status == 503
    assert 3 <= len(fake.sleeps) < 10


def test_retry_after_beyond_deadline_gives_up_at_once() -> None:
    fake = FakeTime()
    with pytest.raises(GoogleUnavailable) as info:
        run(
            [http_error(429, b"", retry_after="120")],
            RetryPolicy(base=0.1, cap=1, deadline=30),
            fake,
        )
    assert fake.sleeps == [] and info.value.retry_after == 120.0


def test_max_attempts() -> None:
    fake = FakeTime()
    with pytest.raises(GoogleUnavailable, match="3 attempt"):
        run(
            [TruncatedBody("x")] * 5,
            RetryPolicy(base=0.1, cap=1, deadline=30, max_attempts=3),
            fake,
        )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            json.dumps(legacy(403, "rateLimitExceeded")).encode(),
            ("m rateLimitExceeded", "rateLimitExceeded", None),
        ),
        (json.dumps(aip(404, "NOT_FOUND")).encode(), ("m NOT_FOUND", "NOT_FOUND", None)),
        (
            json.dumps(
                aip(
                    429,
                    "RESOURCE_EXHAUSTED",
                    details=[
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "RATE_LIMIT_EXCEEDED",
                        }
                    ],
                )
            ).encode(),
            ("m RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED", None),
        ),
        (
            b"<html>\n<h1>503</h1>  Service   Unavailable</html>",
            ("<html> <h1>503</h1> Service Unavailable</html>", None, None),
        ),
        (b"", ("(empty body)", None, None)),
        (b'{"error": "plain string"}', ("plain string", None, None)),
        (b'{"error": {"code": 500', ('{"error": {"code": 500', None, None)),
        (b"\xff\xfe garbage", ("\ufffd\ufffd garbage", None, None)),
    ],
)
def test_parse_error_body(body: bytes, expected: tuple[str, str | None, float | None]) -> None:
    assert parse_error_body(body) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2", 2.0), (" 0.5 ", 0.5), ("-3", 0.0), ("soon", None), ("", None), (None, None)],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@pytest.mark.parametrize(
    "kwargs", [dict(base=0), dict(base=2, cap=1), dict(deadline=0), dict(max_attempts=0)]
)
def test_policy_rejects_garbage(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)
