"""DAGSTER_HOME under MEET_HOME.

Dagster keeps its instance (run history, event logs, sensor cursors, schedules) in the
folder named by ``DAGSTER_HOME``, configured by the ``dagster.yaml`` found there.
meet-archive keeps all local state under ``MEET_HOME`` (default ``./.meet-archive``), so
the instance lives in ``$MEET_HOME/dagster``: :func:`prepare_dagster_home` creates it and
puts the project's root ``dagster.yaml`` (embedded SQLite storage) there unless the folder
already has one (an operator's own, e.g. a copy of ``deploy/dagster.yaml``, is kept).
Run as a module it also creates the instance's storage, then prints the folder:

    export DAGSTER_HOME="$(python -m meet_pipeline.home)"
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from meet_core.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = PROJECT_ROOT / "dagster.yaml"
INSTANCE_CONFIG = "dagster.yaml"
# Used when the project's dagster.yaml is not beside the package (a wheel install).
FALLBACK_CONFIG = """run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def prepare_dagster_home(meet_home: Path, template: Path = TEMPLATE) -> Path:
    """Create ``meet_home/dagster`` with a ``dagster.yaml``; return the folder."""
    home = Path(meet_home).expanduser().absolute() / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / INSTANCE_CONFIG
    if not config.exists():
        if template.is_file():
            shutil.copyfile(template, config)
        else:
            config.write_text(FALLBACK_CONFIG)
    return home


def dagster_home_from_env(env: Mapping[str, str] | None = None) -> Path:
    """``DAGSTER_HOME`` if it is set, else the prepared ``$MEET_HOME/dagster``."""
    env = os.environ if env is None else env
    explicit = env.get("DAGSTER_HOME", "").strip()
    if explicit:
        return Path(explicit)
    return prepare_dagster_home(Settings.from_env(env).home)


def create_instance_storage(dagster_home: Path) -> None:
    """Open the instance once so that its storage (tables, SQLite files) exists.

    A webserver and a daemon started side by side on a new instance otherwise both create
    the same tables, and the loser dies ("table alembic_version already exists").
    """
    import dagster as dg  # here, not at the top: the folder alone needs no Dagster

    with dg.DagsterInstance.from_config(str(dagster_home)):
        pass


def main() -> None:
    home = dagster_home_from_env()
    create_instance_storage(home)
    print(home)


if __name__ == "__main__":
    main()
