"""The role rules of one organization, kept as the JSON definitions ``mapping/rules.py`` validates.

Storage does not import ``mapping`` (DESIGN §2): the caller validates definitions before
:func:`replace_rules` and after :func:`list_rules`.
"""

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from sqlmodel import select

from scim_server.storage.tables import RoleRule


async def list_rules(session: AsyncSession, *, org_id: int) -> list[dict[str, Any]]:
    """Return an organization's rule definitions, in the order they were imported."""
    rows = await session.execute(
        select(RoleRule).where(RoleRule.org_id == org_id).order_by(col(RoleRule.position))
    )
    return [dict(row.definition) for row in rows.scalars()]


async def replace_rules(
    session: AsyncSession, *, org_id: int, definitions: Sequence[Mapping[str, Any]]
) -> None:
    """Make an organization's rules exactly ``definitions``, each keyed by its ``id``.

    Rules combine by union, so their order carries no meaning; it is kept so an export
    reads like the file imported.
    """
    await session.execute(delete(RoleRule).where(col(RoleRule.org_id) == org_id))
    for position, definition in enumerate(definitions):
        session.add(
            RoleRule(
                org_id=org_id,
                rule_id=str(definition["id"]),
                position=position,
                definition=dict(definition),
            )
        )
    await session.flush()
