"""One typed settings object, read from the environment variables of the contract.

Every malformed value raises :class:`SettingsError` whose message is one line that names
the variable, so an operator sees at once what to fix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")


class SettingsError(ValueError):
    """A configuration value is malformed; the message names the variable."""


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not parts.netloc:
        raise SettingsError(f"{name}: expected a {'/'.join(schemes)} URL, got {raw!r}")
    return raw.rstrip("/")


def env_int(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    """A whole number from ``env[name]`` within bounds; a one-line error names the variable."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name}: must be between {minimum} and {maximum}, got {value}")
    return value


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A true/false flag from ``env[name]``; a one-line error names the variable."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}: expected true or false, got {raw!r}")


def _email(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    local, _, domain = raw.partition("@")
    if not local or "." not in domain or " " in raw:
        raise SettingsError(f"{name}: expected an email address, got {raw!r}")
    return raw.lower()


def _database_url(env: Mapping[str, str], home: Path) -> str:
    raw = env.get("MEET_DATABASE_URL", "").strip()
    if not raw:
        return f"sqlite:///{home / 'meet.db'}"
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
        raise SettingsError(
            f"MEET_DATABASE_URL: expected sqlite:///… or postgresql+psycopg://…, got {raw!r}"
        )
    return raw


def _webhook_secret(env: Mapping[str, str]) -> str:
    """The HMAC key for webhooks; required with a URL. Never echoed in an error message."""
    secret = env.get("MEET_WEBHOOK_SECRET", "").strip()
    if env.get("MEET_WEBHOOK_URL", "").strip() and not secret:
        raise SettingsError("MEET_WEBHOOK_SECRET: required when MEET_WEBHOOK_URL is set")
    if secret and len(secret) < 16:
        raise SettingsError(
            f"MEET_WEBHOOK_SECRET: must be at least 16 characters, got {len(secret)}"
        )
    return secret


INGESTION_MODES = ("events", "polling")
_PROJECT = r"projects/[a-z][a-z0-9-]{4,28}[a-z0-9]"
# Pub/Sub resource ids: 3-255 characters, a letter first, not starting with "goog".
_RESOURCE_ID = r"(?!goog)[A-Za-z][A-Za-z0-9._~+%-]{2,254}"
_TOPIC = re.compile(_PROJECT + "/topics/" + _RESOURCE_ID)
_SUBSCRIPTION = re.compile(_PROJECT + "/subscriptions/" + _RESOURCE_ID)


def _pubsub_name(env: Mapping[str, str], name: str, pattern: re.Pattern[str], example: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not pattern.fullmatch(raw):
        raise SettingsError(f"{name}: expected {example}, got {raw!r}")
    return raw


def _ingestion(env: Mapping[str, str], subscription: str | None, topic: str | None) -> str:
    """``events`` by default when a Pub/Sub subscription is configured, else ``polling``."""
    raw = env.get("MEET_INGESTION", "").strip().lower()
    mode = raw or ("events" if subscription else "polling")
    if mode not in INGESTION_MODES:
        raise SettingsError(f"MEET_INGESTION: expected events or polling, got {raw!r}")
    if mode == "events" and not (subscription and topic):
        missing = "MEET_EVENTS_SUBSCRIPTION" if not subscription else "MEET_EVENTS_TOPIC"
        raise SettingsError(f"{missing}: required when MEET_INGESTION=events")
    return mode


EMULATOR_SERVICE_ACCOUNT = "emulator-service-account.json"

# Services started for MEET_HOME (the demo's embedded emulator and S3) are recorded here
# while they run, so that every command run with the same MEET_HOME finds them.
ENDPOINTS_FILE = "endpoints.env"
ENDPOINT_VARIABLES = ("MEET_GOOGLE_ENDPOINT", "GOOGLE_APPLICATION_CREDENTIALS", "MEET_S3_ENDPOINT_URL")


def read_endpoints(home: Path) -> dict[str, str]:
    """``NAME=value`` lines of ``$MEET_HOME/endpoints.env`` (only the endpoint variables)."""
    try:
        lines = (home / ENDPOINTS_FILE).read_text().splitlines()
    except OSError:
        return {}
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs if name.strip() in ENDPOINT_VARIABLES}


def write_endpoints(home: Path, values: Mapping[str, str]) -> Path:
    """Record the endpoints of services started for ``home``; the caller removes the file
    when they stop."""
    path = home / ENDPOINTS_FILE
    body = "".join(f"{name}={values[name]}\n" for name in ENDPOINT_VARIABLES if values.get(name))
    path.write_text("# services running for this MEET_HOME; removed when they stop\n" + body)
    return path


def _credentials_file(raw: str, home: Path, env: Mapping[str, str]) -> Path | None:
    if raw:
        return Path(raw)
    # Against the emulator, the service account `meet-archive emulator` writes under
    # MEET_HOME is the default, so the embedded mode needs no configuration at all.
    if env.get("MEET_GOOGLE_ENDPOINT", "").strip():
        return home / EMULATOR_SERVICE_ACCOUNT
    return None


def _signing_key_file(env: Mapping[str, str]) -> Path | None:
    raw = env.get("MEET_EXPORT_SIGNING_KEY_FILE", "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not path.is_file():
        raise SettingsError(f"MEET_EXPORT_SIGNING_KEY_FILE: no such file: {raw!r}")
    return path


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    google_endpoint: str | None
    google_credentials_file: Path | None
    google_subject: str
    google_calendar_id: str
    s3_endpoint_url: str | None
    s3_bucket: str
    s3_prefix: str
    retention_days: int
    object_lock_mode: str
    allow_unlocked_bucket: bool
    idempotency_ttl_hours: int
    google_deadline_seconds: int
    # Compliance service levels and webhooks to XOMA (docs/compliance.md).
    compliance_archive_sla_minutes: int = 1440
    compliance_recording_wait_minutes: int = 180
    compliance_expiry_margin_days: int = 7
    compliance_coverage_tolerance_seconds: int = 60
    webhook_url: str | None = None
    webhook_secret: str = field(default="", repr=False)
    webhook_max_attempts: int = 8
    webhook_backoff_seconds: int = 30
    # Ed25519 private key (PEM, PKCS#8) that signs export bundles; None: $MEET_HOME/export-signing-key.pem,
    # made on first use (development only: a deployment points this at a key it keeps).
    export_signing_key_file: Path | None = None
    # Event-driven ingestion (docs/pipeline.md): Workspace Events through Pub/Sub.
    ingestion: str = "polling"
    events_topic: str | None = None
    events_subscription: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def events_mode(self) -> bool:
        return self.ingestion == "events"

    @property
    def organizer_domain(self) -> str:
        return self.google_subject.rsplit("@", 1)[1]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("MEET_HOME", "").strip() or "./.meet-archive").expanduser().absolute()
        env = {**read_endpoints(home), **env}  # what the environment sets wins
        creds = env.get("GOOGLE_APPLICATION_CREDENTIALS", "").strip()
        mode = (env.get("MEET_OBJECT_LOCK_MODE", "").strip() or "COMPLIANCE").upper()
        if mode not in LOCK_MODES:
            raise SettingsError(
                f"MEET_OBJECT_LOCK_MODE: expected COMPLIANCE or GOVERNANCE, got {mode!r}"
            )
        bucket = env.get("MEET_S3_BUCKET", "").strip() or "meet-archive"
        if not (3 <= len(bucket) <= 63) or not all(c.islower() or c.isdigit() or c in ".-" for c in bucket):
            raise SettingsError(f"MEET_S3_BUCKET: not a valid S3 bucket name: {bucket!r}")
        prefix = env.get("MEET_S3_PREFIX", "").strip().strip("/")
        calendar_id = env.get("MEET_GOOGLE_CALENDAR_ID", "").strip() or "primary"
        topic = _pubsub_name(env, "MEET_EVENTS_TOPIC", _TOPIC, "projects/PROJECT/topics/TOPIC")
        subscription = _pubsub_name(
            env, "MEET_EVENTS_SUBSCRIPTION", _SUBSCRIPTION, "projects/PROJECT/subscriptions/NAME"
        )
        return cls(
            home=home,
            database_url=_database_url(env, home),
            google_endpoint=_url(env, "MEET_GOOGLE_ENDPOINT", ("http", "https")),
            google_credentials_file=_credentials_file(creds, home, env),
            google_subject=_email(env, "MEET_GOOGLE_SUBJECT", "organizer@example.com"),
            google_calendar_id=calendar_id,
            s3_endpoint_url=_url(env, "MEET_S3_ENDPOINT_URL", ("http", "https")),
            s3_bucket=bucket,
            s3_prefix=prefix,
            retention_days=env_int(env, "MEET_RETENTION_DAYS", 2557, 1, 36500),
            object_lock_mode=mode,
            allow_unlocked_bucket=env_bool(env, "MEET_ALLOW_UNLOCKED_BUCKET", False),
            idempotency_ttl_hours=env_int(env, "MEET_IDEMPOTENCY_TTL_HOURS", 24, 1, 24 * 30),
            google_deadline_seconds=env_int(env, "MEET_GOOGLE_DEADLINE_SECONDS", 30, 1, 3600),
            compliance_archive_sla_minutes=env_int(
                env, "MEET_COMPLIANCE_ARCHIVE_SLA_MINUTES", 1440, 1, 30 * 24 * 60
            ),
            compliance_recording_wait_minutes=env_int(
                env, "MEET_COMPLIANCE_RECORDING_WAIT_MINUTES", 180, 1, 7 * 24 * 60
            ),
            compliance_expiry_margin_days=env_int(env, "MEET_COMPLIANCE_EXPIRY_MARGIN_DAYS", 7, 1, 29),
            compliance_coverage_tolerance_seconds=env_int(
                env, "MEET_COMPLIANCE_COVERAGE_TOLERANCE_SECONDS", 60, 0, 3600
            ),
            webhook_url=_url(env, "MEET_WEBHOOK_URL", ("http", "https")),
            webhook_secret=_webhook_secret(env),
            webhook_max_attempts=env_int(env, "MEET_WEBHOOK_MAX_ATTEMPTS", 8, 1, 50),
            webhook_backoff_seconds=env_int(env, "MEET_WEBHOOK_BACKOFF_SECONDS", 30, 1, 24 * 3600),
            export_signing_key_file=_signing_key_file(env),
            ingestion=_ingestion(env, subscription, topic),
            events_topic=topic,
            events_subscription=subscription,
        )


def get_settings() -> Settings:
    """Settings of this process, read once from the environment."""
    global _cached
    if _cached is None:
        _cached = Settings.from_env()
    return _cached


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment)."""
    global _cached
    _cached = None


_cached: Settings | None = None
