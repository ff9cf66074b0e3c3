"""The emulated clock: real time plus an offset that the sandbox can advance."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from .errors import bad_request


def rfc3339(seconds: float, *, digits: int = 6) -> str:
    """Google's timestamp style: UTC, `Z`, fractional seconds (Meet: micro, Calendar: milli)."""
    moment = datetime.fromtimestamp(seconds, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    return text + "Z"


def parse_rfc3339(text: str, name: str = "time") -> float:
    """Parse an RFC 3339 timestamp with an offset or `Z`; 400 on garbage."""
    if not isinstance(text, str) or not text:
        raise bad_request(f"Invalid {name}: expected an RFC 3339 timestamp.", location=name)
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(
            f"Invalid {name}: {text!r} is not an RFC 3339 timestamp.", location=name
        ) from None
    if moment.tzinfo is None:
        raise bad_request(f"Invalid {name}: {text!r} has no UTC offset.", location=name)
    return moment.timestamp()


class Clock:
    """Emulated time; `offset` lives in the emulator state so it survives a restart."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> float:
        self.offset += seconds
        return self.now()
