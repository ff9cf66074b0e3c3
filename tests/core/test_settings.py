from pathlib import Path

import pytest

from meet_core.settings import Settings, SettingsError


def test_defaults_are_embedded(tmp_path: Path) -> None:
    settings = Settings.from_env({"MEET_HOME": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'meet.db'}"
    assert settings.google_endpoint is None
    assert settings.s3_endpoint_url is None
    assert settings.retention_days == 2557
    assert settings.object_lock_mode == "COMPLIANCE"
    assert settings.google_calendar_id == "primary"
    assert settings.is_sqlite


def test_values_are_read(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "MEET_DATABASE_URL": "postgresql+psycopg://u@db/meet",
            "MEET_GOOGLE_ENDPOINT": "http://127.0.0.1:9000/",
            "MEET_S3_ENDPOINT_URL": "http://127.0.0.1:9001",
            "MEET_S3_BUCKET": "archive-eu",
            "MEET_S3_PREFIX": "/meet/",
            "MEET_RETENTION_DAYS": "30",
            "MEET_OBJECT_LOCK_MODE": "governance",
            "MEET_GOOGLE_SUBJECT": "Boss@Corp.example",
        }
    )
    assert settings.google_endpoint == "http://127.0.0.1:9000"
    assert settings.s3_prefix == "meet"
    assert settings.retention_days == 30
    assert settings.object_lock_mode == "GOVERNANCE"
    assert settings.google_subject == "boss@corp.example"
    assert settings.organizer_domain == "corp.example"
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MEET_DATABASE_URL", "mysql://x/y"),
        ("MEET_DATABASE_URL", "not a url"),
        ("MEET_GOOGLE_ENDPOINT", "ftp://host"),
        ("MEET_GOOGLE_ENDPOINT", "http://"),
        ("MEET_S3_ENDPOINT_URL", "localhost:9000"),
        ("MEET_S3_BUCKET", "Bad_Bucket"),
        ("MEET_S3_BUCKET", "ab"),
        ("MEET_RETENTION_DAYS", "-1"),
        ("MEET_RETENTION_DAYS", "0"),
        ("MEET_RETENTION_DAYS", "ten"),
        ("MEET_RETENTION_DAYS", "99999999"),
        ("MEET_OBJECT_LOCK_MODE", "FOREVER"),
        ("MEET_GOOGLE_SUBJECT", "nobody"),
        ("MEET_GOOGLE_SUBJECT", "a b@c.d"),
        ("MEET_ALLOW_UNLOCKED_BUCKET", "maybe"),
        ("MEET_IDEMPOTENCY_TTL_HOURS", "0"),
    ],
)
def test_garbage_names_the_variable_in_one_line(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as excinfo:
        Settings.from_env({variable: value})
    message = str(excinfo.value)
    assert message.startswith(f"{variable}:")
    assert "\n" not in message
