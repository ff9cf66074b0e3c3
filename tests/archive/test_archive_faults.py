"""The fault proxy itself, and every S3 call path of the archive under injected faults."""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from meet_core.archive import ArchiveError, ArchivePolicy, ArchiveWriter, ensure_bucket, s3_client
from meet_core.archive.client import S3Client
from meet_sandbox.s3 import EmbeddedS3
from meet_sandbox.s3.faultproxy import FaultProxy, s3_operation

from .helpers import MiB, chunked, new_bucket, object_keys, payload, uploads, versions

PART = 5 * MiB


# -- the proxy on its own -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "target", "operation"),
    [
        ("PUT", "/b/k?partNumber=2&uploadId=u", "UploadPart"),
        ("POST", "/b/k?uploads", "CreateMultipartUpload"),
        ("POST", "/b/k?uploadId=u", "CompleteMultipartUpload"),
        ("DELETE", "/b/k?uploadId=u", "AbortMultipartUpload"),
        ("GET", "/b?uploads&prefix=x", "ListMultipartUploads"),
        ("PUT", "/b/k?retention&versionId=v", "PutObjectRetention"),
        ("GET", "/b/k?legal-hold&versionId=v", "GetObjectLegalHold"),
        ("PUT", "/b/k?legal-hold", "PutObjectLegalHold"),
        ("GET", "/b?object-lock", "GetObjectLockConfiguration"),
        ("GET", "/b?versioning", "GetBucketVersioning"),
        ("PUT", "/b?versioning", "PutBucketVersioning"),
        ("GET", "/b?versions&prefix=k", "ListObjectVersions"),
        ("HEAD", "/b/a/b/c.mp4?versionId=v", "HeadObject"),
        ("GET", "/b/a/b/c.mp4", "GetObject"),
        ("PUT", "/b/k", "PutObject"),
        ("DELETE", "/b/k?versionId=v", "DeleteObject"),
        ("HEAD", "/b", "HeadBucket"),
        ("PUT", "/b", "CreateBucket"),
        ("GET", "/b?list-type=2", "ListObjects"),
    ],
)
def test_s3_operation_names(method: str, target: str, operation: str) -> None:
    split = urlsplit(target)
    assert s3_operation(method, split.path, split.query) == operation


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": -0.1},
        {"rate": 1.5},
        {"kinds": ()},
        {"kinds": ("boom",)},
        {"upstream_url": "ftp://x"},
        {"upstream_url": "nonsense"},
    ],
)
def test_proxy_refuses_garbage_configuration(kwargs: dict) -> None:
    params = {"upstream_url": "http://127.0.0.1:9", **kwargs}
    with pytest.raises(ValueError):
        FaultProxy(**params)


class _Upstream(BaseHTTPRequestHandler):
    """A tiny real upstream that proves streaming: it signals when the first MiB of a
    request arrived, and holds back the second half of a response until told."""

    protocol_version = "HTTP/1.1"
    server: _UpstreamServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _body(self) -> Iterator[bytes]:
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            while size := int(self.rfile.readline().split(b";")[0], 16):
                yield self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return
        remaining = int(self.headers["Content-Length"])
        while remaining:
            block = self.rfile.read(min(remaining, 65536))
            remaining -= len(block)
            yield block

    def do_PUT(self) -> None:
        digest, size = hashlib.sha256(), 0
        for block in self._body():
            digest.update(block)
            size += len(block)
            if size >= MiB:
                self.server.first_request_mib.set()
        body = json.dumps({"size": size, "sha256": digest.hexdigest()}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        data = self.server.data
        half = len(data) // 2
        self.send_response(200)
        if self.path == "/close-delimited":
            self.close_connection = True  # no length: the body ends when the connection does
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:half])
        self.wfile.flush()
        if self.server.client_has_first_half.wait(timeout=20):
            self.wfile.write(data[half:])


class _UpstreamServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Upstream)
        self.first_request_mib = threading.Event()
        self.client_has_first_half = threading.Event()
        self.data = payload(8 * MiB, seed=11)


@pytest.fixture
def upstream() -> Iterator[_UpstreamServer]:
    server = _UpstreamServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _connect(proxy: FaultProxy) -> http.client.HTTPConnection:
    parts = urlsplit(proxy.endpoint_url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)


def test_request_body_streams_through_before_it_ends(upstream: _UpstreamServer) -> None:
    data = payload(6 * MiB, seed=12)
    with FaultProxy(f"http://127.0.0.1:{upstream.server_address[1]}", rate=0.0) as proxy:
        conn = _connect(proxy)
        conn.putrequest("PUT", "/up")
        conn.putheader("Content-Length", str(len(data)))
        conn.endheaders()
        conn.send(data[: 2 * MiB])
        # A buffering proxy would hold these bytes until the body is complete.
        assert upstream.first_request_mib.wait(timeout=20)
        conn.send(data[2 * MiB :])
        answer = json.loads(conn.getresponse().read())
    assert answer == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_chunked_request_body_is_relayed(upstream: _UpstreamServer) -> None:
    data = payload(3 * MiB + 17, seed=13)
    with FaultProxy(f"http://127.0.0.1:{upstream.server_address[1]}", rate=0.0) as proxy:
        conn = _connect(proxy)
        conn.request("PUT", "/up", body=chunked(data, 100_000), encode_chunked=True)
        answer = json.loads(conn.getresponse().read())
    assert answer == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


@pytest.mark.parametrize("path", ["/sized", "/close-delimited"])
def test_response_body_streams_back_before_it_ends(upstream: _UpstreamServer, path: str) -> None:
    half = len(upstream.data) // 2
    with FaultProxy(f"http://127.0.0.1:{upstream.server_address[1]}", rate=0.0) as proxy:
        conn = _connect(proxy)
        conn.request("GET", path)
        response = conn.getresponse()
        first = response.read(half)  # arrives only if the proxy relays before upstream ends
        upstream.client_has_first_half.set()
        rest = response.read()
    assert first + rest == upstream.data


@pytest.mark.parametrize(("kind", "code"), [("500", "InternalError"), ("503", "SlowDown")])
def test_error_faults_are_s3_xml_errors(s3_server: EmbeddedS3, kind: str, code: str) -> None:
    with (
        FaultProxy(s3_server.endpoint_url, rate=1.0, kinds=(kind,)) as proxy,
        pytest.raises(ClientError) as caught,
    ):
        s3_client(proxy.endpoint_url, max_attempts=1).list_buckets()
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == int(kind)
    assert proxy.counts == {kind: 1} and proxy.requests == {"ListObjects": 1}


def test_reset_fault_breaks_the_connection(s3_server: EmbeddedS3, bucket: str) -> None:
    with FaultProxy(s3_server.endpoint_url, rate=1.0, kinds=("reset",)) as proxy:
        client = s3_client(proxy.endpoint_url, max_attempts=1)
        with pytest.raises((ConnectionError, HTTPClientError)):
            client.put_object(Bucket=bucket, Key="reset", Body=payload(2 * MiB))
    assert proxy.counts == {"reset": 1}
    assert object_keys(s3_server.client(), bucket) == []


def test_slow_fault_delays_but_succeeds(s3_server: EmbeddedS3, bucket: str) -> None:
    with FaultProxy(s3_server.endpoint_url, rate=1.0, kinds=("slow",), delay_seconds=0.05) as proxy:
        client = s3_client(proxy.endpoint_url, max_attempts=1)
        client.put_object(Bucket=bucket, Key="slow", Body=b"late")
        assert client.get_object(Bucket=bucket, Key="slow")["Body"].read() == b"late"
    assert proxy.counts == {"slow": 2}


# -- the archive under faults --------------------------------------------------------------


def _archive(w: ArchiveWriter, key: str, data: bytes):  # type: ignore[no-untyped-def]
    return w.archive_stream(
        key,
        chunked(data),
        expected_size=len(data),
        expected_sha256=hashlib.sha256(data).hexdigest(),
        content_type="video/mp4",
        metadata={"meeting-id": "m-1"},
    )


def test_multipart_archive_survives_ten_percent_faults(
    s3_server: EmbeddedS3, s3: S3Client, bucket: str
) -> None:
    data = payload(40 * MiB, seed=21)
    with FaultProxy(s3_server.endpoint_url, rate=0.1, seed=3, delay_seconds=0.05) as proxy:
        w = ArchiveWriter(
            s3_client(proxy.endpoint_url),
            bucket,
            ArchivePolicy("COMPLIANCE", 30, legal_hold=True),
            part_size=PART,
        )
        result = _archive(w, "chaos/obj", data)
        check = w.verify("chaos/obj", result.version_id, hashlib.sha256(data).hexdigest())
    assert proxy.injected >= 2  # seed 3 draws faults among the first requests
    assert check.ok, check.problems
    assert s3.get_object(Bucket=bucket, Key="chaos/obj")["Body"].read() == data
    assert len(versions(s3, bucket, "chaos/obj")) == 1 and uploads(s3, bucket) == []


def _full_flow(client: S3Client, bucket: str) -> None:
    """Every S3 call the archive makes: lock check, look-up, multipart, put, lock, verify."""
    w = ArchiveWriter(client, bucket, ArchivePolicy("GOVERNANCE", 3, legal_hold=True), part_size=PART)
    big, small = payload(11 * MiB, seed=31), payload(1000, seed=32)
    result = _archive(w, "flow/big", big)
    _archive(w, "flow/small", small)
    assert w.verify("flow/big", result.version_id, hashlib.sha256(big).hexdigest()).ok
    w.set_legal_hold("flow/big", result.version_id, False)
    w.abort_stale_uploads("flow/", timedelta(days=1))


WRITER_OPERATIONS = [
    "GetObjectLockConfiguration",
    "HeadObject",
    "CreateMultipartUpload",
    "UploadPart",
    "CompleteMultipartUpload",
    "PutObject",
    "PutObjectRetention",
    "GetObjectLegalHold",
    "PutObjectLegalHold",
    "GetObject",
    "ListMultipartUploads",
]


@pytest.mark.parametrize("operation", WRITER_OPERATIONS)
def test_one_transient_fault_per_call_path_is_retried(
    s3_server: EmbeddedS3, s3: S3Client, bucket: str, operation: str
) -> None:
    kind = ("500", "503", "reset")[WRITER_OPERATIONS.index(operation) % 3]
    with FaultProxy(
        s3_server.endpoint_url, rate=1.0, kinds=(kind,), operations={operation}, max_faults=1
    ) as proxy:
        _full_flow(s3_client(proxy.endpoint_url), bucket)
    assert proxy.counts == {kind: 1}
    assert uploads(s3, bucket) == [] and sorted(object_keys(s3, bucket)) == ["flow/big", "flow/small"]


# Where a persistent fault stops the archive of one multi-part object, and what must be left.
PERSISTENT = {
    "GetObjectLockConfiguration": "nothing",
    "HeadObject": "nothing",
    "CreateMultipartUpload": "nothing",
    "UploadPart": "nothing",
    "CompleteMultipartUpload": "nothing",
    "PutObjectRetention": "unlocked-object",  # moto ignored the lock sent with the upload
    "GetObjectLegalHold": "object",
    "PutObjectLegalHold": "object",
}


@pytest.mark.parametrize("operation", list(PERSISTENT))
def test_persistent_fault_fails_cleanly_and_a_rerun_recovers(
    s3_server: EmbeddedS3, s3: S3Client, bucket: str, operation: str
) -> None:
    data = payload(11 * MiB, seed=41)
    policy = ArchivePolicy("COMPLIANCE", 3, legal_hold=True)
    with (
        FaultProxy(
            s3_server.endpoint_url, rate=1.0, kinds=("500", "503", "reset"), operations={operation}
        ) as proxy,
        pytest.raises(ArchiveError),
    ):
        _archive(
            ArchiveWriter(s3_client(proxy.endpoint_url, max_attempts=1), bucket, policy, part_size=PART),
            "p/obj",
            data,
        )
    assert proxy.injected >= 1
    assert uploads(s3, bucket) == []  # never an incomplete upload left behind
    left = object_keys(s3, bucket)
    assert left == ([] if PERSISTENT[operation] == "nothing" else ["p/obj"])
    if PERSISTENT[operation] == "unlocked-object":
        assert "ObjectLockMode" not in s3.head_object(Bucket=bucket, Key="p/obj")

    rerun = _archive(ArchiveWriter(s3, bucket, policy, part_size=PART), "p/obj", data)
    assert rerun.already_existed == (PERSISTENT[operation] != "nothing")
    assert rerun.lock_mode == "COMPLIANCE" and rerun.legal_hold
    assert len(versions(s3, bucket, "p/obj")) == 1


@pytest.mark.parametrize(
    "operation", ["PutObject", "GetObject", "ListMultipartUploads", "PutObjectLegalHold"]
)
def test_persistent_fault_on_other_call_paths_raises_archive_error(
    s3_server: EmbeddedS3, s3: S3Client, bucket: str, operation: str
) -> None:
    direct = ArchiveWriter(s3, bucket, ArchivePolicy("GOVERNANCE", 3))
    archived = _archive(direct, "o/obj", payload(100, seed=51))
    with FaultProxy(s3_server.endpoint_url, rate=1.0, kinds=("503",), operations={operation}) as proxy:
        w = ArchiveWriter(
            s3_client(proxy.endpoint_url, max_attempts=1), bucket, ArchivePolicy("GOVERNANCE", 3)
        )
        calls = {
            "PutObject": lambda: _archive(w, "o/new", payload(100, seed=52)),
            "GetObject": lambda: w.verify("o/obj", archived.version_id, archived.sha256_hex),
            "ListMultipartUploads": lambda: w.abort_stale_uploads("o/", timedelta(0)),
            "PutObjectLegalHold": lambda: w.set_legal_hold("o/obj", archived.version_id, True),
        }
        with pytest.raises(ArchiveError):
            calls[operation]()
    assert proxy.injected >= 1 and object_keys(s3, bucket) == ["o/obj"]


def test_failed_abort_leaves_an_upload_that_stale_cleanup_removes(
    s3_server: EmbeddedS3, s3: S3Client, bucket: str
) -> None:
    operations = {"UploadPart", "AbortMultipartUpload"}
    with FaultProxy(s3_server.endpoint_url, rate=1.0, kinds=("500",), operations=operations) as proxy:
        w = ArchiveWriter(
            s3_client(proxy.endpoint_url, max_attempts=1),
            bucket,
            ArchivePolicy("GOVERNANCE", 3),
            part_size=PART,
        )
        with pytest.raises(ArchiveError) as caught:
            _archive(w, "ab/obj", payload(11 * MiB, seed=61))
    assert any("abort_stale_uploads" in note for note in getattr(caught.value, "__notes__", []))
    assert len(uploads(s3, bucket)) == 1 and object_keys(s3, bucket) == []
    assert (
        ArchiveWriter(s3, bucket, ArchivePolicy("GOVERNANCE", 3)).abort_stale_uploads("ab/", timedelta(0))
        == 1
    )
    assert uploads(s3, bucket) == []


@pytest.mark.parametrize(
    ("operation", "object_lock"),
    [
        ("HeadBucket", True),
        ("CreateBucket", True),
        ("GetObjectLockConfiguration", True),
        ("GetBucketVersioning", True),
        ("PutBucketVersioning", False),
    ],
)
def test_ensure_bucket_under_faults(
    s3_server: EmbeddedS3, s3: S3Client, operation: str, object_lock: bool
) -> None:
    with FaultProxy(
        s3_server.endpoint_url, rate=1.0, kinds=("500",), operations={operation}, max_faults=1
    ) as proxy:
        retried = new_bucket(s3_client(proxy.endpoint_url), object_lock=object_lock)
    assert proxy.counts == {"500": 1}
    assert s3.get_bucket_versioning(Bucket=retried)["Status"] == "Enabled"
    with (
        FaultProxy(s3_server.endpoint_url, rate=1.0, kinds=("500",), operations={operation}) as proxy,
        pytest.raises(ArchiveError),
    ):
        new_bucket(s3_client(proxy.endpoint_url, max_attempts=1), object_lock=object_lock)
    assert proxy.injected >= 1


def test_bucket_name_checked_before_any_request(s3_server: EmbeddedS3) -> None:
    with FaultProxy(s3_server.endpoint_url, rate=0.0) as proxy, pytest.raises(ValueError):
        ensure_bucket(s3_client(proxy.endpoint_url), "Not A Bucket")
    assert proxy.requests == {}


def test_writer_retries_parts_beyond_botocore(s3_server: EmbeddedS3, s3: S3Client, bucket: str) -> None:
    """Without botocore retries (max_attempts=1), the writer's own part retry absorbs faults."""
    data = payload(16 * MiB, seed=71)
    with FaultProxy(
        s3_server.endpoint_url,
        rate=1.0,
        kinds=("500", "reset"),
        operations={"UploadPart"},
        max_faults=2,
        seed=1,
    ) as proxy:
        client = s3_client(proxy.endpoint_url, max_attempts=1)
        result = _archive(
            ArchiveWriter(client, bucket, ArchivePolicy("GOVERNANCE", 3), part_size=PART), "r/obj", data
        )
    assert proxy.injected == 2
    assert s3.get_object(Bucket=bucket, Key="r/obj", VersionId=result.version_id)["Body"].read() == data
