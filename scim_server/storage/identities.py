"""Finding a person by any identity key support staff may have in hand (DESIGN §8).

A ticket says "jdoe@acme.com", an Okta screen shows an externalId, an Auth0 log shows
``auth0|...``: each leads to the same SCIM users. Deleted users (tombstones) are found too,
since "why did this person lose access?" is asked about them.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
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


def users_known_by(*, org_id: int, key: str) -> Any:
    """Return the query of the organization's users known by ``key`` (see :func:`find_identities`).

    One index search per key, joined by a union, then each user fetched by primary key: an
    ``OR`` of the keys, with the Auth0 id's subquery among them, made SQLite read every user of
    the organization (70 ms at 200,000 users, ``benchmarks/RESULTS-log.md``).
    """
    exact = key.strip()
    folded = exact.casefold()

    def users(*condition: Any) -> Any:
        return select(col(ScimResource.pk)).where(
            ScimResource.org_id == org_id, ScimResource.resource_type == USER, *condition
        )

    linked_to = select(IdentityLink.scim_id).where(
        IdentityLink.org_id == org_id, IdentityLink.auth0_user_id == exact
    )
    matches = union(
        users(ScimResource.id == exact),
        users(ScimResource.external_id == exact),
        users(ScimResource.user_name_key == folded),
        users(ScimResource.email_key == folded),
        # Not narrowed by organization here, else SQLite walks the organization's users
        # instead of the (unique) id index; the links are the organization's own, and
        # find_identities keeps only its users.
        select(col(ScimResource.pk)).where(col(ScimResource.id).in_(linked_to)),
    )
    return select(ScimResource).where(col(ScimResource.pk).in_(matches))


async def find_identities(session: AsyncSession, *, org_id: int, key: str) -> list[KnownIdentity]:
    """Return the organization's users known by ``key``, oldest first.

    ``key`` may be a SCIM id, an externalId (compared exactly, as IdPs send it), a userName or
    an email (both compared case-insensitively) or an Auth0 user id. Each key is one index
    search; usually one user is found, several when keys collide (a userName that is another
    user's email, a re-hire with a new externalId).
    """
    rows = await session.execute(users_known_by(org_id=org_id, key=key))
    resources = sorted(
        (row for row in rows.scalars() if row.org_id == org_id and row.resource_type == USER),
        key=lambda row: row.pk or 0,
    )
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
