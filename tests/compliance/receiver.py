"""A real HTTP webhook receiver on loopback: records every request and answers with the
status its script says (e.g. fail the first two, or always fail)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: str
    status: int
    at: float


@dataclass
class Receiver:
    answer: Callable[[int], int]  # request number (1-based) -> HTTP status
    delay_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hooks/meet"

    def accepted(self) -> list[Received]:
        return [r for r in self.received if 200 <= r.status < 300]

    def __enter__(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if receiver.delay_seconds:
                    time.sleep(receiver.delay_seconds)
                with receiver._lock:
                    status = receiver.answer(len(receiver.received) + 1)
                    receiver.received.append(
                        Received(dict(self.headers.items()), body, status, time.time())
                    )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
