"""Operator tokens: bearer tokens of the admin API, issued by the CLI (DESIGN §3).

They follow the rules of the SCIM tokens (``storage/tokens.py``): random, prefixed, shown once,
kept only as SHA-256, compared in constant time, optional expiry, revocable, ``last_used_at``.
An operator token without an organization acts on every organization (support staff); one
bound to an organization acts on that organization only (a customer's admin whose tenant has no
Auth0 login for the admin API).

The functions work inside the caller's session and transaction: they flush, the caller commits.
"""

import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from sqlmodel import select

from scim_server.storage.organizations import OrganizationError
from scim_server.storage.tables import OperatorToken
from scim_server.storage.tables import Organization
from scim_server.storage.tables import utcnow
from scim_server.storage.tokens import hash_token
from scim_server.storage.tokens import is_token_active
from scim_server.storage.tokens import mint
from scim_server.storage.tokens import note_use

OPERATOR_TOKEN_PREFIX = "scimop_"
"""Marks operator tokens, so that secret scanners, people and the admin API tell them apart."""


class OperatorTokenNotFound(OrganizationError, LookupError):
    """No operator token has this id."""


@dataclass(frozen=True)
class IssuedOperatorToken:
    """An operator token's record with the key of the organization it is bound to, if any."""

    token: OperatorToken
    org_key: str | None
    """``None`` for a token acting on every organization."""

    def is_active(self, *, now: datetime) -> bool:
        """Tell whether the token is neither revoked nor expired at ``now`` (timezone-aware)."""
        return is_token_active(self.token, now=now)


async def issue_operator_token(
    session: AsyncSession,
    *,
    org: Organization | None,
    name: str,
    expires_in: timedelta | None,
) -> tuple[IssuedOperatorToken, str]:
    """Create an operator token and return its record and the secret, which is never stored.

    :param org: The organization the token is bound to; ``None`` for every organization.
    :param name: Who holds the token, shown in listings and recorded as the actor.
    :param expires_in: How long the token is valid; ``None`` for no expiry.
    :raises OrganizationError: When the name is empty, the lifetime is not positive or the
        organization is not saved.
    """
    if org is not None and org.id is None:
        raise OrganizationError(f"Organization {org.key!r} is not saved yet")
    minted = mint(OPERATOR_TOKEN_PREFIX, name=name, expires_in=expires_in)
    record = OperatorToken(
        id="op_" + secrets.token_hex(6),
        org_id=None if org is None else org.id,
        **minted.columns(),
    )
    session.add(record)
    await session.flush()
    return IssuedOperatorToken(record, None if org is None else org.key), minted.secret


async def list_operator_tokens(session: AsyncSession) -> Sequence[IssuedOperatorToken]:
    """Return every operator token, revoked and expired ones included, oldest first."""
    rows = await session.execute(
        select(OperatorToken, Organization.key)
        .outerjoin(Organization, col(Organization.id) == col(OperatorToken.org_id))
        .order_by(col(OperatorToken.created_at), col(OperatorToken.id))
    )
    return [IssuedOperatorToken(record, org_key) for record, org_key in rows.all()]


async def revoke_operator_token(session: AsyncSession, token_id: str) -> IssuedOperatorToken:
    """Revoke an operator token; revoking it again keeps the first revocation time.

    :raises OperatorTokenNotFound: When no operator token has this id.
    """
    row = (
        await session.execute(
            select(OperatorToken, Organization.key)
            .outerjoin(Organization, col(Organization.id) == col(OperatorToken.org_id))
            .where(OperatorToken.id == token_id)
        )
    ).first()
    if row is None:
        raise OperatorTokenNotFound(f"No operator token {token_id!r}")
    record, org_key = row[0], row[1]
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        await session.flush()
    return IssuedOperatorToken(record, org_key)


async def authenticate_operator(
    session: AsyncSession, *, token: str, now: datetime
) -> IssuedOperatorToken | None:
    """Return the live operator token a bearer token is, or ``None``.

    The rules (DESIGN §3), those of the SCIM tokens:

    - the token is looked up by its SHA-256 and the digest found is compared again with
      :func:`hmac.compare_digest`; the secret itself is never compared nor stored;
    - an unknown, revoked or expired token gives ``None``, so a caller cannot tell them apart;
    - ``last_used_at`` moves as :func:`~scim_server.storage.tokens.note_use` says; the
      caller commits.

    :param now: The current time, timezone-aware.
    """
    digest = hash_token(token)
    row = (
        await session.execute(
            select(OperatorToken, Organization.key)
            .outerjoin(Organization, col(Organization.id) == col(OperatorToken.org_id))
            .where(OperatorToken.sha256 == digest)
        )
    ).first()
    if row is None:
        return None
    issued = IssuedOperatorToken(row[0], row[1])
    if not hmac.compare_digest(issued.token.sha256, digest) or not issued.is_active(now=now):
        return None
    if note_use(issued.token, now=now):
        await session.flush()
    return issued
