"""MEET_INGESTION, MEET_EVENTS_TOPIC and MEET_EVENTS_SUBSCRIPTION: defaults and garbage."""

import subprocess
import sys
from pathlib import Path

import pytest

from meet_core.settings import Settings, SettingsError

TOPIC = "projects/meet-project/topics/meet-events"
SUBSCRIPTION = "projects/meet-project/subscriptions/meet-pipeline"


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"MEET_HOME": str(tmp_path), **env})


def test_polling_without_a_subscription_events_with_one(tmp_path: Path) -> None:
    assert settings(tmp_path).ingestion == "polling"
    configured = settings(tmp_path, MEET_EVENTS_TOPIC=TOPIC, MEET_EVENTS_SUBSCRIPTION=SUBSCRIPTION)
    assert configured.ingestion == "events" and configured.events_mode
    assert configured.events_topic == TOPIC and configured.events_subscription == SUBSCRIPTION
    forced = settings(
        tmp_path,
        MEET_INGESTION="POLLING",
        MEET_EVENTS_TOPIC=TOPIC,
        MEET_EVENTS_SUBSCRIPTION=SUBSCRIPTION,
    )
    assert forced.ingestion == "polling" and not forced.events_mode


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"MEET_INGESTION": "webhooks"}, "MEET_INGESTION"),
        ({"MEET_INGESTION": "events"}, "MEET_EVENTS_SUBSCRIPTION"),
        ({"MEET_INGESTION": "events", "MEET_EVENTS_SUBSCRIPTION": SUBSCRIPTION}, "MEET_EVENTS_TOPIC"),
        ({"MEET_EVENTS_TOPIC": "meet-events"}, "MEET_EVENTS_TOPIC"),
        ({"MEET_EVENTS_TOPIC": "projects/p/topics/t"}, "MEET_EVENTS_TOPIC"),
        ({"MEET_EVENTS_TOPIC": "projects/meet-project/topics/goog-x"}, "MEET_EVENTS_TOPIC"),
        ({"MEET_EVENTS_SUBSCRIPTION": TOPIC}, "MEET_EVENTS_SUBSCRIPTION"),
        ({"MEET_EVENTS_SUBSCRIPTION": "projects/meet-project/subscriptions/a b"}, "MEET_EVENTS_SUBSCRIPTION"),
    ],
)
def test_garbage_names_the_variable(tmp_path: Path, env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError, match=f"^{names}:"):
        settings(tmp_path, **env)


def test_cli_refuses_garbage_with_exit_2(tmp_path: Path) -> None:
    env = {"MEET_HOME": str(tmp_path), "MEET_EVENTS_TOPIC": "garbage", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "meet_cli.main", "events", "setup"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 2
    assert "MEET_EVENTS_TOPIC" in done.stderr
    unset = subprocess.run(
        [sys.executable, "-m", "meet_cli.main", "events", "setup"],
        env={**env, "MEET_EVENTS_TOPIC": ""}, capture_output=True, text=True, timeout=120, check=False,
    )
    assert unset.returncode == 2
    assert "MEET_EVENTS_SUBSCRIPTION" in unset.stderr
