"""What every bench script shares: the import path, memory and CPU readings, child processes.

A bench script runs as ``python bench/<name>.py`` (so ``bench/`` is first on ``sys.path``)
and imports this module before anything of the project: it puts the repository root on
``sys.path`` too. The memory readings themselves live in :mod:`meet_sandbox.memory`, where
the memory tests read them the same way.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
for _folder in (ROOT, BENCH):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from meet_sandbox.children import free_port  # noqa: E402
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


def last_json(stdout: str) -> dict[str, Any]:
    """A child's report: the JSON object on the last line of its standard output."""
    report: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return report


def run_json_child(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    cwd: Path | str = ROOT,
) -> dict[str, Any]:
    """Run a child to its end and return its JSON report; a failed child raises with the
    tail of its standard error."""
    out = subprocess.run(
        list(command),
        env=dict(env) if env is not None else child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command[:3]))} … failed ({out.returncode}):\n{out.stderr[-4000:]}")
    return last_json(out.stdout)


def stop_process(
    process: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 30, kill_timeout: float = 10
) -> None:
    """Signal a child and wait for it; kill it if it has not ended after ``timeout`` seconds."""
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=kill_timeout)
