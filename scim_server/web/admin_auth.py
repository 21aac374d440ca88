"""Who calls the admin API, and which organizations they may read and manage (DESIGN §3).

Two kinds of bearer token open ``/admin/api/...``:

- **operator tokens** (``scimop_...``, ``scim-server admin token issue``): without an
  organization they read and manage every organization; bound to one, only that one;
- **Auth0 access tokens**, accepted only when ``SCIM_ADMIN_AUDIENCE`` is set: RS256 JWTs
  checked with PyJWT against the tenant's JWKS, issuer and audience, ``exp`` required. An
  ``org_id`` claim with the ``org_admin`` role in the roles claim (filled by a post-login
  Action) manages that organization (``Organization.auth0_org`` holds its id or its name,
  matched against ``org_id`` or ``org_name``); the ``read:mapping_log`` permission (RBAC
  ``permissions``, or ``scope``) reads every organization.

Only RS256 is accepted: the algorithm comes from our configuration, never from the token, so
neither ``none`` nor HS256 signed with the public key as a secret gets through. The JWKS is
fetched off the event loop and cached by :class:`jwt.PyJWKClient` (5 minutes, and an unknown
``kid`` forces at most one refetch per 30 s, so forged tokens cannot make us hammer the tenant).

Refusals: no token, or one we cannot verify → :class:`Unauthenticated` (401); a verified token
that grants nothing here → :class:`Forbidden` (403); the JWKS unreachable → 503.
"""

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Literal

import anyio.to_thread
import jwt

from scim_server.config import Settings
from scim_server.storage.database import Session
from scim_server.storage.operator_tokens import OPERATOR_TOKEN_PREFIX
from scim_server.storage.operator_tokens import authenticate_operator
from scim_server.storage.tables import Organization
from scim_server.web.scim import bearer_token

ALGORITHM = "RS256"
ORG_ADMIN_ROLE = "org_admin"
READ_EVERY_ORG = "read:mapping_log"
JWKS_LIFESPAN_SECONDS = 300
JWKS_TIMEOUT_SECONDS = 10


class AdminAuthError(Exception):
    """A request the admin API refuses before doing anything; carries its HTTP status."""

    status = 401

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(AdminAuthError):
    """No bearer token, or one that is unknown, revoked, expired or not validly signed (401)."""


class Forbidden(AdminAuthError):
    """A valid token that grants nothing on the admin API, or not what is asked (403)."""

    status = 403


class KeysUnavailable(AdminAuthError):
    """The tenant's signing keys cannot be fetched: not the caller's fault, try again (503)."""

    status = 503


@dataclass(frozen=True)
class OrgAccess:
    """A set of organizations: all of them, or those named by our key or by Auth0 org id/name."""

    every: bool = False
    keys: frozenset[str] = frozenset()
    auth0_orgs: frozenset[str] = frozenset()

    def covers(self, org: Organization) -> bool:
        """Tell whether ``org`` is in the set.

        >>> acme = Organization(key="acme", auth0_org="org_1", connection="db")
        >>> OrgAccess(auth0_orgs=frozenset({"org_1"})).covers(acme), OrgAccess().covers(acme)
        (True, False)
        """
        return self.every or org.key in self.keys or org.auth0_org in self.auth0_orgs

    def describe(self, orgs: Iterable[Organization]) -> list[str] | Literal["*"]:
        """Return ``"*"`` for every organization, else the keys of those of ``orgs`` covered."""
        if self.every:
            return "*"
        return sorted(org.key for org in orgs if self.covers(org))


@dataclass(frozen=True)
class Principal:
    """An authenticated caller of the admin API."""

    name: str
    """The operator token's name, or the Auth0 subject (``sub``)."""
    kind: Literal["operator", "auth0"]
    read: OrgAccess
    manage: OrgAccess
    """Managing an organization (its SCIM tokens, its rules) includes reading it."""

    def may_read(self, org: Organization) -> bool:
        """Tell whether the caller may see ``org``: its settings, status, log and explanations."""
        return self.read.covers(org) or self.manage.covers(org)

    def may_manage(self, org: Organization) -> bool:
        """Tell whether the caller may change ``org``'s SCIM tokens and role rules."""
        return self.manage.covers(org)


class AdminAuthenticator:
    """Turns the bearer token of an admin API request into a :class:`Principal`."""

    def __init__(self, settings: Settings) -> None:
        """Accept Auth0 access tokens only when the audience, issuer and JWKS are all known."""
        self.audience = settings.admin_audience
        self.issuer = settings.admin_token_issuer
        self.roles_claim = settings.admin_roles_claim
        jwks_url = settings.admin_token_jwks_url
        self.jwks = (
            jwt.PyJWKClient(
                jwks_url,
                cache_keys=True,
                lifespan=JWKS_LIFESPAN_SECONDS,
                timeout=JWKS_TIMEOUT_SECONDS,
            )
            if self.audience and self.issuer and jwks_url
            else None
        )

    async def authenticate(self, session: Session, headers: Mapping[str, str]) -> Principal:
        """Return who calls, committing an operator token's ``last_used_at``.

        :raises AdminAuthError: When the request carries no token that opens the admin API.
        """
        token = bearer_token(headers)
        if not token:
            raise Unauthenticated("A bearer token is required")
        if token.startswith(OPERATOR_TOKEN_PREFIX):
            return await self._operator(session, token)
        if self.jwks is None:
            raise Unauthenticated("Invalid, expired or revoked token")
        return self.principal_of(await self.verify(token))

    async def _operator(self, session: Session, token: str) -> Principal:
        issued = await authenticate_operator(session, token=token, now=datetime.now(UTC))
        await session.commit()  # keep last_used_at even when the request itself fails
        if issued is None:
            raise Unauthenticated("Invalid, expired or revoked token")
        if issued.org_key is None:
            access = OrgAccess(every=True)
        else:
            access = OrgAccess(keys=frozenset({issued.org_key}))
        return Principal(name=issued.token.name, kind="operator", read=access, manage=access)

    async def verify(self, token: str) -> dict[str, Any]:
        """Return the claims of an Auth0 access token once its signature and claims check out.

        :raises Unauthenticated: When the token is malformed, not RS256, signed by an unknown
            key, expired, or for another issuer or audience.
        :raises KeysUnavailable: When the JWKS cannot be fetched.
        """
        assert self.jwks is not None
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError:
            raise Unauthenticated("Invalid access token: not a JWT") from None
        if algorithm != ALGORITHM:
            raise Unauthenticated(f"Invalid access token: only {ALGORITHM} is accepted")
        try:
            signing_key = await anyio.to_thread.run_sync(self.jwks.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientConnectionError:
            raise KeysUnavailable(
                "The signing keys of the Auth0 tenant cannot be fetched"
            ) from None
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"Invalid access token: {error}") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key.key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"Invalid access token: {error}") from None
        return claims

    def principal_of(self, claims: Mapping[str, Any]) -> Principal:
        """Return what verified claims grant.

        :raises Forbidden: When they grant neither ``org_admin`` in an organization nor
            ``read:mapping_log``.
        """
        reads_every_org = READ_EVERY_ORG in _strings(claims.get("permissions")) or (
            READ_EVERY_ORG in str(claims.get("scope") or "").split()
        )
        auth0_orgs = frozenset(
            value
            for value in (claims.get("org_id"), claims.get("org_name"))
            if isinstance(value, str) and value
        )
        is_org_admin = ORG_ADMIN_ROLE in _strings(claims.get(self.roles_claim))
        manage = OrgAccess(auth0_orgs=auth0_orgs) if is_org_admin else OrgAccess()
        if not reads_every_org and not manage.auth0_orgs:
            raise Forbidden(
                f"This access token grants neither the {ORG_ADMIN_ROLE} role in an organization "
                f"nor the {READ_EVERY_ORG} permission"
            )
        return Principal(
            name=str(claims["sub"]),
            kind="auth0",
            read=OrgAccess(every=reads_every_org),
            manage=manage,
        )


def _strings(value: object) -> frozenset[str]:
    """Return the strings of a claim that should be a list of strings; anything else grants nothing.

    >>> sorted(_strings(["a", 1, "b"])), _strings("a"), _strings(None)
    (['a', 'b'], frozenset(), frozenset())
    """
    if not isinstance(value, list):
        return frozenset()
    return frozenset(item for item in value if isinstance(item, str))
