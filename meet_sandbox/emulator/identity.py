"""People API v1 (`people.get`) and Admin SDK Directory v1 (`users.get`) for the account ids
that Meet shows as `users/{id}`.

Who is known: everyone who joined a conference signed in, and every space owner. Users of
the organizer's domain resolve through both APIs. An external account resolves through
People only, and with `emailAddresses` only when the setting `external_visible_emails`
lists it (Google shows an outsider's email to people who have dealt with them, through
`contacts.other.readonly`); otherwise People answers names only and Directory 404.
"""

from __future__ import annotations

import hashlib
from typing import Any

from . import ids
from .context import Context
from .errors import ApiError, bad_request
from .wire import Request, Response, json_response

PEOPLE_FIELDS = ("emailAddresses", "names")
# People's own list of valid personFields (discovery); others are 400 in Google too.
_PERSON_FIELDS_TEXT = (
    "addresses ageRanges biographies birthdays calendarUrls clientData coverPhotos "
    "emailAddresses events externalIds genders imClients interests locales locations "
    "memberships metadata miscKeywords names nicknames occupations organizations "
    "phoneNumbers photos relations sipAddresses skills urls userDefined"
)
VALID_PERSON_FIELDS = frozenset(_PERSON_FIELDS_TEXT.split(" "))
# Scopes under which people.get shows a domain profile / an outsider's email.
DOMAIN_PEOPLE = frozenset(
    {
        "https://www.googleapis.com/auth/directory.readonly",
        "https://www.googleapis.com/auth/contacts",
        "https://www.googleapis.com/auth/contacts.readonly",
    }
)
OTHER_CONTACTS = frozenset(
    {
        "https://www.googleapis.com/auth/contacts.other.readonly",
        "https://www.googleapis.com/auth/contacts",
        "https://www.googleapis.com/auth/contacts.readonly",
    }
)


def _known(ctx: Context) -> dict[str, tuple[str, str]]:
    """account id -> (email, display name) of everyone the emulator has seen signed in."""
    state = ctx.store.state
    found: dict[str, tuple[str, str]] = {}
    for space in state["spaces"].values():
        owner = space["owner"]
        found[ids.user_id(owner)] = (owner, owner.split("@", 1)[0].replace(".", " ").title())
    for participant in state["participants"].values():
        if participant["kind"] == "signedinUser" and participant["email"]:
            found[ids.user_id(participant["email"])] = (
                participant["email"],
                participant["display_name"],
            )
    return found


def _domain_of(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


def _etag(*parts: str) -> str:
    return "%EgUBAi43PRoEAQIFByIM" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _names(account: str, display_name: str, source_type: str) -> list[dict[str, Any]]:
    given, _, family = display_name.partition(" ")
    entry: dict[str, Any] = {
        "metadata": {"primary": True, "source": {"type": source_type, "id": account}},
        "displayName": display_name,
        "givenName": given,
        "displayNameLastFirst": f"{family}, {given}" if family else given,
        "unstructuredName": display_name,
    }
    if family:
        entry["familyName"] = family
    return [entry]


# ----- People v1 ---------------------------------------------------------------------------


def get_person(ctx: Context, request: Request) -> Response:
    assert request.token is not None
    mask = (request.arg("personFields") or request.arg("requestMask.includeField") or "").strip()
    if not mask:
        raise ApiError(
            400,
            "personFields mask is required. Please specify one or more valid paths. Valid paths"
            " are documented at https://developers.google.com/people/api/rest/v1/people/get.",
            "badRequest",
        )
    fields = [f.strip().removeprefix("person.") for f in mask.split(",") if f.strip()]
    unknown = [f for f in fields if f not in VALID_PERSON_FIELDS]
    if unknown:
        raise ApiError(400, f"Invalid personFields mask path: {unknown[0]!r}.", "badRequest")
    account = request.params["person"]
    if account == "me":
        email = request.subject
        account = ids.user_id(email)
    if not account.isdigit():
        raise ApiError(400, "Resource name is not a valid person resource.", "badRequest")
    person = _known(ctx).get(account)
    if person is None and request.params["person"] == "me":
        # The impersonated user exists even before Meet has seen them (no space yet).
        person = (email, email.split("@", 1)[0].replace(".", " ").title())
    if person is None:
        raise ApiError(404, "Requested entity was not found.", "notFound")
    email, display_name = person
    scopes = request.token.scopes
    internal = _domain_of(email) == ctx.organizer_domain
    visible = set(ctx.store.settings["external_visible_emails"])
    shows_email = (internal and bool(scopes & DOMAIN_PEOPLE)) or (
        not internal and email in visible and bool(scopes & OTHER_CONTACTS)
    )
    source_type = "DOMAIN_PROFILE" if internal else "PROFILE"
    out: dict[str, Any] = {
        "resourceName": f"people/{account}",
        "etag": _etag(account, email, display_name),
    }
    if "names" in fields:
        out["names"] = _names(account, display_name, source_type)
    if "emailAddresses" in fields and shows_email:
        out["emailAddresses"] = [
            {
                "metadata": {
                    "primary": True,
                    "verified": True,
                    "source": {"type": source_type if internal else "OTHER_CONTACT", "id": account},
                },
                "value": email,
            }
        ]
    return json_response(out)


# ----- Admin SDK Directory v1 --------------------------------------------------------------


def _not_authorized() -> ApiError:
    return ApiError(403, "Not Authorized to access this resource/api", "forbidden")


def get_user(ctx: Context, request: Request) -> Response:
    assert request.token is not None
    view = request.arg("viewType", "admin_view")
    if view not in ("admin_view", "domain_public"):
        raise bad_request(f"Invalid value '{view}' for viewType.", location="viewType")
    projection = request.arg("projection", "basic")
    if projection not in ("basic", "custom", "full"):
        raise bad_request(f"Invalid value '{projection}' for projection.", location="projection")
    admins = {a.lower() for a in ctx.store.settings["directory_admins"]}
    if view == "admin_view" and request.subject not in admins:
        raise _not_authorized()  # a non-admin subject may only read the domain-public view
    key = request.params["user"].lower()
    known = _known(ctx)
    by_email = {p[0]: p for p in known.values()}
    person = known.get(key) if key.isdigit() else by_email.get(key)
    if person is None or _domain_of(person[0]) != ctx.organizer_domain:
        # Outsiders are no users of this domain: Google answers 404, not 403.
        raise ApiError(404, "Resource Not Found: userKey", "notFound")
    email, display_name = person
    given, _, family = display_name.partition(" ")
    out: dict[str, Any] = {
        "kind": "admin#directory#user",
        "id": ids.user_id(email),
        "etag": f'"{_etag(email)}"',
        "primaryEmail": email,
        "name": {"givenName": given, "familyName": family or given, "fullName": display_name},
        "emails": [{"address": email, "primary": True}],
    }
    if view == "admin_view":
        out.update({"isAdmin": email in admins, "suspended": False, "orgUnitPath": "/"})
    return json_response(out)


ROUTES = [
    ("GET", r"/v1/people/(?P<person>[^/:]+)", "people.people.get", get_person),
    ("GET", r"/admin/directory/v1/users/(?P<user>[^/]+)", "directory.users.get", get_user),
]
