"""Who a Meet ``users/{id}`` is: People ``people.get``, then Directory ``users.get``, cached
per person in ``google_identities`` so each person costs Google calls once, not once per
meeting.

Calls for a person not in the cache: one ``people.get`` when it shows an email (users of
the organizer's domain; outsiders the organizer has dealt with), plus one Directory
``users.get`` when it does not. Re-resolve policy (docs/compliance.md): a person resolved
to an email is asked again after :data:`REFRESH_RESOLVED` (emails change with renames);
a person neither API showed an email for is asked again after :data:`RETRY_UNRESOLVED`
(they may become a contact, or a user of the domain), never more often.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from meet_core.db.models import GoogleIdentity, IdentitySource
from meet_core.google import GoogleGateway, PersonIdentity, validate

log = logging.getLogger(__name__)
REFRESH_RESOLVED = timedelta(days=30)
RETRY_UNRESOLVED = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Identity:
    """A resolved (or unresolvable) Meet user; ``email`` None when no API showed one."""

    account_id: str
    email: str | None
    display_name: str | None
    source: str  # IdentitySource


def _is_fresh(row: GoogleIdentity, now: datetime) -> bool:
    age = now - row.resolved_at
    return age < (RETRY_UNRESOLVED if row.source == IdentitySource.NONE else REFRESH_RESOLVED)


def look_up(gateway: GoogleGateway, account_id: str, subject: str) -> Identity:
    """People first (one call settles domain users and visible outsiders), then Directory."""
    person: PersonIdentity | None = gateway.get_person(account_id, subject=subject)
    if person is not None and person.email:
        return Identity(account_id, person.email, person.display_name, IdentitySource.PEOPLE)
    user = gateway.get_directory_user(account_id, subject=subject)
    if user is not None and user.email:
        return Identity(account_id, user.email, user.display_name, IdentitySource.DIRECTORY)
    name = person.display_name if person is not None else None
    return Identity(account_id, None, name, IdentitySource.NONE)


class IdentityResolver:
    """Resolve Meet users through the cache, asking Google only for people not (freshly) in it.

    ``sessions`` opens short sessions of its own: lookups happen outside the harvest's
    transaction, like the rest of the snapshot.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        gateway: GoogleGateway,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._gateway = gateway
        self._now = now

    def resolve(self, users: Iterable[str], *, subject: str) -> dict[str, Identity]:
        """``users/{id}`` -> Identity for every user given (Google errors propagate)."""
        wanted: dict[str, str] = {}
        for user in users:
            try:
                wanted[validate.account_id(user)] = user
            except ValueError:  # not a Google account id: nobody to ask, stays unresolved
                log.warning("identity: cannot resolve Meet user %r", user)
        if not wanted:
            return {}
        now = self._now()
        with self._sessions() as session:
            cached = {
                row.account_id: row
                for row in session.scalars(
                    select(GoogleIdentity).where(GoogleIdentity.account_id.in_(list(wanted)))
                )
            }
            found = {
                account: Identity(row.account_id, row.email, row.display_name, row.source)
                for account, row in cached.items()
                if _is_fresh(row, now)
            }
        fetched = [
            look_up(self._gateway, account, subject) for account in sorted(wanted) if account not in found
        ]
        if fetched:
            self._store(fetched, now)
        found.update((identity.account_id, identity) for identity in fetched)
        return {wanted[account]: identity for account, identity in found.items()}

    def _store(self, identities: list[Identity], now: datetime) -> None:
        for attempt in range(2):  # a concurrent harvest may insert the same person first
            try:
                with self._sessions.begin() as session:
                    for identity in identities:
                        session.merge(
                            GoogleIdentity(
                                account_id=identity.account_id,
                                email=identity.email,
                                display_name=identity.display_name,
                                source=str(identity.source),
                                resolved_at=now,
                            )
                        )
                return
            except IntegrityError:
                if attempt:
                    log.warning("identity cache: concurrent writers; %d people not cached", len(identities))

