"""Organizations: the tenants, each one Auth0 Organization with its own SCIM base URL (DESIGN §3).

The functions work inside the caller's session and transaction: they flush, so that ids are
assigned and uniqueness is checked, but the caller commits.
"""

import re
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from sqlmodel import select

from scim_server.storage.tables import Organization

ORG_KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,49}")
"""The org key: it is a path segment of the SCIM base URL, and Okta refuses base URLs with ``_``."""

IDENTITY_MODES = ("create", "link", "invite")
"""How Auth0 users are obtained for an organization (DESIGN §6)."""


class OrganizationError(ValueError):
    """An organization or token request that the operator has to correct; never a bug."""


class OrganizationExists(OrganizationError):
    """Another organization already has this key."""


class OrganizationNotFound(OrganizationError, LookupError):
    """No organization has this key."""


def validate_org_key(key: str) -> str:
    """Return ``key`` when it can be an org key, else raise.

    >>> validate_org_key("acme-2")
    'acme-2'
    >>> validate_org_key("Acme_1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scim_server.storage.organizations.OrganizationError: Invalid organization key 'Acme_1': ...

    :raises OrganizationError: When the key is not lowercase letters, digits and ``-``, starting
        with a letter or digit, at most 50 characters.
    """
    if ORG_KEY_PATTERN.fullmatch(key) is None:
        raise OrganizationError(
            f"Invalid organization key {key!r}: use 1 to 50 lowercase letters, digits and '-', "
            "starting with a letter or digit (no '_': Okta refuses such base URLs)"
        )
    return key


async def create_organization(
    session: AsyncSession,
    *,
    key: str,
    auth0_org: str,
    connection: str,
    identity_mode: str = "create",
    profile: str = "generic",
    display_name: str | None = None,
) -> Organization:
    """Add an organization; the caller has already checked ``profile`` against the loaded profiles.

    :param auth0_org: The Auth0 organization id (``org_...``) or name.
    :param connection: The Auth0 connection its users live in.
    :raises OrganizationError: When a value is invalid.
    :raises OrganizationExists: When the key is taken.
    """
    validate_org_key(key)
    if identity_mode not in IDENTITY_MODES:
        raise OrganizationError(
            f"Invalid identity mode {identity_mode!r}: use one of {', '.join(IDENTITY_MODES)}"
        )
    if not auth0_org.strip():
        raise OrganizationError("The Auth0 organization id or name must not be empty")
    if not connection.strip():
        raise OrganizationError("The Auth0 connection name must not be empty")
    existing = await session.scalars(select(Organization).where(Organization.key == key))
    if existing.first() is not None:
        raise OrganizationExists(f"Organization {key!r} already exists")
    organization = Organization(
        key=key,
        auth0_org=auth0_org.strip(),
        connection=connection.strip(),
        identity_mode=identity_mode,
        profile=profile,
        display_name=display_name,
    )
    session.add(organization)
    try:
        await session.flush()
    except IntegrityError as error:
        # Another writer added the same key between our check and our insert.
        raise OrganizationExists(f"Organization {key!r} already exists") from error
    return organization


async def get_organization(session: AsyncSession, key: str) -> Organization:
    """Return the organization of a key.

    :raises OrganizationNotFound: When there is none.
    """
    result = await session.scalars(select(Organization).where(Organization.key == key))
    organization = result.first()
    if organization is None:
        raise OrganizationNotFound(f"No organization {key!r}")
    return organization


async def list_organizations(session: AsyncSession) -> Sequence[Organization]:
    """Return every organization, ordered by key."""
    result = await session.scalars(select(Organization).order_by(col(Organization.key)))
    return list(result.all())
