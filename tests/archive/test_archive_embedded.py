"""EmbeddedS3, ensure_bucket, bucket_has_object_lock and the s3_client factory."""

from __future__ import annotations

import http.client
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import NoCredentialsError

from meet_core.archive import ArchiveError, bucket_has_object_lock, ensure_bucket, s3_client
from meet_core.archive.client import S3Client
from meet_core.settings import Settings
from meet_sandbox.s3 import EmbeddedS3

from .helpers import embedded_s3_process


def test_serves_real_http_on_a_free_loopback_port(s3_server: EmbeddedS3) -> None:
    parts = urlsplit(s3_server.endpoint_url)
    assert parts.scheme == "http" and parts.hostname == "127.0.0.1" and parts.port not in (None, 0)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", "/")  # unsigned: moto still answers over the wire
    assert conn.getresponse().status in (200, 403)
    conn.close()


def test_endpoint_needs_start_and_stop_is_idempotent() -> None:
    server = EmbeddedS3()
    with pytest.raises(RuntimeError):
        _ = server.endpoint_url
    server.stop()  # nothing to stop: no error


def test_ensure_bucket_creates_locked_versioned_bucket_idempotently(s3: S3Client) -> None:
    name = f"e-{uuid.uuid4().hex[:20]}"
    ensure_bucket(s3, name)
    ensure_bucket(s3, name)  # again: no error, no change
    assert bucket_has_object_lock(s3, name)
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"


def test_ensure_bucket_unlocked_and_refusal_to_pretend(s3: S3Client) -> None:
    name = f"e-{uuid.uuid4().hex[:20]}"
    ensure_bucket(s3, name, object_lock=False)
    assert not bucket_has_object_lock(s3, name)
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    with pytest.raises(ArchiveError, match="without Object Lock"):
        ensure_bucket(s3, name, object_lock=True)


@pytest.mark.parametrize("name", ["Bad_Name", "ab", "x" * 70, "-lead", "a..b", "", None])
def test_ensure_bucket_refuses_invalid_names(s3: S3Client, name: str) -> None:
    with pytest.raises(ValueError):
        ensure_bucket(s3, name)
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_bucket_has_object_lock_on_missing_bucket_raises(s3: S3Client) -> None:
    with pytest.raises(ArchiveError):
        bucket_has_object_lock(s3, f"missing-{uuid.uuid4().hex[:12]}")


def test_client_config_is_the_projects(s3_server: EmbeddedS3) -> None:
    client = s3_client(s3_server.endpoint_url, max_attempts=7, read_timeout=9)
    config = client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 7}
    assert config.read_timeout == 9 and config.connect_timeout == 5
    assert config.request_checksum_calculation == "when_supported"
    assert config.s3 == {"addressing_style": "path"}
    assert client.meta.endpoint_url == s3_server.endpoint_url


def _strip_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_settings_endpoint_on_loopback_uses_embedded_keys(
    s3_server: EmbeddedS3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _strip_aws_credentials(monkeypatch, tmp_path)
    settings = Settings.from_env({"MEET_S3_ENDPOINT_URL": s3_server.endpoint_url, "MEET_HOME": str(tmp_path)})
    client = s3_client(settings)
    assert client.meta.endpoint_url == s3_server.endpoint_url
    assert isinstance(client.list_buckets()["Buckets"], list)  # signed with the dummy keys


def test_remote_endpoint_never_gets_dummy_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _strip_aws_credentials(monkeypatch, tmp_path)
    client = s3_client("https://s3.example.invalid")
    with pytest.raises(NoCredentialsError):  # raised while signing, before any connection
        client.list_buckets()


def test_state_dir_survives_a_restart_in_another_process(tmp_path: Path) -> None:
    with embedded_s3_process("--state-dir", str(tmp_path), "--bucket", "persist") as endpoint:
        client = s3_client(endpoint, access_key_id="k", secret_access_key="s")
        version = client.put_object(
            Bucket="persist",
            Key="a/b",
            Body=b"kept",
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate="2099-01-01T00:00:00Z",
            ChecksumAlgorithm="CRC64NVME",
        )["VersionId"]
    assert (tmp_path / "s3-state.pickle").exists()

    with embedded_s3_process("--state-dir", str(tmp_path)) as endpoint:
        client = s3_client(endpoint, access_key_id="k", secret_access_key="s")
        got = client.get_object(Bucket="persist", Key="a/b", VersionId=version)
        assert got["Body"].read() == b"kept"
        assert got["ObjectLockMode"] == "COMPLIANCE" and bucket_has_object_lock(client, "persist")
