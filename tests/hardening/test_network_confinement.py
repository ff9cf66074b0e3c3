"""Configured for servers on loopback, the product talks to nothing else.

boto3's default credential chain ends with the EC2 instance metadata service
(``http://169.254.169.254``). ``meet_core.archive.client.s3_client`` asks that chain for
credentials whenever a loopback endpoint comes without keys, so every S3 client made in the
embedded or test setup sends HTTP requests off the machine's loopback. Here the metadata
endpoint is pointed (``AWS_EC2_METADATA_SERVICE_ENDPOINT``) at a recorder on loopback, so
the test itself never leaves loopback, and the recorder must see nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from meet_core.archive.client import s3_client
from meet_pipeline.resources import ArchiveResource
from meet_sandbox.s3 import EmbeddedS3


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def _answer(self) -> None:
        self.hits.append(f"{self.command} {self.path}")
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = _answer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def metadata_recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    hits: list[str] = []
    handler = type("Recorder", (_Recorder,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{server.server_port}/")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    yield hits
    server.shutdown()
    server.server_close()


def test_an_s3_client_for_a_loopback_endpoint_asks_no_metadata_service(
    metadata_recorder: list[str], s3_server: EmbeddedS3
) -> None:
    client = s3_client(s3_server.endpoint_url)
    client.list_buckets()
    ArchiveResource(endpoint_url=s3_server.endpoint_url, bucket="x").get_client().list_buckets()
    assert not metadata_recorder, (
        "S3 clients for a loopback endpoint asked the EC2 instance metadata service "
        f"(169.254.169.254 in production networks): {metadata_recorder}"
    )
