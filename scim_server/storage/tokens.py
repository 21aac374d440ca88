"""SCIM bearer tokens: issued per organization, shown once, kept only as SHA-256 (DESIGN §3).

Several tokens of one organization may be active at once, so that an IdP connector can be
moved to a new token before the old one is revoked. Every function takes the organization the
caller acts for and only ever sees that organization's tokens.

The functions work inside the caller's session and transaction: they flush, the caller commits.
"""

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from sqlmodel import select

from scim_server.storage.events import storable
from scim_server.storage.organizations import OrganizationError
from scim_server.storage.tables import OperatorToken
from scim_server.storage.tables import Organization
from scim_server.storage.tables import ScimToken
from scim_server.storage.tables import utcnow

TOKEN_PREFIX = "scim_"
"""Marks our tokens, so that secret scanners and people can recognise a leaked one."""

DISPLAY_RANDOM_CHARS = 5
"""Random characters of a token kept in clear, after its prefix, to tell tokens apart (30 bits)."""

LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token, not on every request."""

MAX_TOKEN_DAYS = 3650
"""The longest lifetime a token may be issued with (ten years); without one it never expires.
A bound keeps its expiry a moment every database and ``datetime`` can hold."""


class TokenNotFound(OrganizationError, LookupError):
    """The organization has no token with this id."""


@dataclass(frozen=True)
class Bearer:
    """What a valid token opens: its organization, and its name, the mapping log's actor."""

    organization: Organization
    token_name: str


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored and looked up.

    >>> hash_token("scim_example")[:16]
    '2bdd3e2f01c326f4'
    """
    return hashlib.sha256(token.encode()).hexdigest()


def is_token_active(token: ScimToken | OperatorToken, *, now: datetime) -> bool:
    """Tell whether a token is neither revoked nor expired at ``now`` (timezone-aware)."""
    if token.revoked_at is not None:
        return False
    return token.expires_at is None or now < token.expires_at


@dataclass(frozen=True)
class Minted:
    """A new token: its secret, shown once, and what a token table keeps of it."""

    secret: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None

    def columns(self) -> dict[str, Any]:
        """Return the values of the columns SCIM and operator tokens share."""
        return {
            "name": self.name,
            "sha256": hash_token(self.secret),
            "prefix": self.prefix,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }


def mint(prefix: str, *, name: str, expires_in: timedelta | None) -> Minted:
    """Make the secret of a new SCIM or operator token (``prefix`` tells the kinds apart).

    :raises OrganizationError: When the name is empty or unstorable, or the lifetime is not
        between a moment and :data:`MAX_TOKEN_DAYS` days.
    """
    if not name.strip():
        raise OrganizationError("The token name must not be empty")
    if storable(name) != name:
        raise OrganizationError("The token name must not hold NUL or a lone surrogate")
    if expires_in is not None and expires_in <= timedelta(0):
        raise OrganizationError("A token's lifetime must be positive")
    if expires_in is not None and expires_in > timedelta(days=MAX_TOKEN_DAYS):
        raise OrganizationError(f"A token's lifetime is at most {MAX_TOKEN_DAYS} days")
    secret = prefix + secrets.token_urlsafe(32)
    issued_at = utcnow()
    return Minted(
        secret=secret,
        name=name.strip(),
        prefix=secret[: len(prefix) + DISPLAY_RANDOM_CHARS],
        created_at=issued_at,
        expires_at=None if expires_in is None else issued_at + expires_in,
    )


def note_use(token: ScimToken | OperatorToken, *, now: datetime) -> bool:
    """Move ``last_used_at`` to ``now`` when older than :data:`LAST_USED_RESOLUTION`.

    :return: Whether it moved (the caller flushes).
    """
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return False
    token.last_used_at = now
    return True


def _org_id(org: Organization) -> int:
    """Return the id of a saved organization."""
    if org.id is None:
        raise OrganizationError(f"Organization {org.key!r} is not saved yet")
    return org.id


async def issue_token(
    session: AsyncSession, *, org: Organization, name: str, expires_in: timedelta | None
) -> tuple[ScimToken, str]:
    """Create a token for ``org`` and return its record and the secret, which is never stored.

    :param name: What the operator calls the token (an IdP, a person), shown in listings.
    :param expires_in: How long the token is valid; ``None`` for no expiry.
    :raises OrganizationError: When the name is empty or the lifetime is not positive.
    """
    minted = mint(TOKEN_PREFIX, name=name, expires_in=expires_in)
    record = ScimToken(id="tok_" + secrets.token_hex(6), org_id=_org_id(org), **minted.columns())
    session.add(record)
    await session.flush()
    return record, minted.secret


async def list_tokens(session: AsyncSession, org: Organization) -> Sequence[ScimToken]:
    """Return every token of ``org``, revoked and expired ones included, oldest first."""
    result = await session.scalars(
        select(ScimToken)
        .where(ScimToken.org_id == _org_id(org))
        .order_by(col(ScimToken.created_at), col(ScimToken.id))
    )
    return list(result.all())


async def revoke_token(session: AsyncSession, org: Organization, token_id: str) -> ScimToken:
    """Revoke a token of ``org``; revoking it again keeps the first revocation time.

    :raises TokenNotFound: When ``org`` has no such token, including when another org has it.
    """
    result = await session.scalars(
        select(ScimToken).where(ScimToken.org_id == _org_id(org), ScimToken.id == token_id)
    )
    record = result.first()
    if record is None:
        raise TokenNotFound(f"Organization {org.key!r} has no token {token_id!r}")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        await session.flush()
    return record


async def authenticate(
    session: AsyncSession, *, org_key: str, token: str, now: datetime
) -> Bearer | None:
    """Return the organization a bearer token opens and the token's name, or ``None``.

    The rules (DESIGN §3):

    - the token is looked up by its SHA-256, so the index search compares digests and never
      the secret, and the digest found is compared again with :func:`hmac.compare_digest`;
    - a token opens only the organization whose key is ``org_key``: an unknown token, a
      revoked or expired one and one of another organization all give ``None``, so a caller
      cannot tell them apart (a 401 for each);
    - ``last_used_at`` moves to ``now`` when it is older than :data:`LAST_USED_RESOLUTION`, so
      a busy IdP does not cost a write per request; the caller commits.

    :param now: The current time, timezone-aware.
    """
    digest = hash_token(token)
    result = await session.execute(
        select(ScimToken, Organization)
        .join(Organization, col(Organization.id) == col(ScimToken.org_id))
        .where(ScimToken.sha256 == digest)
    )
    row = result.first()
    if row is None:
        return None
    record, organization = row[0], row[1]
    if not hmac.compare_digest(record.sha256, digest):
        return None
    if organization.key != org_key or not is_token_active(record, now=now):
        return None
    if note_use(record, now=now):
        await session.flush()
    return Bearer(organization=organization, token_name=record.name)
