"""An emulator for a process that was started with no Google configured (``api --sandbox``)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from meet_core.settings import EMULATOR_SERVICE_ACCOUNT, Settings
from meet_sandbox.emulator import EmulatorServer

log = logging.getLogger("meet_sandbox.google")


@contextmanager
def embedded_google(settings: Settings) -> Iterator[Settings]:
    """Settings with Google reachable: as configured, or (nothing configured) an emulator in
    this process, keeping its state and service account under MEET_HOME."""
    if settings.google_endpoint or settings.google_credentials_file:
        yield settings
        return
    settings.home.mkdir(parents=True, exist_ok=True)
    account = settings.home / EMULATOR_SERVICE_ACCOUNT
    known = [account] if account.exists() else []
    with EmulatorServer(
        "127.0.0.1",
        0,
        state_file=settings.home / "emulator-state.json",
        service_accounts=known,
        organizer_domain=settings.organizer_domain,
    ) as emulator:
        if not known:
            emulator.create_service_account(account)
        log.info("no Google configured: embedded emulator on %s", emulator.base_url)
        yield dataclasses.replace(settings, google_endpoint=emulator.base_url, google_credentials_file=account)
