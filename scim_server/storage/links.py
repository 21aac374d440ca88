"""Identity links: each SCIM user's Auth0 user, desired state, applied state and sync state.

The SCIM write path writes ``desired`` (:func:`put_desired`); the worker reads the link
(:func:`get_link`), and writes ``applied``, the Auth0 identity and the state on the row it
got, then flushes. Every function works in the caller's session; the caller commits.
"""

from collections.abc import Collection
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from sqlmodel import select

from scim_server.storage.members import chunks
from scim_server.storage.tables import IdentityLink
from scim_server.storage.tables import ScimResource

PENDING = "pending"
REFRESHED_STATES = frozenset({"synced", "deprovisioned"})
"""States a new desired state turns back into ``pending``: the others (``awaiting_login``,
``invited``, ``error``) still describe the user better until the worker moves them on."""


class LinkNotFound(LookupError):
    """The user has no identity link: no SCIM write ever computed its desired state."""


async def get_link(
    session: AsyncSession, *, org_id: int, scim_id: str, for_update: bool = False
) -> IdentityLink:
    """Return the link of one user.

    :param for_update: Lock the row (PostgreSQL) for a read-modify-write.
    :raises LinkNotFound: When the user has none.
    """
    query = select(IdentityLink).where(
        IdentityLink.org_id == org_id, IdentityLink.scim_id == scim_id
    )
    if for_update:
        query = query.with_for_update()
    link = (await session.execute(query)).scalar_one_or_none()
    if link is None:
        raise LinkNotFound(f"No identity link for user {scim_id!r}")
    return link


async def links_of(
    session: AsyncSession, *, org_id: int, scim_ids: Collection[str]
) -> dict[str, IdentityLink]:
    """Return the links of several users, keyed by SCIM id; users without one are left out."""
    found: dict[str, IdentityLink] = {}
    for chunk in chunks(sorted(set(scim_ids))):
        rows = await session.execute(
            select(IdentityLink).where(
                IdentityLink.org_id == org_id, col(IdentityLink.scim_id).in_(chunk)
            )
        )
        found.update({link.scim_id: link for link in rows.scalars()})
    return found


async def put_desired(
    session: AsyncSession,
    *,
    org_id: int,
    scim_id: str,
    desired: Mapping[str, Any],
    now: datetime,
    link: IdentityLink | None = None,
) -> tuple[IdentityLink, bool]:
    """Store a user's desired state, creating its link (state ``pending``) if it has none.

    A changed desired state turns a ``synced`` or ``deprovisioned`` link back to ``pending``.
    Nothing is flushed, so that a write affecting many users costs one flush; the next query
    (or the commit) flushes.

    :param link: The user's link when the caller already loaded it (see :func:`links_of`).
    :return: The link, and whether the desired state changed.
    """
    if link is None:
        link = (await links_of(session, org_id=org_id, scim_ids=[scim_id])).get(scim_id)
    if link is None:
        link = IdentityLink(org_id=org_id, scim_id=scim_id, desired=dict(desired), updated_at=now)
        session.add(link)
        return link, True
    if link.desired == desired:
        return link, False
    link.desired = dict(desired)
    link.updated_at = now
    if link.state in REFRESHED_STATES:
        link.state = PENDING
    session.add(link)
    return link, True


async def find_link_by_auth0_user(
    session: AsyncSession, *, org_id: int, auth0_user_id: str
) -> IdentityLink | None:
    """Return the link of the organization's user tied to an Auth0 user, if any."""
    found = await session.execute(
        select(IdentityLink).where(
            IdentityLink.org_id == org_id, IdentityLink.auth0_user_id == auth0_user_id
        )
    )
    return found.scalars().first()


async def links_by_email(
    session: AsyncSession, *, org_id: int, email: str, state: str | None = None
) -> list[IdentityLink]:
    """Return the links of the organization's live users whose primary email is ``email``.

    The email is compared case-insensitively (the user's ``email_key``), so that the login
    hook can find the user awaiting a login (``state="awaiting_login"``).
    """
    query = (
        select(IdentityLink)
        .join(
            ScimResource,
            (col(ScimResource.id) == col(IdentityLink.scim_id))
            & (col(ScimResource.org_id) == col(IdentityLink.org_id)),
        )
        .where(
            IdentityLink.org_id == org_id,
            col(ScimResource.deleted_at).is_(None),
            ScimResource.email_key == email.casefold(),
        )
        .order_by(col(IdentityLink.pk))
    )
    if state is not None:
        query = query.where(IdentityLink.state == state)
    return list((await session.execute(query)).scalars().all())


@dataclass(frozen=True)
class UserDocument:
    """A user as desired states are computed from it: its JSON, ``None`` once deleted."""

    scim_id: str
    pk: int
    document: dict[str, Any] | None
    external_id: str | None
    user_name: str | None
    email: str | None


async def user_documents(
    session: AsyncSession, *, org_id: int, scim_ids: Collection[str]
) -> list[UserDocument]:
    """Return the users (tombstones included) among SCIM ids; other ids (groups) are left out."""
    found: list[UserDocument] = []
    for chunk in chunks(sorted(set(scim_ids))):
        rows = await session.execute(
            select(ScimResource)
            .where(
                ScimResource.org_id == org_id,
                ScimResource.resource_type == "User",
                col(ScimResource.id).in_(chunk),
            )
            .order_by(col(ScimResource.pk))
        )
        for row in rows.scalars():
            assert row.pk is not None
            found.append(
                UserDocument(
                    scim_id=row.id,
                    pk=row.pk,
                    document=None if row.deleted_at is not None else dict(row.document),
                    external_id=row.external_id,
                    user_name=row.document.get("userName"),
                    email=row.email_key,
                )
            )
    return found


async def live_user_ids(session: AsyncSession, *, org_id: int) -> list[str]:
    """Return the SCIM ids of every live user of an organization (to recompute them all)."""
    rows = await session.execute(
        select(ScimResource.id)
        .where(
            ScimResource.org_id == org_id,
            ScimResource.resource_type == "User",
            col(ScimResource.deleted_at).is_(None),
        )
        .order_by(col(ScimResource.pk))
    )
    return list(rows.scalars().all())
