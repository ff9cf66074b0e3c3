"""A progress bar on stderr: redrawn in place on a terminal, a line per tenth otherwise."""

from __future__ import annotations

import sys
from typing import TextIO

WIDTH = 30


class Progress:
    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label, self.total, self.done = label, max(0, total), 0
        self.stream = stream if stream is not None else sys.stderr
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_tenth = -1

    def advance(self, step: int = 1) -> None:
        self.done = min(self.total, self.done + step)
        tenth = self.done * 10 // self.total if self.total else 10
        if self._tty or tenth != self._last_tenth:
            self._last_tenth = tenth
            self._draw()

    def _draw(self) -> None:
        filled = self.done * WIDTH // self.total if self.total else WIDTH
        bar = "#" * filled + "." * (WIDTH - filled)
        line = f"{self.label} [{bar}] {self.done}/{self.total}"
        self.stream.write(("\r" + line) if self._tty else (line + "\n"))
        self.stream.flush()

    def close(self) -> None:
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()
