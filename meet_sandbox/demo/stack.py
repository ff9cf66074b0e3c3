"""The embedded services of the demo: started only for what the environment leaves unset."""

from __future__ import annotations

import os
import shutil
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from meet_core.settings import EMULATOR_SERVICE_ACCOUNT, ENDPOINTS_FILE, Settings, write_endpoints

# What a demo leaves under MEET_HOME. A new demo moves it into PREVIOUS (replacing an older
# one there) and starts clean; `--keep` carries on with it.
SANDBOX_STATE = (
    "emulator-state.json", EMULATOR_SERVICE_ACCOUNT, "s3", "dagster", "logs", "reports",
)
PREVIOUS = "previous-demo"


@dataclass
class Stack:
    """The environment every demo process uses, and what was started to serve it."""

    env: dict[str, str]
    started: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the demo says about its state
    emulator_url: str = ""
    exits: ExitStack = field(default_factory=ExitStack)

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    def close(self) -> None:
        self.exits.close()


def start_stack(
    base_env: dict[str, str] | None = None, *, home: Path | None = None, fresh: bool = False
) -> Stack:
    """Start the emulator and the S3 server unless the environment names outside ones;
    ``fresh`` first sets the earlier demo's state aside (:func:`set_aside`)."""
    env = dict(os.environ if base_env is None else base_env)
    if home is not None:
        env["MEET_HOME"] = str(home)
    # A record left by an earlier run that was killed names services that are gone.
    (Settings.from_env(env).home / ENDPOINTS_FILE).unlink(missing_ok=True)
    settings = Settings.from_env(env)  # fails early, naming a malformed variable
    settings.home.mkdir(parents=True, exist_ok=True)
    stack = Stack(env=env)
    if fresh:
        stack.notes += set_aside(settings)
    try:
        if not settings.google_endpoint:
            _start_emulator(stack, settings)
        else:
            stack.emulator_url = settings.google_endpoint
        if not settings.s3_endpoint_url and not env.get("AWS_ACCESS_KEY_ID"):
            _start_s3(stack, settings)
        _prepare_bucket(stack)
        _prepare_events(stack)
        _record_endpoints(stack, settings)
    except BaseException:
        stack.close()
        raise
    return stack


def set_aside(settings: Settings) -> list[str]:
    """Move the earlier demo's state (database, emulator state and clock, S3 objects, Dagster
    home, logs) from MEET_HOME into MEET_HOME/previous-demo; return what it says about it.
    A database outside MEET_HOME (MEET_DATABASE_URL) is not touched."""
    home = settings.home
    names = list(SANDBOX_STATE)
    database = _sqlite_file(settings.database_url)
    outside = database is None or database.parent != home
    if database is not None and not outside:
        names += [database.name, f"{database.name}-wal", f"{database.name}-shm", f"{database.name}-journal"]
    present = [name for name in names if (home / name).exists()]
    notes = []
    if present:
        previous = home / PREVIOUS
        shutil.rmtree(previous, ignore_errors=True)
        previous.mkdir()
        for name in present:
            shutil.move(home / name, previous / name)
        notes.append(f"a clean sandbox: the earlier demo's state is in {previous} (--keep continues it)")
    if outside:
        notes.append("the database at MEET_DATABASE_URL is outside MEET_HOME and is kept as it is")
    return notes


def _sqlite_file(url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).expanduser().absolute()


# The demo runs in events mode (Workspace Events through the emulator's Pub/Sub) unless the
# environment chooses: MEET_INGESTION=polling, or its own topic and subscription.
DEMO_EVENTS = {
    "MEET_EVENTS_TOPIC": "projects/meet-archive-demo/topics/meet-events",
    "MEET_EVENTS_SUBSCRIPTION": "projects/meet-archive-demo/subscriptions/meet-pipeline",
}


def _prepare_events(stack: Stack) -> None:
    """Against the embedded emulator: events mode by default, its topic and subscription set
    up (``meet-archive events setup``) and the organizer's Workspace subscription made."""
    if stack.env.get("MEET_INGESTION", "").strip().lower() == "polling":
        return
    if not any(s.startswith("Google Workspace emulator") for s in stack.started):
        return  # an outside Google: its events configuration is the operator's
    for name, value in DEMO_EVENTS.items():
        stack.env.setdefault(name, value)
    from meet_core.db import make_engine, make_session_factory
    from meet_core.db.migrate import upgrade
    from meet_core.events.setup import setup
    from meet_core.events.subscriptions import keep_subscriptions
    from meet_core.google import GoogleGateway

    settings = stack.settings
    assert settings.events_topic and settings.events_subscription
    gateway = GoogleGateway.from_settings(settings)
    setup(gateway, topic=settings.events_topic, subscription=settings.events_subscription)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        keep_subscriptions(
            gateway,
            make_session_factory(engine),
            topic=settings.events_topic,
            default_subject=settings.google_subject,
            now=_emulator_now(stack.emulator_url),
        )
    finally:
        engine.dispose()


def _emulator_now(base_url: str) -> datetime:
    import json
    import urllib.request

    from meet_core.google.types import parse_time

    with urllib.request.urlopen(base_url + "/_emulator/clock", timeout=10) as answer:  # noqa: S310
        moment = parse_time(json.loads(answer.read())["now"])
    return moment or datetime.now(UTC)


def _start_emulator(stack: Stack, settings: Settings) -> None:
    from meet_sandbox.emulator import EmulatorServer

    account = settings.home / EMULATOR_SERVICE_ACCOUNT
    server = EmulatorServer(
        state_file=settings.home / "emulator-state.json",
        organizer_domain=settings.organizer_domain,
    ).start()
    stack.exits.callback(server.stop)
    if not account.exists():
        server.create_service_account(account)
    else:
        server.register_service_account(account)
    stack.env["MEET_GOOGLE_ENDPOINT"] = server.base_url
    stack.env.setdefault("GOOGLE_APPLICATION_CREDENTIALS", str(account))
    stack.emulator_url = server.base_url
    stack.started.append(f"Google Workspace emulator {server.base_url}")


def _start_s3(stack: Stack, settings: Settings) -> None:
    from meet_sandbox.s3.embedded import EmbeddedS3

    server = EmbeddedS3(state_dir=settings.home / "s3").start()
    stack.exits.callback(server.stop)
    stack.env["MEET_S3_ENDPOINT_URL"] = server.endpoint_url
    stack.started.append(f"S3 (moto) {server.endpoint_url}")


def _record_endpoints(stack: Stack, settings: Settings) -> None:
    """``meet-archive audit verify`` and the other commands run beside the demo with the same
    MEET_HOME reach its emulator and S3, not AWS; the file goes when they stop."""
    if not stack.started:
        return
    recorded = write_endpoints(settings.home, stack.env)
    stack.exits.callback(recorded.unlink, missing_ok=True)


def _prepare_bucket(stack: Stack) -> None:
    from meet_core.archive.client import ensure_bucket, s3_client

    settings = stack.settings
    client: Any = s3_client(settings)
    ensure_bucket(client, settings.s3_bucket, object_lock=True)
