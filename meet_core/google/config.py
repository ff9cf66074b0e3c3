"""What a gateway needs to reach Google, and nothing else (no app settings)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from meet_core.settings import Settings


@dataclass(frozen=True, slots=True)
class GoogleConfig:
    """Service account, endpoint and defaults of one :class:`GoogleGateway`.

    ``endpoint`` (the emulator) replaces every Google endpoint and the token URI.
    """

    credentials_file: Path | None = None
    endpoint: str | None = None
    subject: str = "organizer@example.com"
    calendar_id: str = "primary"
    deadline_seconds: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> GoogleConfig:
        return cls(
            credentials_file=settings.google_credentials_file,
            endpoint=settings.google_endpoint,
            subject=settings.google_subject,
            calendar_id=settings.google_calendar_id,
            deadline_seconds=settings.google_deadline_seconds,
        )


def google_config(source: Settings | GoogleConfig) -> GoogleConfig:
    return source if isinstance(source, GoogleConfig) else GoogleConfig.from_settings(source)
