"""The HTTP layer: a stdlib threading server with full control of the wire (faults included)."""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from meet_sandbox.children import ended_by_signals

from .accounts import DEFAULT_CLIENT_EMAIL, write_service_account
from .app import Emulator, error_response
from .auth import OAuthError
from .errors import ApiError
from .faults import FaultRule
from .wire import Request, Response

UNAVAILABLE_HTML = (
    b"<!DOCTYPE html><html lang=en><meta charset=utf-8>"
    b"<title>Error 503 (Service Unavailable)!!1</title>"
    b"<p><b>503.</b> <ins>That\xe2\x80\x99s an error.</ins>"
    b"<p>The service is temporarily unavailable. <ins>That\xe2\x80\x99s all we know.</ins></html>"
)


ONE_PLATFORM = ("meet", "workspaceevents", "pubsub")  # AIP-193 wording of injected errors


def fault_response(kind: str, api: str, rule: FaultRule) -> Response:
    """The answer of an injected error fault, in the style of the API it hits."""
    if kind == "503":
        return Response(
            status=503, headers={"Content-Type": "text/html; charset=UTF-8"}, body=UNAVAILABLE_HTML
        )
    if api == "token":
        status, oauth_error = {
            "429": (429, "rate_limit_exceeded"),
            "500": (500, "internal_failure"),
            "403_rate": (403, "rate_limit_exceeded"),
        }[kind]
        response = OAuthError(oauth_error, "Injected fault", status).response()
        if kind == "429":
            response.headers["Retry-After"] = str(rule.retry_after)
        return response
    error: ApiError
    if kind == "429":
        error = ApiError(
            429,
            "Resource has been exhausted (e.g. check quota)."
            if api in ONE_PLATFORM
            else "Rate Limit Exceeded",
            "rateLimitExceeded",
            domain="usageLimits",
            headers={"Retry-After": str(rule.retry_after)},
        )
    elif kind == "403_rate":
        text = (
            "User Rate Limit Exceeded"
            if rule.rate_reason == "userRateLimitExceeded"
            else "Rate Limit Exceeded"
        )
        error = ApiError(
            403, text, rule.rate_reason, domain="usageLimits", classic_errors_in_meet=True
        )
    else:
        error = ApiError(
            500,
            "Internal error encountered." if api in ONE_PLATFORM else "Backend Error",
            "backendError",
        )
    return error_response(error, api)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httplib2 expects
    server_version = "ESF"
    sys_version = ""
    timeout = 120
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
    # and the client's delayed ACK would add ~40 ms to every answer.
    disable_nagle_algorithm = True
    emulator: Emulator  # set on the subclass made per server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass  # the request log is /_emulator/requests

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_GET

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        started = time.time()
        url = urlsplit(self.path)
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(400, "Bad request body framing")
            return
        request = Request(
            method=self.command,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        emulator = self.emulator
        api, method_id, route, params = emulator.classify(
            "GET" if self.command == "HEAD" else self.command, url.path
        )
        request.api, request.method_id, request.params = api, method_id, params
        picked = (
            emulator.faults.pick(api, method_id) if (route is not None or api == "token") else None
        )
        kind = picked[0] if picked else None
        if picked and kind == "reset":
            emulator.record(request, None, kind, started)
            self._reset()
            return
        if picked and kind == "slow":
            time.sleep(picked[1].slow_seconds)
        if picked and kind in ("429", "500", "503", "403_rate"):
            response = fault_response(kind, api, picked[1])
        else:
            response = emulator.dispatch(request, route)
        emulator.record(request, response, kind, started)
        self._write(response, picked[1] if picked and kind == "truncate" else None)

    def _reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0) instead of answering."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _write(self, response: Response, truncate: FaultRule | None) -> None:
        length = response.content_length
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        if truncate is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        budget = int(length * truncate.truncate_fraction) if truncate is not None else length
        try:
            for chunk in response.chunks():
                if budget <= 0:
                    break
                piece = chunk[:budget] if len(chunk) > budget else chunk
                self.wfile.write(piece)
                budget -= len(piece)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            self.close_connection = True
            return
        if truncate is not None:
            self.close_connection = True  # the client sees EOF before Content-Length bytes


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)

    def close_open_connections(self) -> None:
        """End keep-alive connections too, so that a stopped server answers nothing more."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class EmulatorServer:
    """The Google Workspace emulator on a loopback port, serving from a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: Path | None = None,
        service_accounts: Iterable[Path | str] = (),
        organizer_domain: str = "example.com",
    ) -> None:
        self.host, self.port = host, port
        self.emulator = Emulator(state_file, service_accounts, organizer_domain)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def token_uri(self) -> str:
        return self.base_url + "/token"

    def start(self) -> EmulatorServer:
        if self._server is not None:
            return self
        handler = type("EmulatorHandler", (_Handler,), {"emulator": self.emulator})
        self._server = _Server((self.host, self.port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="google-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_open_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None
        self.emulator.store.save()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def register_service_account(self, path: Path | str) -> str:
        """Trust the key in this service-account file; returns its client_email."""
        return self.emulator.register_service_account(path)

    def create_service_account(
        self, path: Path | str, client_email: str = DEFAULT_CLIENT_EMAIL
    ) -> Path:
        """Write a key file whose token_uri is this server's, and trust it."""
        written = write_service_account(path, client_email=client_email, token_uri=self.token_uri)
        self.register_service_account(written)
        return written


def serve(
    host: str = "127.0.0.1",
    port: int = 8085,
    state_file: Path | None = None,
    service_accounts: Iterable[Path | str] = (),
    organizer_domain: str = "example.com",
) -> None:
    """Serve until interrupted (the `meet-archive emulator` command)."""
    server = EmulatorServer(host, port, state_file, service_accounts, organizer_domain).start()
    print(
        f"Google Workspace emulator on {server.base_url} "
        f"(control API: {server.base_url}/_emulator/state)",
        file=sys.stderr,
        flush=True,
    )
    # SIGTERM (docker stop, a test's terminate()) and SIGHUP stop it as Ctrl-C does: the
    # state is saved and the sockets closed, whatever the signal dispositions it inherited.
    try:
        with ended_by_signals():
            threading.Event().wait()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()
