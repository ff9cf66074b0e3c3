"""The console script, run as a user runs it: a subprocess with environment variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from meet_core.db import make_engine


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meet_cli.main", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_key_lifecycle_and_audit(empty_database_url: str, tmp_path: Path) -> None:
    env = {"MEET_DATABASE_URL": empty_database_url, "MEET_HOME": str(tmp_path)}
    assert run(["db", "upgrade"], env).returncode == 0
    assert run(["db", "current"], env).returncode == 0

    created = run(["api-key", "create", "--name", "xoma-prod", "--role", "service", "--client", "xoma"], env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("mka_")
    key_id = key.split("_")[1]

    engine = make_engine(empty_database_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT secret_hash FROM api_keys WHERE id = :i"), {"i": key_id}).scalar_one()
        dumped = " ".join(str(v) for row in conn.execute(text("SELECT * FROM api_keys")) for v in row)
    engine.dispose()
    secret = key.split("_", 2)[2]
    assert secret not in dumped and stored != secret

    listed = run(["api-key", "list"], env)
    assert key_id in listed.stdout and "active" in listed.stdout and secret not in listed.stdout
    assert run(["api-key", "revoke", key_id], env).returncode == 0
    assert "revoked" in run(["api-key", "list"], env).stdout
    assert run(["api-key", "revoke", "nosuchkey"], env).returncode == 1

    verified = run(["audit", "verify"], env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "OK: 2 events" in verified.stdout


def test_audit_verify_exits_non_zero_on_a_broken_chain(empty_database_url: str, tmp_path: Path) -> None:
    env = {"MEET_DATABASE_URL": empty_database_url, "MEET_HOME": str(tmp_path)}
    assert run(["db", "upgrade"], env).returncode == 0
    assert run(["api-key", "create", "--name", "a", "--role", "admin"], env).returncode == 0
    engine = make_engine(empty_database_url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1"))
    engine.dispose()
    result = run(["audit", "verify"], env)
    assert result.returncode == 1
    assert "BROKEN at seq 1" in result.stdout


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["api-key", "create", "--name", "x", "--role", "root"], {}, "invalid choice"),
        (["api-key", "create", "--role", "admin"], {}, "--name"),
        (["audit", "verify"], {"MEET_RETENTION_DAYS": "-5"}, "MEET_RETENTION_DAYS"),
        (["db", "upgrade"], {"MEET_DATABASE_URL": "oracle://xoma"}, "MEET_DATABASE_URL"),
        (["nonsense"], {}, "invalid choice"),
    ],
)
def test_garbage_is_refused_with_a_clear_message(
    args: list[str], env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    result = run(args, {"MEET_HOME": str(tmp_path), **env})
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_key_without_client_says_it_makes_a_new_client(empty_database_url: str, tmp_path: Path) -> None:
    """A key named after nothing existing would silently see none of XOMA's meetings: the
    command says so, and lists the clients there are."""
    env = {"MEET_DATABASE_URL": empty_database_url, "MEET_HOME": str(tmp_path)}
    assert run(["db", "upgrade"], env).returncode == 0
    first = run(["api-key", "create", "--name", "xoma-1", "--role", "service", "--client", "xoma"], env)
    assert first.returncode == 0 and "new client 'xoma' created" in first.stderr
    assert "Existing clients: none" in first.stderr
    second = run(["api-key", "create", "--name", "xoma-2", "--role", "service"], env)
    assert second.returncode == 0
    assert "new client 'xoma-2' created" in second.stderr and "Existing clients: xoma." in second.stderr
    assert second.stdout.strip().splitlines()[-1].startswith("mka_")  # the key, alone on the last line
    shared = run(["api-key", "create", "--name", "xoma-3", "--role", "service", "--client", "xoma"], env)
    assert shared.returncode == 0 and shared.stderr == "" and "client 'xoma'" in shared.stdout
    helped = run(["api-key", "create", "--help"], env)
    assert "NEW client named after the key" in " ".join(helped.stdout.split())
