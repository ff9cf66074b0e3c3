"""Service-account credentials with domain-wide delegation and least-privilege scopes."""

from __future__ import annotations

from pathlib import Path

from google.oauth2 import service_account

from meet_core.google.config import GoogleConfig, google_config
from meet_core.settings import Settings

# Least privilege: each scope is here because a gateway method needs it (docs/google.md), and
# each API's token carries only its own API's scopes (a leaked Calendar token reads no Drive).
API_SCOPES: dict[str, tuple[str, ...]] = {
    # events.insert/get/patch/delete on the organizer's calendar; nothing else in Calendar.
    "calendar": ("https://www.googleapis.com/auth/calendar.events",),
    "meet": (
        # spaces.create: a space this app creates (and its conference data).
        "https://www.googleapis.com/auth/meetings.space.created",
        # spaces.get/patch of a space Calendar made: `created` alone gets 403 on those.
        "https://www.googleapis.com/auth/meetings.space.settings",
        # conferenceRecords (participants, recordings, transcripts) of Calendar-made spaces.
        "https://www.googleapis.com/auth/meetings.space.readonly",
    ),
    # files.get / alt=media / export of Meet recordings and transcripts only, not all of Drive.
    "drive": ("https://www.googleapis.com/auth/drive.meet.readonly",),
    "people": (
        # people.get of a Meet participant's account id: the domain's profiles (emails, names).
        "https://www.googleapis.com/auth/directory.readonly",
        # people.get of an external participant: the email only if the organizer has dealt with them.
        "https://www.googleapis.com/auth/contacts.other.readonly",
    ),
    # Directory users.get (domain_public view) by numeric id: users of the organizer's domain.
    "directory": ("https://www.googleapis.com/auth/admin.directory.user.readonly",),
    # Workspace Events subscriptions on the organizer's Meet spaces (meetings.space.readonly).
    "workspaceevents": ("https://www.googleapis.com/auth/meetings.space.readonly",),
    # The service account acting as itself (no subject, no delegation): Pub/Sub pull and setup.
    "pubsub": ("https://www.googleapis.com/auth/pubsub",),
}
# What the Workspace admin grants the service account's client id (domain-wide delegation):
# every delegated scope above, once.
SCOPES: tuple[str, ...] = tuple(
    dict.fromkeys(scope for api, scopes in API_SCOPES.items() if api != "pubsub" for scope in scopes)
)


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
