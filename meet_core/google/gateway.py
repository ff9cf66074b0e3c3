"""GoogleGateway: the only way the API and the pipeline talk to Google."""

from __future__ import annotations

from meet_core.google.calendar_methods import CalendarMethods
from meet_core.google.drive_methods import DriveMethods
from meet_core.google.events_methods import EventsMethods
from meet_core.google.identity_methods import IdentityMethods
from meet_core.google.meet_methods import MeetMethods
from meet_core.google.pubsub_methods import PubSubMethods
from meet_core.settings import Settings


class GoogleGateway(
    CalendarMethods, MeetMethods, DriveMethods, IdentityMethods, EventsMethods, PubSubMethods
):
    """Typed, retried, counted access to Calendar, Meet, Drive, People, Directory, Workspace
    Events and Pub/Sub for one service account.

    Safe to share between threads: each thread gets its own HTTP connection per subject.
    """

    @classmethod
    def from_settings(cls, settings: Settings) -> GoogleGateway:
        """Service account from ``settings.google_credentials_file``; the endpoint (emulator)
        and its ``/token`` replace Google's when ``settings.google_endpoint`` is set."""
        return cls(settings)
