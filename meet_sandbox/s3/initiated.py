"""The fault proxy, plus the one thing moto gets wrong that crash recovery depends on.

moto (5.x) answers ``ListMultipartUploads`` with ``Initiated`` fixed at
``2010-11-10T20:48:33.000Z`` for every upload (moto/s3/responses.py), so any "abort uploads
older than N" housekeeping sees every upload as ancient and aborts it, including uploads
that a live process started a second ago. Real S3 and MinIO report when the upload was
created. This proxy notes the time of every ``CreateMultipartUpload`` it forwards and
puts it in the listing, so tests see what real S3 would show.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from meet_sandbox.s3 import faultproxy
from meet_sandbox.s3.faultproxy import FaultProxy, s3_operation

_UPLOAD_ID = re.compile(rb"<UploadId>([^<]+)</UploadId>")
_UPLOAD = re.compile(rb"<Upload>.*?</Upload>", re.S)
_INITIATED = re.compile(rb"<Initiated>[^<]*</Initiated>")


class _Handler(faultproxy._Handler):
    def _relay(self, response: http.client.HTTPResponse) -> None:
        split = urlsplit(self.path)
        operation = s3_operation(self.command, split.path, split.query)
        if operation not in ("CreateMultipartUpload", "ListMultipartUploads") or response.status != 200:
            super()._relay(response)
            return
        body = response.read()
        proxy: InitiatedProxy = self.server.proxy  # type: ignore[assignment]
        if operation == "CreateMultipartUpload":
            found = _UPLOAD_ID.search(body)
            if found:
                proxy.note(found.group(1).decode())
        else:
            body = _UPLOAD.sub(lambda m: proxy.rewrite(m.group(0)), body)
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in faultproxy._HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class InitiatedProxy(FaultProxy):
    """A :class:`FaultProxy` whose multipart listings carry the real initiation times."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._initiated: dict[str, float] = {}
        self._times_lock = threading.Lock()

    def note(self, upload_id: str) -> None:
        with self._times_lock:
            self._initiated[upload_id] = time.time()

    def rewrite(self, upload: bytes) -> bytes:
        found = _UPLOAD_ID.search(upload)
        with self._times_lock:
            created = self._initiated.get(found.group(1).decode()) if found else None
        if created is None:
            return upload
        stamp = datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return _INITIATED.sub(f"<Initiated>{stamp}</Initiated>".encode(), upload)

    def start(self) -> InitiatedProxy:
        if self._server is None:
            self._server = faultproxy._ProxyServer((self._host, self._port), _Handler)
            self._server.proxy = self
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="initiated-proxy", daemon=True
            )
            self._thread.start()
        return self
