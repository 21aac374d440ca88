"""Finding a person by any identity key support staff may have in hand (DESIGN §8).

A ticket says "jdoe@acme.com", an Okta screen shows an externalId, an Auth0 log shows
``auth0|...``: each leads to the same SCIM users. Deleted users (tombstones) are found too,
since "why did this person lose access?" is asked about them.
"""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from sqlmodel import or_
from sqlmodel import select

from scim_server.storage.tables import IdentityLink
from scim_server.storage.tables import ScimResource

USER = "User"


@dataclass(frozen=True)
class KnownIdentity:
    """One SCIM user of an organization and every key it is known by.

    :param email: The primary (else first) email, case-folded.
    :param auth0_user_id: The Auth0 user it is linked to, if any yet.
    :param deleted: The SCIM user was deleted (kept as a tombstone).
    """

    scim_id: str
    external_id: str | None
    user_name: str | None
    email: str | None
    auth0_user_id: str | None
    deleted: bool


async def find_identities(session: AsyncSession, *, org_id: int, key: str) -> list[KnownIdentity]:
    """Return the organization's users known by ``key``, oldest first.

    ``key`` may be a SCIM id, an externalId (compared exactly, as IdPs send it), a userName or
    an email (both compared case-insensitively) or an Auth0 user id. Each lookup is one
    indexed query; usually one user is found, several when keys collide (a userName that is
    another user's email, a re-hire with a new externalId).
    """
    folded = key.strip().casefold()
    by_auth0 = select(IdentityLink.scim_id).where(
        IdentityLink.org_id == org_id, IdentityLink.auth0_user_id == key.strip()
    )
    rows = await session.execute(
        select(ScimResource).where(
            ScimResource.org_id == org_id,
            ScimResource.resource_type == USER,
            or_(
                col(ScimResource.id).in_(by_auth0),
                ScimResource.id == key.strip(),
                ScimResource.external_id == key.strip(),
                ScimResource.user_name_key == folded,
                ScimResource.email_key == folded,
            ),
        )
    )
    resources = sorted(rows.scalars().all(), key=lambda row: row.pk or 0)
    links = await session.execute(
        select(IdentityLink.scim_id, IdentityLink.auth0_user_id).where(
            IdentityLink.org_id == org_id,
            col(IdentityLink.scim_id).in_([row.id for row in resources]),
        )
    )
    auth0_ids: dict[str, str | None] = dict(links.all())
    return [
        KnownIdentity(
            scim_id=row.id,
            external_id=row.external_id,
            user_name=row.document.get("userName"),
            email=row.email_key,
            auth0_user_id=auth0_ids.get(row.id),
            deleted=row.deleted_at is not None,
        )
        for row in resources
    ]
