"""The demo starts from a clean sandbox: the earlier run's state under MEET_HOME is moved
into MEET_HOME/previous-demo; `--keep` carries on with it; a database outside MEET_HOME is
never touched."""

from __future__ import annotations

import os
from pathlib import Path

from meet_sandbox.demo.stack import PREVIOUS, start_stack
from tests.core.test_cli import run


def _outer_env(home: Path, **more: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MEET_", "GOOGLE_", "AWS_"))}
    # Polling: in events mode the stack also sets up Pub/Sub and migrates the database at
    # start, which these tests, about what is set aside or kept, do not look at.
    return {**clean, "MEET_HOME": str(home), "MEET_INGESTION": "polling", **more}


def _earlier_run(home: Path, *, emulator: bool = True) -> None:
    (home / "dagster").mkdir(parents=True)
    (home / "dagster" / "runs.db").write_text("earlier runs")
    if emulator:  # not an emulator's real state: only for a start that sets it aside
        (home / "emulator-state.json").write_text('{"clock": "hours ahead"}')
    (home / "meet.db").write_text("earlier meetings and keys")
    (home / "notes.txt").write_text("the user's own file")


def test_a_fresh_start_sets_the_earlier_state_aside(tmp_path: Path) -> None:
    _earlier_run(tmp_path)
    (tmp_path / PREVIOUS).mkdir()
    (tmp_path / PREVIOUS / "meet.db").write_text("the run before the earlier one")
    stack = start_stack(_outer_env(tmp_path), fresh=True)
    try:
        assert (tmp_path / PREVIOUS / "meet.db").read_text() == "earlier meetings and keys"
        assert (tmp_path / PREVIOUS / "dagster" / "runs.db").exists()
        assert (tmp_path / PREVIOUS / "emulator-state.json").read_text() == '{"clock": "hours ahead"}'
        assert not (tmp_path / "meet.db").exists() and not (tmp_path / "dagster").exists()
        assert (tmp_path / "notes.txt").exists(), "only the demo's own state moves"
        assert any(str(tmp_path / PREVIOUS) in note for note in stack.notes)
    finally:
        stack.close()


def test_keep_carries_on_with_the_earlier_state(tmp_path: Path) -> None:
    _earlier_run(tmp_path, emulator=False)
    stack = start_stack(_outer_env(tmp_path), fresh=False)
    try:
        assert (tmp_path / "meet.db").read_text() == "earlier meetings and keys"
        assert (tmp_path / "dagster" / "runs.db").exists() and not (tmp_path / PREVIOUS).exists()
        assert stack.notes == []
    finally:
        stack.close()


def test_a_database_outside_meet_home_is_not_touched(tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    (elsewhere / "meet.db").write_text("someone's data")
    stack = start_stack(_outer_env(home, MEET_DATABASE_URL=f"sqlite:///{elsewhere / 'meet.db'}"), fresh=True)
    try:
        assert (elsewhere / "meet.db").read_text() == "someone's data"
        assert any("outside MEET_HOME" in note for note in stack.notes)
    finally:
        stack.close()


def test_the_console_script_offers_keep() -> None:
    shown = run(["demo", "--help"], {})
    assert shown.returncode == 0 and "--keep" in shown.stdout and PREVIOUS in shown.stdout
