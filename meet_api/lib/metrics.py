"""A small Prometheus text-format registry, one per app (no process-global state, so that
several apps in one test process do not collide). Exposition format 0.0.4.

Kept instead of Litestar's ``PrometheusConfig``/``PrometheusController``: those need
``prometheus-client`` (not a dependency of this project), register their metrics in the
process-wide registry, name the request labels ``path``/``status_code``/``app_name`` (the
dashboards and tests read ``route``/``status``), and their controller has no auth of its own.
Recording stays in ``lib/requests.py``, outside Litestar's routing, so that 404s and 405s of
unmatched paths are counted too."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

Labels = tuple[tuple[str, str], ...]


def _labels(values: Mapping[str, str]) -> Labels:
    return tuple(sorted(values.items()))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _render_labels(labels: Labels, extra: Labels = ()) -> str:
    pairs = labels + extra
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Counter:
    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self._values: dict[Labels, float] = defaultdict(float)
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        with self._lock:
            self._values[_labels(labels)] += amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(_labels(labels), 0.0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        with self._lock:
            for labels, value in sorted(self._values.items()):
                yield f"{self.name}{_render_labels(labels)} {_number(value)}"


class Histogram:
    def __init__(
        self, name: str, help_text: str, buckets: tuple[float, ...] = LATENCY_BUCKETS
    ) -> None:
        self.name, self.help, self.buckets = name, help_text, buckets
        self._counts: dict[Labels, list[int]] = {}
        self._sums: dict[Labels, float] = defaultdict(float)
        self._lock = threading.Lock()

    def observe(self, value: float, **labels: str) -> None:
        key = _labels(labels)
        with self._lock:
            counts = self._counts.setdefault(key, [0] * (len(self.buckets) + 1))
            counts[bisect_left(self.buckets, value)] += 1
            self._sums[key] += value

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        with self._lock:
            for labels, counts in sorted(self._counts.items()):
                running = 0
                for bound, count in zip(self.buckets, counts, strict=False):
                    running += count
                    le = _render_labels(labels, (("le", _number(bound)),))
                    yield f"{self.name}_bucket{le} {running}"
                running += counts[-1]
                le = _render_labels(labels, (("le", "+Inf"),))
                yield f"{self.name}_bucket{le} {running}"
                yield f"{self.name}_sum{_render_labels(labels)} {self._sums[labels]!r}"
                yield f"{self.name}_count{_render_labels(labels)} {running}"


class ApiMetrics:
    """Everything /metrics shows. ``google_calls`` reads the gateway's own attempt counter."""

    def __init__(self, google_calls: Callable[[], Mapping[str, int]] | None = None) -> None:
        self.requests = Counter(
            "meet_api_requests_total", "HTTP requests by method, route and status."
        )
        self.latency = Histogram(
            "meet_api_request_duration_seconds", "HTTP request latency by method and route."
        )
        self.auth_failures = Counter(
            "meet_api_auth_failures_total", "Refused credentials by reason."
        )
        self.rate_limited = Counter(
            "meet_api_rate_limited_total", "Requests refused by the per-key rate limit."
        )
        self.rate_limit_unavailable = Counter(
            "meet_api_rate_limit_unavailable_total",
            "Requests refused (503) because the shared rate-limit count could not be kept.",
        )
        self.google_errors = Counter(
            "meet_api_google_errors_total", "Failed Google calls by method and error kind."
        )
        self.provisioning = Counter(
            "meet_api_provisioning_total", "Provisioning attempts made by the API, by result."
        )
        self._google_calls = google_calls

    def render(self) -> str:
        lines: list[str] = []
        for metric in (
            self.requests,
            self.latency,
            self.auth_failures,
            self.rate_limited,
            self.rate_limit_unavailable,
            self.google_errors,
            self.provisioning,
        ):
            lines.extend(metric.render())
        lines.append(
            "# HELP meet_api_google_calls_total Google API attempts (retries included) by method."
        )
        lines.append("# TYPE meet_api_google_calls_total counter")
        for method, count in sorted((self._google_calls() if self._google_calls else {}).items()):
            lines.append(f'meet_api_google_calls_total{{method="{_escape(method)}"}} {count}')
        return "\n".join(lines) + "\n"
