"""People API and Admin SDK Directory: who a Meet ``users/{id}`` is.

Meet names signed-in participants by their numeric Google account id only. Two documented
ways turn that id into an email:

* People ``people.get`` on ``people/{id}`` (``personFields=emailAddresses,names``): domain
  profiles (``directory.readonly``) and people the organizer has dealt with
  (``contacts.other.readonly``); for anyone else Google answers without ``emailAddresses``.
* Directory ``users.get`` with the numeric id and ``viewType=domain_public``: users of the
  organizer's own domain, readable by a non-admin subject (``admin.directory.user.readonly``).
"""

from __future__ import annotations

from meet_core.google import validate
from meet_core.google.core import GatewayCore
from meet_core.google.errors import NotFound
from meet_core.google.types import PersonIdentity

PERSON_FIELDS = "emailAddresses,names"


class IdentityMethods(GatewayCore):
    def get_person(self, user: str, *, subject: str | None = None) -> PersonIdentity | None:
        """people.get of a Meet ``users/{id}`` (or ``people/{id}``); None when Google knows no
        such person (404). The identity has no email where Google does not show it."""
        account = validate.account_id(user)
        who = self._subject(subject)
        try:
            data = self._execute(
                "people",
                who,
                lambda s: s.people().get(
                    resourceName=f"people/{account}", personFields=PERSON_FIELDS
                ),
            )
        except NotFound:
            return None
        return PersonIdentity.from_person(account, data)

    def get_directory_user(
        self, user: str, *, subject: str | None = None
    ) -> PersonIdentity | None:
        """Directory users.get by numeric id, domain-public view; None when the id is no user
        of the domain (404)."""
        account = validate.account_id(user)
        who = self._subject(subject)
        try:
            data = self._execute(
                "directory",
                who,
                lambda s: s.users().get(userKey=account, viewType="domain_public"),
            )
        except NotFound:
            return None
        return PersonIdentity.from_directory_user(account, data)
