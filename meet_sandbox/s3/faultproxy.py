"""A chaos reverse proxy for S3: forwards to an upstream S3 endpoint (the embedded moto
server, MinIO, ...) and, at a seeded rate, answers 500/503 with an S3 XML error, resets
the connection, or delays the request.

Faults are injected before the request reaches upstream, so a faulted request never had
an effect and is always safe to retry. Bodies are streamed both ways in small blocks: a
multi-gigabyte upload crosses the proxy without being buffered. Path-style addressing
only (``s3_client`` uses it for every custom endpoint).
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

FAULT_KINDS = ("500", "503", "reset", "slow")
_BLOCK = 64 * 1024
# Headers that describe one hop, not the message (RFC 9110 section 7.6.1).
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
}
_ERRORS = {
    "500": (500, "InternalError", "We encountered an internal error. Please try again."),
    "503": (503, "SlowDown", "Please reduce your request rate."),
}


_SUBRESOURCE_OPERATIONS = {
    ("POST", "uploads"): "CreateMultipartUpload",
    ("GET", "uploads"): "ListMultipartUploads",
    ("PUT", "retention"): "PutObjectRetention",
    ("GET", "retention"): "GetObjectRetention",
    ("PUT", "legal-hold"): "PutObjectLegalHold",
    ("GET", "legal-hold"): "GetObjectLegalHold",
    ("PUT", "object-lock"): "PutObjectLockConfiguration",
    ("GET", "object-lock"): "GetObjectLockConfiguration",
    ("PUT", "versioning"): "PutBucketVersioning",
    ("GET", "versioning"): "GetBucketVersioning",
    ("GET", "versions"): "ListObjectVersions",
    ("POST", "delete"): "DeleteObjects",
}
_OBJECT_OPERATIONS = {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject"}
_BUCKET_OPERATIONS = {
    "GET": "ListObjects",
    "HEAD": "HeadBucket",
    "PUT": "CreateBucket",
    "DELETE": "DeleteBucket",
}


def s3_operation(method: str, path: str, query: str) -> str:
    """Name the S3 operation of a path-style request (enough to aim faults at one)."""
    params = parse_qs(query, keep_blank_values=True)
    if "uploadId" in params:
        if "partNumber" in params:
            return "UploadPart"
        return {"POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload"}.get(method, "ListParts")
    for (verb, marker), name in _SUBRESOURCE_OPERATIONS.items():
        if verb == method and marker in params:
            return name
    has_key = len([segment for segment in path.split("/") if segment]) > 1
    table = _OBJECT_OPERATIONS if has_key else _BUCKET_OPERATIONS
    return table.get(method, method)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects
    timeout = 60  # idle keep-alive connections end eventually
    server: _ProxyServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes: without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every small request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_PUT = do_POST = do_DELETE = do_GET

    def _handle(self) -> None:
        proxy = self.server.proxy
        split = urlsplit(self.path)
        fault = proxy._draw(s3_operation(self.command, split.path, split.query))
        if fault == "reset":
            self._reset()
            return
        if fault in _ERRORS:
            self._drain_body()
            self._send_error(*_ERRORS[fault])
            return
        if fault == "slow":
            time.sleep(proxy.delay_seconds)
        self._forward()

    # -- faults ---------------------------------------------------------------------

    def _reset(self) -> None:
        """Drop the connection with a TCP RST, mid-request like a failing load balancer."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.shutdown(socket.SHUT_RD)  # the unread body now triggers the reset

    def _send_error(self, status: int, code: str, message: str) -> None:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            f"<RequestId>faultproxy</RequestId></Error>"
        ).encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _drain_body(self) -> None:
        for _ in self._request_body():
            pass

    # -- forwarding -----------------------------------------------------------------

    def _request_body(self) -> Iterator[bytes]:
        """Yield the request body in blocks (Content-Length or chunked)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return
                while size:
                    block = self.rfile.read(min(size, _BLOCK))
                    if not block:
                        raise ConnectionError("client closed mid-body")
                    size -= len(block)
                    yield block
                self.rfile.readline()
            return
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining:
            block = self.rfile.read(min(remaining, _BLOCK))
            if not block:
                raise ConnectionError("client closed mid-body")
            remaining -= len(block)
            yield block

    def _forward(self) -> None:
        host, port = self.server.proxy._upstream_address
        conn = http.client.HTTPConnection(host, port, timeout=120)
        try:
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    conn.putheader(name, value)  # Host too: SigV4 signed it
            if chunked:
                conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            for block in self._request_body():
                conn.send(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
            if chunked:
                conn.send(b"0\r\n\r\n")
            response = conn.getresponse()
        except OSError:
            self._send_error(502, "BadGateway", "The fault proxy could not reach upstream.")
            conn.close()
            return
        try:
            self._relay(response)
        finally:
            conn.close()

    def _relay(self, response: http.client.HTTPResponse) -> None:
        self.send_response_only(response.status, response.reason)
        length = response.getheader("Content-Length")
        for name, value in response.getheaders():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        no_body = self.command == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
        chunked = length is None and not no_body
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if no_body:
            return
        while block := response.read(_BLOCK):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    proxy: FaultProxy

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client or upstream that went away mid-transfer is routine in chaos runs


class FaultProxy:
    """``with FaultProxy(upstream, rate=0.1) as proxy: s3_client(proxy.endpoint_url)``.

    ``operations`` limits faults to those S3 operations (names as :func:`s3_operation`
    gives them); ``max_faults`` stops injecting after that many, so a test can fail exactly
    the first UploadPart, say.
    """

    def __init__(
        self,
        upstream_url: str,
        rate: float = 0.1,
        kinds: Sequence[str] = FAULT_KINDS,
        seed: int = 0,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay_seconds: float = 0.2,
        operations: Collection[str] | None = None,
        max_faults: int | None = None,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be within [0, 1], got {rate}")
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown or not kinds:
            raise ValueError(f"kinds must be a non-empty subset of {FAULT_KINDS}, got {tuple(kinds)}")
        upstream = urlsplit(upstream_url)
        if upstream.scheme != "http" or not upstream.hostname:
            raise ValueError(f"upstream must be an http:// URL, got {upstream_url!r}")
        self._upstream_address = (upstream.hostname, upstream.port or 80)
        self.rate, self.kinds, self.delay_seconds = rate, tuple(kinds), delay_seconds
        self.operations = frozenset(operations) if operations is not None else None
        self.max_faults = max_faults  # stop injecting after this many (None: never stop)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._seen: Counter[str] = Counter()
        self._host, self._port = host, port
        self._server: _ProxyServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FaultProxy is not started")
        return f"http://{self._host}:{self._server.server_port}"

    @property
    def counts(self) -> dict[str, int]:
        """Injected faults by kind."""
        with self._lock:
            return dict(self._counts)

    @property
    def requests(self) -> dict[str, int]:
        """Requests seen, by S3 operation name."""
        with self._lock:
            return dict(self._seen)

    @property
    def injected(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def set_rate(self, rate: float) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be within [0, 1], got {rate}")
        with self._lock:
            self.rate = rate

    def _draw(self, operation: str) -> str | None:
        with self._lock:
            self._seen[operation] += 1
            if self.operations is not None and operation not in self.operations:
                return None
            if self.max_faults is not None and sum(self._counts.values()) >= self.max_faults:
                return None
            if self._random.random() >= self.rate:
                return None
            kind = self._random.choice(self.kinds)
            self._counts[kind] += 1
            return kind

    def start(self) -> FaultProxy:
        if self._server is None:
            self._server = _ProxyServer((self._host, self._port), _Handler)
            self._server.proxy = self
            # A short poll interval: stop() waits up to one interval for the serving loop.
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="fault-proxy", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join()
            self._server = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
