"""Child processes of a local stack (the demo, multi-process tests): each logs to its own
file in its own process group, all are stopped together, and each listens on a free
loopback port once it answers over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx


def free_port() -> int:
    """A loopback port nobody listens on now (a child binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The signals that end a demo besides Ctrl-C: `kill` (SIGTERM) and a closed terminal (SIGHUP).
ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextmanager
def ended_by_signals(signals: Sequence[signal.Signals] = ENDING_SIGNALS) -> Iterator[None]:
    """Inside the block, SIGTERM and SIGHUP raise SystemExit (128 + the signal number) in the
    main thread, as Ctrl-C raises KeyboardInterrupt, so every ``with``/``finally`` stops what
    it started. Python's default for them ends the process at once, and the children (each
    in its own session, so a terminal's signals do not reach them) would outlive it. A second
    signal while stopping is ignored: the stop in progress finishes."""

    def leave(number: int, _frame: object) -> None:
        for each in signals:
            signal.signal(each, signal.SIG_IGN)
        raise SystemExit(128 + number)

    previous = {each: signal.signal(each, leave) for each in signals}
    try:
        yield
    finally:
        for each, handler in previous.items():
            signal.signal(each, handler)


class ChildProcesses:
    """``with ChildProcesses(env, logs, cwd) as children: children.spawn("api", ...)``."""

    def __init__(self, env: dict[str, str], logs: Path, cwd: Path) -> None:
        self.env, self.logs, self.cwd = env, logs, cwd
        self.started: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as out:
            # A new session per child: SIGTERM reaches the process group (a daemon's own children too).
            child = subprocess.Popen(argv, env=self.env, cwd=self.cwd, stdout=out,  # noqa: S603 - our own programs
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.started[name] = child
        return child

    def all_alive(self) -> bool:
        return all(child.poll() is None for child in self.started.values())

    def wait_http(self, url: str, what: str, timeout: float = 180,
                  ready: Callable[[int], bool] = lambda status: status == 200) -> None:
        """Until ``url`` answers as ``ready``; fails at once if a child has exited."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, child in self.started.items():
                if child.poll() is not None:
                    raise RuntimeError(f"{name} exited with {child.returncode} while waiting for {what}")
            try:
                if ready(httpx.get(url, timeout=2).status_code):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{what} did not come up at {url}")

    def stop(self, grace: float = 30) -> None:
        for child in self.started.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in self.started.values():
            try:
                child.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()

    def __enter__(self) -> ChildProcesses:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


def run_json_child(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    cwd: Path | str | None = None,
) -> dict[str, Any]:
    """Run a child to its end and return its report: the JSON object on the last line of its
    standard output. A failed child raises with the tail of its standard error."""
    done = subprocess.run(  # noqa: S603 - our own programs
        list(command), env=None if env is None else dict(env), cwd=cwd, timeout=timeout,
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command[:4]))} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return last_json(done.stdout)


def last_json(stdout: str) -> dict[str, Any]:
    """A child's report: the JSON object on the last line of its standard output."""
    report: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return report


def stop_process(process: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 30,
                 kill_timeout: float = 10) -> None:
    """Signal one child and wait for it; kill it if it has not ended after ``timeout`` seconds."""
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=kill_timeout)
