"""Service-account credentials with domain-wide delegation and least-privilege scopes."""

from __future__ import annotations

from pathlib import Path

from google.oauth2 import service_account

from meet_core.google.config import GoogleConfig, google_config
from meet_core.settings import Settings

# Least privilege: each scope is here because a gateway method needs it (docs/google.md).
SCOPES: tuple[str, ...] = (
    # events.insert/get/patch/delete on the organizer's calendar; nothing else in Calendar.
    "https://www.googleapis.com/auth/calendar.events",
    # spaces.create: a space this app creates (and its conference data).
    "https://www.googleapis.com/auth/meetings.space.created",
    # spaces.get/patch of a space Calendar made: `created` alone gets 403 on those.
    "https://www.googleapis.com/auth/meetings.space.settings",
    # conferenceRecords (participants, recordings, transcripts) of Calendar-made spaces.
    "https://www.googleapis.com/auth/meetings.space.readonly",
    # files.get / alt=media / export of Meet recordings and transcripts only, not all of Drive.
    "https://www.googleapis.com/auth/drive.meet.readonly",
    # people.get of a Meet participant's account id: the domain's profiles (emails, names).
    "https://www.googleapis.com/auth/directory.readonly",
    # people.get of an external participant: the email only if the organizer has dealt with them.
    "https://www.googleapis.com/auth/contacts.other.readonly",
    # Directory users.get (domain_public view) by numeric id: users of the organizer's domain.
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
)
# The service account acting as itself (no subject, no delegation): Pub/Sub pull and setup.
SELF_SCOPES: tuple[str, ...] = ("https://www.googleapis.com/auth/pubsub",)


def load_service_account(source: Settings | GoogleConfig) -> service_account.Credentials:
    """The configured service account; with an endpoint its token URI moves there too."""
    config = google_config(source)
    path = config.credentials_file
    if path is None:
        raise ValueError(
            "no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS"
            " to a service-account JSON file"
        )
    if not Path(path).is_file():
        raise ValueError(f"GOOGLE_APPLICATION_CREDENTIALS: no such file: {path}")
    credentials: service_account.Credentials = (
        service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call, unused-ignore]
            str(path), scopes=list(SCOPES)
        )
    )
    if config.endpoint:
        credentials = credentials.with_token_uri(config.endpoint + "/token")
    return credentials
