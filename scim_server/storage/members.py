"""Group members as rows: the statements that keep a 100,000-member group cheap to change.

Every function works inside the caller's session for one organization, and touches only the
rows it names: adding or removing k members costs O(k) statements, whatever the group's size.
"""

from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import TypeVar

import sqlalchemy as sql
from scim2_models import GroupMember as ScimGroupMember
from scim2_models import InvalidValueException
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from sqlmodel import select

from scim_server.storage.tables import GroupMember
from scim_server.storage.tables import ScimResource

CHUNK = 500
"""Ids per ``IN (...)`` list: far below the bind-parameter limits of SQLite and PostgreSQL."""

T = TypeVar("T")


@dataclass
class MemberChanges:
    """The member additions and removals of a group PATCH, folded in the order they came.

    ``clear`` removes every member first (a ``replace`` of ``members``); then ``removed``
    members go, then ``added`` members come, keyed by SCIM id.
    """

    clear: bool = False
    removed: set[str] = field(default_factory=set)
    added: dict[str, ScimGroupMember] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.clear or bool(self.removed) or bool(self.added)


def chunks(items: Sequence[T]) -> Iterator[list[T]]:
    """Cut a sequence into lists short enough for one ``IN (...)``."""
    for start in range(0, len(items), CHUNK):
        yield list(items[start : start + CHUNK])


async def member_keys(session: AsyncSession, *, org_id: int, ids: Iterable[str]) -> dict[str, int]:
    """Resolve member ids to row keys.

    :raises InvalidValueException: When an id is no live resource of the organization: a
        member of another organization is as unknown as a made-up one.
    """
    wanted = sorted(set(ids))
    keys: dict[str, int] = {}
    for chunk in chunks(wanted):
        rows = await session.execute(
            select(ScimResource.id, ScimResource.pk).where(
                ScimResource.org_id == org_id,
                col(ScimResource.id).in_(chunk),
                col(ScimResource.deleted_at).is_(None),
            )
        )
        keys.update({resource_id: pk for resource_id, pk in rows.all() if pk is not None})
    unknown = [member_id for member_id in wanted if member_id not in keys]
    if unknown:
        raise InvalidValueException(detail=f"Unknown members: {', '.join(unknown[:10])}")
    return keys


async def put_members(
    session: AsyncSession, *, org_id: int, group_pk: int, members: Mapping[str, ScimGroupMember]
) -> None:
    """Add members to a group, or refresh the ``display`` and ``type`` of those already in it.

    Adding a member twice is no error (idp-quirks §8.13: "add member" for a member is a 2xx).
    """
    keys = await member_keys(session, org_id=org_id, ids=members)
    for chunk in chunks(sorted(keys)):
        found = await session.execute(
            select(GroupMember).where(
                GroupMember.group_pk == group_pk,
                col(GroupMember.member_pk).in_([keys[member_id] for member_id in chunk]),
            )
        )
        existing = {row.member_pk: row for row in found.scalars()}
        for member_id in chunk:
            member = members[member_id]
            row = existing.get(keys[member_id]) or GroupMember(
                group_pk=group_pk, member_pk=keys[member_id]
            )
            row.display, row.type = member.display, member.type
            session.add(row)


async def remove_members(
    session: AsyncSession, *, org_id: int, group_pk: int, ids: Collection[str]
) -> None:
    """Remove members from a group by SCIM id; ids that are not members change nothing."""
    for chunk in chunks(sorted(ids)):
        await session.execute(
            delete(GroupMember).where(
                col(GroupMember.group_pk) == group_pk,
                col(GroupMember.member_pk).in_(
                    select(ScimResource.pk).where(
                        ScimResource.org_id == org_id, col(ScimResource.id).in_(chunk)
                    )
                ),
            )
        )


async def clear_members(session: AsyncSession, *, group_pk: int) -> None:
    """Remove every member of a group."""
    await session.execute(delete(GroupMember).where(col(GroupMember.group_pk) == group_pk))


async def leave_every_group(session: AsyncSession, *, member_pk: int) -> None:
    """Remove a resource from every group it is a member of (it is being deleted)."""
    await session.execute(delete(GroupMember).where(col(GroupMember.member_pk) == member_pk))


async def apply_member_changes(
    session: AsyncSession, *, org_id: int, group_pk: int, changes: MemberChanges
) -> None:
    """Apply the member changes of a PATCH, in O(len(changes))."""
    if changes.clear:
        await clear_members(session, group_pk=group_pk)
    await remove_members(
        session, org_id=org_id, group_pk=group_pk, ids=changes.removed - set(changes.added)
    )
    await put_members(session, org_id=org_id, group_pk=group_pk, members=changes.added)


async def replace_members(
    session: AsyncSession, *, org_id: int, group_pk: int, members: Sequence[ScimGroupMember]
) -> None:
    """Make a group's members equal to a full list (PUT), touching only the differences."""
    wanted = {member.value: member for member in members if member.value}
    kept = set((await member_keys(session, org_id=org_id, ids=wanted)).values())
    current = await session.execute(
        select(GroupMember.member_pk).where(GroupMember.group_pk == group_pk)
    )
    for chunk in chunks([pk for pk in current.scalars() if pk not in kept]):
        await session.execute(
            delete(GroupMember).where(
                col(GroupMember.group_pk) == group_pk, col(GroupMember.member_pk).in_(chunk)
            )
        )
    await put_members(session, org_id=org_id, group_pk=group_pk, members=wanted)


async def members_of(
    session: AsyncSession, group_pks: Collection[int]
) -> dict[int, list[dict[str, Any]]]:
    """Return the members of groups as SCIM values, their ``$ref`` relative to the SCIM root.

    scim2-server turns a relative ``$ref`` such as ``Users/<id>`` into the member's URL.
    """
    found: dict[int, list[dict[str, Any]]] = {}
    for chunk in chunks(sorted(group_pks)):
        rows = await session.execute(
            sql.select(
                col(GroupMember.group_pk),
                col(ScimResource.id),
                col(ScimResource.resource_type),
                col(GroupMember.display),
                col(GroupMember.type),
            )
            .join(ScimResource, col(ScimResource.pk) == col(GroupMember.member_pk))
            .where(col(GroupMember.group_pk).in_(chunk))
            .order_by(col(GroupMember.group_pk), col(GroupMember.member_pk))
        )
        for group_pk, member_id, member_type, display, kind in rows.all():
            value: dict[str, Any] = {"value": member_id, "$ref": f"{member_type}s/{member_id}"}
            if display is not None:
                value["display"] = display
            if kind is not None:
                value["type"] = kind
            found.setdefault(group_pk, []).append(value)
    return found


@dataclass(frozen=True)
class GroupKeys:
    """What role rules read of a group: its displayName and externalId."""

    display_name: str | None
    external_id: str | None


async def groups_of_users(
    session: AsyncSession, member_pks: Collection[int]
) -> dict[int, list[GroupKeys]]:
    """Return the groups each user is a direct member of, keyed by the user's row key.

    One query per chunk of users, whatever the number of groups.
    """
    found: dict[int, list[GroupKeys]] = {pk: [] for pk in member_pks}
    for chunk in chunks(sorted(set(member_pks))):
        rows = await session.execute(
            sql.select(
                col(GroupMember.member_pk),
                col(ScimResource.document),
                col(ScimResource.external_id),
            )
            .join(ScimResource, col(ScimResource.pk) == col(GroupMember.group_pk))
            .where(col(GroupMember.member_pk).in_(chunk))
            .order_by(col(GroupMember.member_pk), col(GroupMember.group_pk))
        )
        for member_pk, document, external_id in rows.all():
            display_name = document.get("displayName") if isinstance(document, dict) else None
            found[member_pk].append(GroupKeys(display_name, external_id))
    return found


async def user_members_of(session: AsyncSession, *, group_pk: int) -> list[str]:
    """Return the SCIM ids of the users that are direct members of a group (not its subgroups)."""
    rows = await session.execute(
        sql.select(col(ScimResource.id))
        .join(GroupMember, col(ScimResource.pk) == col(GroupMember.member_pk))
        .where(col(GroupMember.group_pk) == group_pk, col(ScimResource.resource_type) == "User")
        .order_by(col(GroupMember.member_pk))
    )
    return list(rows.scalars().all())
