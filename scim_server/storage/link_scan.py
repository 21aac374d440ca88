"""Reading every identity link of an organization, as ``scim-server reconcile`` compares them.

Every link of the organization, the deleted users' too: a leaver still in Auth0 is ours, not a
stranger.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from sqlmodel import select

from scim_server.storage.tables import IdentityLink


@dataclass(frozen=True)
class LinkSnapshot:
    """One user's link as read at one moment: enough to compare with Auth0, nothing to write."""

    scim_id: str
    auth0_user_id: str | None
    owned: bool
    link_method: str | None
    state: str
    desired: dict[str, Any]
    applied: dict[str, Any]


async def org_links(session: AsyncSession, *, org_id: int) -> list[LinkSnapshot]:
    """Return every identity link of an organization (tombstones' included), oldest first."""
    rows = await session.execute(
        select(IdentityLink).where(IdentityLink.org_id == org_id).order_by(col(IdentityLink.pk))
    )
    return [
        LinkSnapshot(
            scim_id=link.scim_id,
            auth0_user_id=link.auth0_user_id,
            owned=link.owned,
            link_method=link.link_method,
            state=link.state,
            desired=dict(link.desired),
            applied=dict(link.applied),
        )
        for link in rows.scalars()
    ]
