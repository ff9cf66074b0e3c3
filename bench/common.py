"""What every bench script shares: the import path, memory and CPU readings, child processes.

A bench script runs as ``python bench/<name>.py`` (so ``bench/`` is first on ``sys.path``)
and imports this module before anything of the project: it puts the repository root on
``sys.path`` too. The memory readings themselves live in :mod:`meet_sandbox.memory`, where
the memory tests read them the same way.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
for _folder in (ROOT, BENCH):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from meet_sandbox import children  # noqa: E402
from meet_sandbox.children import free_port, last_json, stop_process  # noqa: E402
from meet_sandbox.memory import (  # noqa: E402
    MiB,
    current_rss_kib,
    generated,
    peak_rss_kib,
    peak_rss_mib,
    process_cpu_seconds,
    process_status,
    reset_peak_rss,
    self_cpu_seconds,
)

__all__ = [
    "BENCH",
    "MiB",
    "ROOT",
    "child_env",
    "current_rss_kib",
    "free_port",
    "generated",
    "last_json",
    "peak_rss_kib",
    "peak_rss_mib",
    "process_cpu_seconds",
    "process_status",
    "reset_peak_rss",
    "run_json_child",
    "self_cpu_seconds",
    "stop_process",
]


def child_env(*extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment plus ``extra``, with the repository root importable."""
    env = dict(os.environ)
    for more in extra:
        env.update(more)
    env["PYTHONPATH"] = str(ROOT)
    return env


def run_json_child(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    cwd: Path | str = ROOT,
) -> dict[str, Any]:
    """:func:`meet_sandbox.children.run_json_child`, by default with :func:`child_env` in
    the repository root."""
    return children.run_json_child(
        command, env=child_env() if env is None else env, timeout=timeout, cwd=cwd
    )


def process_tree(pid: int) -> list[int]:
    """``pid`` and every live descendant (from /proc), e.g. a server and its workers."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found
