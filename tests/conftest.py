"""Shared fixtures: every database test runs once on SQLite and once on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from meet_core.db import make_engine, make_session_factory
from meet_core.db.migrate import upgrade
from meet_core.google.gateway import GoogleGateway
from meet_core.google.retry import RetryPolicy
from meet_core.settings import Settings, reset_settings
from meet_sandbox.emulator import EmulatorServer, SandboxClient
from tests.databases import ENGINES, temporary_database

# Fixtures shared by every folder (S3, fresh databases, the keyed Google emulator).
pytest_plugins = ["tests.fixtures.databases", "tests.fixtures.google", "tests.fixtures.s3"]


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    reset_settings()
    yield
    reset_settings()


@pytest.fixture(scope="session", params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database shared by the run (tests keep their data apart with unique ids)."""
    with temporary_database(request.param, tmp_path_factory.mktemp("db")) as url:
        upgrade(url)
        yield url


@pytest.fixture(params=ENGINES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new, empty database for one test (migrations, tampering)."""
    with temporary_database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


# --- Google: the project's emulator on a free loopback port, and a gateway pointed at it ---


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """One Google Workspace emulator for the run (organizer domain example.com)."""
    with EmulatorServer("127.0.0.1", 0, organizer_domain="example.com") as server:
        yield server


@pytest.fixture(scope="session")
def google_credentials_file(emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A service-account key file the emulator trusts (token_uri = the emulator's /token)."""
    return emulator.create_service_account(tmp_path_factory.mktemp("google") / "service-account.json")


@pytest.fixture(scope="session")
def google_env(emulator: EmulatorServer, google_credentials_file: Path) -> dict[str, str]:
    """The environment variables that point the product at the emulator."""
    return {
        "MEET_GOOGLE_ENDPOINT": emulator.base_url,
        "GOOGLE_APPLICATION_CREDENTIALS": str(google_credentials_file),
        "MEET_GOOGLE_SUBJECT": "organizer@example.com",
    }


@pytest.fixture(scope="session")
def google_gateway(google_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> GoogleGateway:
    """A gateway on the emulator with a short retry deadline, so fault tests end quickly."""
    settings = Settings.from_env({**google_env, "MEET_HOME": str(tmp_path_factory.mktemp("home"))})
    return GoogleGateway(settings, deadline=2.0, retry_policy=RetryPolicy(base=0.02, cap=0.2))


@pytest.fixture
def sandbox(emulator: EmulatorServer) -> Iterator[SandboxClient]:
    """The emulator's control API; faults set through it are cleared after the test."""
    client = SandboxClient(emulator.base_url)
    yield client
    client.clear_faults()
