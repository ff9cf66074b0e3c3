"""OAuth2 JWT-bearer token endpoint, bearer-token checks and scope gates.

The token endpoint verifies what google-auth's service-account credentials send: an RS256
JWT signed with the key in the key file, `iss` = the service account, `sub` = the user it
impersonates (domain-wide delegation), `scope` = space-separated scopes. `aud` is not
checked against our URL because google-auth always puts Google's own token URI there.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qs

import google.auth.exceptions
from google.auth import jwt

from .discovery import method_scopes
from .errors import insufficient_scopes, unauthenticated
from .store import Store
from .wire import Request, Response, Token

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 3600
CLOCK_SKEW = 300
SHORT_LIVED = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
)


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def response(self) -> Response:
        body = {"error": self.error, "error_description": self.description}
        return Response(
            status=self.status,
            headers={"Content-Type": "application/json; charset=utf-8"},
            body=json.dumps(body).encode(),
            json_value=body,
        )


def _claims(store: Store, assertion: str) -> dict[str, Any]:
    try:
        header = jwt.decode_header(assertion)
        unverified = jwt.decode(assertion, verify=False)
    except (ValueError, google.auth.exceptions.GoogleAuthError):
        raise OAuthError("invalid_grant", "Invalid JWT: malformed assertion.") from None
    issuer = unverified.get("iss")
    account = store.state["service_accounts"].get(issuer) if isinstance(issuer, str) else None
    if account is None:
        raise OAuthError(
            "invalid_grant", "Invalid JWT Signature."
        )  # Google's answer to unknown keys
    if header.get("alg") != "RS256" or header.get("kid") not in (None, account["key_id"]):
        raise OAuthError("invalid_grant", "Invalid JWT Signature.")
    try:
        claims = jwt.decode(
            assertion,
            certs={account["key_id"]: account["public_key_pem"]}
            if header.get("kid")
            else account["public_key_pem"],
            verify=True,
            audience=None,
            clock_skew_in_seconds=CLOCK_SKEW,
        )
    except (ValueError, google.auth.exceptions.GoogleAuthError) as exc:
        text = str(exc)
        if "expired" in text.lower() or "early" in text.lower() or "iat" in text.lower():
            raise OAuthError(
                "invalid_grant",
                SHORT_LIVED,
            ) from None
        raise OAuthError("invalid_grant", "Invalid JWT Signature.") from None
    if int(claims["exp"]) - int(claims["iat"]) > MAX_ASSERTION_LIFETIME:
        raise OAuthError(
            "invalid_grant",
            SHORT_LIVED,
        )
    return claims


def issue_token(store: Store, request: Request, organizer_domain: str) -> Response:
    """POST /token."""
    try:
        form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        form = {}
    grant_type = (form.get("grant_type") or [""])[0]
    assertion = (form.get("assertion") or [""])[0]
    try:
        if grant_type != JWT_BEARER:
            raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        if not assertion:
            raise OAuthError("invalid_request", "Missing required parameter: assertion")
        with store.lock:
            claims = _claims(store, assertion)
        scopes = str(claims.get("scope") or "").split()
        if not scopes:
            raise OAuthError("invalid_scope", "Empty or missing scope not allowed.")
        withheld = set(scopes) & set(store.settings["withheld_scopes"])
        if "sub" in claims and withheld:  # as Google answers when the delegation lacks a scope
            raise OAuthError(
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client "
                "not authorized for any of the scopes requested.",
                401,
            )
        subject = claims.get("sub") or claims["iss"]
        if not isinstance(subject, str) or (
            "sub" in claims and subject.rsplit("@", 1)[-1].lower() != organizer_domain.lower()
        ):
            raise OAuthError("invalid_grant", "Invalid email or User ID")
    except OAuthError as exc:
        return exc.response()
    lifetime = int(store.settings["token_lifetime_seconds"])
    access_token = "ya29.emu." + secrets.token_urlsafe(32)
    with store.lock:
        store.state["tokens"][access_token] = {
            "iss": claims["iss"],
            "sub": subject.lower(),
            "scopes": scopes,
            "expires_at": time.time() + lifetime,  # real time: the emulated clock may jump
        }
        _drop_expired(store)
        store.mark_dirty()
    body = {"access_token": access_token, "expires_in": lifetime - 1, "token_type": "Bearer"}
    return Response(
        headers={"Content-Type": "application/json; charset=utf-8"},
        body=json.dumps(body).encode(),
        json_value={"access_token": "…", "expires_in": lifetime - 1, "token_type": "Bearer"},
    )


def _drop_expired(store: Store) -> None:
    now = time.time()
    tokens = store.state["tokens"]
    for key in [k for k, v in tokens.items() if v["expires_at"] < now]:
        del tokens[key]


def authenticate(store: Store, request: Request) -> Token:
    """The token of an API call, or a 401 in Google's words."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise unauthenticated(
            "Request is missing required authentication credential. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
            "required",
        )
    with store.lock:
        record = store.state["tokens"].get(value.strip())
    if record is None or record["expires_at"] < time.time():
        raise unauthenticated(
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
            "authError",
        )
    return Token(issuer=record["iss"], subject=record["sub"], scopes=frozenset(record["scopes"]))


def require_scopes(token: Token, method_id: str) -> frozenset[str]:
    """The token scopes that grant this method (per the discovery document); 403 if none."""
    granted = token.scopes & method_scopes(method_id)
    if not granted:
        raise insufficient_scopes()
    return granted
