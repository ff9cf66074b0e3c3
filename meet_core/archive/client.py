"""The one way this project builds a boto3 S3 client, and bucket helpers around it."""

from __future__ import annotations

import ipaddress
import os
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from meet_core.archive.errors import ArchiveError, S3Unavailable
from meet_core.archive.keys import check_bucket
from meet_core.settings import Settings

S3Client: TypeAlias = Any  # boto3 builds client classes at run time; there is no static type

# The embedded (moto) server accepts any keys; fixed dummy ones keep processes that share
# it (API, Dagster code server, tests) on the same account without configuration.
EMBEDDED_ACCESS_KEY_ID = "meet-archive-embedded"
EMBEDDED_SECRET_ACCESS_KEY = "meet-archive-embedded-secret"  # noqa: S105 - a dummy, by design
EMBEDDED_REGION = "us-east-1"


def _is_loopback(endpoint_url: str) -> bool:
    host = urlsplit(endpoint_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _configured_credentials(session: boto3.session.Session) -> bool:
    """Whether the environment or a profile names AWS keys. Unlike ``get_credentials()`` this
    never falls through to the EC2/ECS metadata endpoints, which a local endpoint must not
    trigger (they are off-machine addresses, and the lookup costs seconds)."""
    if os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE"):
        return True
    scoped = session._session.get_scoped_config()  # config/credentials files, no network
    return bool(scoped.get("aws_access_key_id") or scoped.get("credential_process"))


def s3_client(
    target: Settings | str | None,
    *,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    session_token: str | None = None,
    region_name: str | None = None,
    max_attempts: int = 5,
    connect_timeout: float = 5.0,
    read_timeout: float = 60.0,
    max_pool_connections: int = 16,
) -> S3Client:
    """A boto3 S3 client for a Settings object, an endpoint URL, or AWS (``None``).

    Credentials: explicit ones, else boto3's usual chain, else - for a loopback endpoint
    only, i.e. the embedded server - the embedded dummy keys.
    """
    endpoint_url = target.s3_endpoint_url if isinstance(target, Settings) else target
    session = boto3.session.Session()
    loopback = bool(endpoint_url) and _is_loopback(endpoint_url or "")
    if access_key_id is None and loopback and not _configured_credentials(session):
        access_key_id, secret_access_key = EMBEDDED_ACCESS_KEY_ID, EMBEDDED_SECRET_ACCESS_KEY
    config = Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},  # attempts, not retries
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        tcp_keepalive=True,
        max_pool_connections=max_pool_connections,
        # Send and check CRC checksums wherever S3 supports them (needs awscrt for CRC64NVME).
        request_checksum_calculation="when_supported",
        response_checksum_validation="when_supported",
        # Custom endpoints (moto, MinIO, the fault proxy) are addressed by path.
        s3={"addressing_style": "path"} if endpoint_url else {},
    )
    return session.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region_name or session.region_name or EMBEDDED_REGION,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
        config=config,
    )


def error_code(exc: BaseException) -> str:
    """The S3 error code of a ClientError (``""`` for anything else)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def bucket_has_object_lock(client: S3Client, bucket: str) -> bool:
    """True when the bucket was created with Object Lock enabled."""
    try:
        config = client.get_object_lock_configuration(Bucket=bucket)
    except (ClientError, BotoCoreError) as exc:
        if error_code(exc) == "ObjectLockConfigurationNotFoundError":
            return False
        raise ArchiveError(f"cannot read the Object Lock configuration of {bucket!r}: {exc}") from exc
    return config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"


def ensure_bucket(client: S3Client, bucket: str, *, object_lock: bool = True) -> None:
    """Create ``bucket`` (versioned, with Object Lock unless told otherwise) if missing.

    No bucket default retention is set: moto accepts one only while the bucket is empty, and
    the writer sets retention per object anyway.
    """
    check_bucket(bucket)
    try:
        client.head_bucket(Bucket=bucket)
        exists = True
    except (ClientError, BotoCoreError) as exc:
        if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise ArchiveError(f"cannot reach bucket {bucket!r}: {exc}") from exc
        exists = False
    if not exists:
        try:
            client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=object_lock)
        except (ClientError, BotoCoreError) as exc:
            # A retried create that had succeeded, or a concurrent creator: fine.
            if error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise ArchiveError(f"cannot create bucket {bucket!r}: {exc}") from exc
    if object_lock and not bucket_has_object_lock(client, bucket):
        raise ArchiveError(f"bucket {bucket!r} exists without Object Lock; it cannot be enabled here")
    try:
        if client.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
            client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    except (ClientError, BotoCoreError) as exc:
        raise ArchiveError(f"cannot enable versioning on {bucket!r}: {exc}") from exc


_UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)
_REFUSED = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}


def require_bucket(client: S3Client, bucket: str) -> None:
    """Raise :class:`S3Unavailable`, naming the settings to check, unless ``bucket`` answers.

    A wrong endpoint, missing credentials, a wrong bucket name or an S3 that answers only
    errors must read as "nothing could be checked" (exit 2), never as a damaged archive
    (exit 1)."""
    where = client.meta.endpoint_url
    try:
        client.head_bucket(Bucket=bucket)
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise S3Unavailable(
            f"configuration error: no S3 credentials for {where} ({exc}): set MEET_S3_ENDPOINT_URL for "
            "a local or MinIO archive, or AWS credentials for AWS S3"
        ) from exc
    except _UNREACHABLE as exc:
        raise S3Unavailable(f"configuration error: S3 unreachable at {where}: check MEET_S3_ENDPOINT_URL") from exc
    except ClientError as exc:
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in ("404", "NoSuchBucket", "NotFound"):
            raise S3Unavailable(
                f"configuration error: bucket {bucket!r} not found at {where}: check MEET_S3_BUCKET and "
                "MEET_S3_ENDPOINT_URL"
            ) from exc
        if code in _REFUSED:
            raise S3Unavailable(
                f"configuration error: S3 at {where} refused the credentials for bucket {bucket!r} ({code})"
            ) from exc
        if status >= 500 or code in ("SlowDown", "ServiceUnavailable", "InternalError"):
            raise S3Unavailable(
                f"S3 unavailable: {where} answered {code or status} for bucket {bucket!r}; nothing was "
                "verified, try again later"
            ) from exc
        raise
