"""The SQL storage of SCIM Users and Groups, bound to one organization.

It implements scim2-server's ``AsyncScimStorage`` port, so ``scim2_server.testing.
AsyncScimStorageContract`` checks it, and adds what the port cannot express:

- **Tenancy by construction**: the storage is built for one organization; no method takes an
  organization, so none can reach another's rows.
- **Tombstones and restore in place** (DESIGN §5): a deleted user stays as a tombstone; a
  creation whose ``externalId`` or ``userName`` matches a deactivated or deleted user of the
  organization restores that user (same ``id``) instead of answering 409 — Okta re-POSTs a
  re-assigned user with the same externalId (better-auth #11111).
- **Members in their own table**: :meth:`SqlScimStorage.change_members` adds and removes k
  members with O(k) statements, so a PATCH on a 100,000-member group stays cheap.

The caller owns the transaction: the web layer commits once per request, and
:meth:`SqlScimStorage.operation` opens a savepoint per SCIM operation so that a failed
operation of a bulk request leaves the others intact (RFC 7644 §3.7).
"""

import uuid
from collections.abc import AsyncIterator
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from contextlib import asynccontextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import cast

from scim2_models import Group
from scim2_models import GroupMember as ScimGroupMember
from scim2_models import InvalidValueException
from scim2_models import NotFoundException
from scim2_models import Path
from scim2_models import PreconditionFailedException
from scim2_models import Resource
from scim2_models import ResourceType
from scim2_models import ResponseParameters
from scim2_models import ScimProvider
from scim2_models import SearchRequest
from scim2_models import UniquenessException
from scim2_models import User
from scim2_server.storage import AsyncScimStorage
from scim2_server.storage import SearchPage
from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scim_server.storage.search import filter_clause
from scim_server.storage.search import search_document
from scim_server.storage.search import sort_clause
from scim_server.storage.tables import GroupMember
from scim_server.storage.tables import ScimResource
from scim_server.storage.tables import utcnow

USER_SCHEMA = str(User.__schema__)
GROUP_SCHEMA = str(Group.__schema__)

CHUNK = 500
"""Ids per ``IN (...)`` list: far below the bind-parameter limits of SQLite and PostgreSQL."""

NOT_STORED = frozenset({"id", "meta", "password", "members", "groups"})
"""Attributes kept out of ``document``: ``id`` and ``meta`` live in columns, ``members`` in
their table, ``groups`` is derived from it, and the ``password`` is never stored."""


@dataclass
class MemberChanges:
    """The member additions and removals of a group PATCH, in the order they apply.

    ``clear`` removes every member first (a ``replace`` of ``members``); then ``removed``
    members go, then ``added`` members come, keyed by SCIM id.
    """

    clear: bool = False
    removed: set[str] = field(default_factory=set)
    added: dict[str, ScimGroupMember] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.clear or bool(self.removed) or bool(self.added)


def is_group(resource_type: ResourceType) -> bool:
    """Tell whether a resource type serves groups, whatever model a provider built for it."""
    return resource_type.schema_ == GROUP_SCHEMA


def aware(moment: datetime) -> datetime:
    """Return a stored datetime as UTC: SQLite gives it back without its timezone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def etag(version: int) -> str:
    """Return the weak ETag of a version (RFC 7644 §3.14)."""
    return f'W/"{version}"'


def comparable(model: type[Resource[Any]], attribute: str, value: str | None) -> str | None:
    """Return a value in the form uniqueness and filters compare (the policy's comparison key)."""
    if value is None:
        return None
    binding = Path[model](attribute).resolve()  # type: ignore[valid-type]
    assert binding is not None
    return cast(str, binding.comparable(value))


def primary_email(resource: Resource[Any]) -> str | None:
    """Return the primary email of a user, else its first one."""
    emails = getattr(resource, "emails", None) or []
    chosen = next((e for e in emails if e.primary), emails[0] if emails else None)
    value = getattr(chosen, "value", None)
    return value.casefold() if value else None


def wants_members(parameters: ResponseParameters[Any] | None) -> bool:
    """Tell whether a response keeps ``members``, so a group read can skip loading them.

    Entra reads groups with ``excludedAttributes=members`` precisely so that large groups
    stay cheap.
    """
    if parameters is None:
        return True

    def names_members(path: Path[Any]) -> bool:
        return bool(path.parts) and path.parts[0].casefold() == "members"

    if parameters.attributes:
        return any(names_members(path) for path in parameters.attributes)
    excluded = parameters.excluded_attributes or []
    return not any(names_members(path) and len(path.parts) == 1 for path in excluded)


class SqlScimStorage(AsyncScimStorage):
    """The SCIM resources of one organization, in SQL.

    Rules, on top of those of ``AsyncScimStorage`` (checked by the contract suite and by
    ``tests/storage/test_resources.py``):

    - Users are unique by ``userName`` (case-insensitively) and by ``externalId``
      (case-exactly) among live users; groups by ``displayName`` (case-insensitively,
      Entra relies on it) and ``externalId``. A resource never conflicts with itself.
    - Deleting a user leaves a tombstone: it is gone for GET and search, and its
      memberships are removed. Deleting a group removes it and its memberships.
    - Creating a user whose externalId or userName matches a deactivated (``active`` false)
      or deleted user restores that user in place, unless both carry different externalIds
      (a different person: Entra re-hires get a new objectId, idp-quirks §8.3).
    - A member must be a live resource of the same organization, else 400 invalidValue.
    - The ``password`` is never stored.
    """

    def __init__(
        self,
        session: AsyncSession,
        *,
        org_id: int,
        provider: ScimProvider,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session = session
        self.org_id = org_id
        self.provider = provider
        self.clock = clock

    def operation(self) -> AbstractAsyncContextManager[None]:
        """Enclose one SCIM operation in a savepoint (RFC 7644 §3.7: bulk operations fail alone)."""
        return self._savepoint()

    @asynccontextmanager
    async def _savepoint(self) -> AsyncIterator[None]:
        async with self.session.begin_nested():
            yield

    # -- reads ------------------------------------------------------------

    async def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        """Return a live resource; a group's members only when the response keeps them."""
        row = await self._row(resource_type, resource_id)
        members = None
        if self._is_group(resource_type) and wants_members(response_parameters):
            members = (await self._members_of([row.pk])).get(cast(int, row.pk), [])
        return self._load(resource_type, row, members)

    async def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        """Filter, sort and page in SQL; a filter SQL cannot evaluate is a 400 invalidFilter."""
        condition = or_(*(self._type_condition(rt, search_request) for rt in resource_types))
        found = select(ScimResource).where(
            ScimResource.org_id == self.org_id,
            ScimResource.deleted_at.is_(None),  # type: ignore[union-attr]
            condition,
        )
        total = cast(
            int, await self.session.scalar(select(func.count()).select_from(found.subquery()))
        )
        if search_request.count == 0:
            return SearchPage(total, [])

        order: list[ColumnElement[Any]] = []
        if search_request.sort_by is not None:
            order = sort_clause(
                search_request.sort_by,
                model=self._model(resource_types[0]),
                dialect=self.session.bind.dialect.name,
                descending=search_request.sort_order == SearchRequest.SortOrder.descending,
            )
        found = found.order_by(*order, ScimResource.created_at, ScimResource.pk)
        found = found.offset(search_request.start_index_0 or 0)
        if search_request.count is not None:
            found = found.limit(search_request.count)
        rows = list((await self.session.scalars(found)).all())

        by_name = {rt.name: rt for rt in resource_types}
        group_pks = [
            cast(int, row.pk) for row in rows if self._is_group(by_name[row.resource_type])
        ]
        members = (
            await self._members_of(group_pks) if group_pks and wants_members(search_request) else {}
        )
        return SearchPage(
            total,
            [
                self._load(
                    by_name[row.resource_type],
                    row,
                    members.get(cast(int, row.pk), [])
                    if self._is_group(by_name[row.resource_type])
                    else None,
                )
                for row in rows
            ],
        )

    def _type_condition(
        self, resource_type: ResourceType, search_request: SearchRequest[Any]
    ) -> ColumnElement[bool]:
        condition: ColumnElement[bool] = ScimResource.resource_type == resource_type.name  # type: ignore[assignment]
        if search_request.filter is None:
            return condition
        return and_(
            condition,
            filter_clause(
                search_request.filter.ast,
                model=self._model(resource_type),
                dialect=self.session.bind.dialect.name,
            ),
        )

    # -- writes -----------------------------------------------------------

    async def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        """Store a new resource, or restore the deactivated or deleted user it matches."""
        restorable = await self._restorable(resource_type, resource)
        now = self.clock()
        if restorable is not None:
            restorable.deleted_at = None
            row = restorable
        else:
            row = ScimResource(
                id=str(uuid.uuid4()),
                org_id=self.org_id,
                resource_type=cast(str, resource_type.name),
                document={},
                search_document={},
                version=0,
                created_at=now,
            )
        await self._write(row, resource_type, resource, now=now)
        members = None
        if self._is_group(resource_type):
            members = await self._replace_members(row, resource.members or [])
        return self._load(resource_type, row, members)

    async def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        """Replace a stored resource with its whole new state."""
        row = await self._row(resource_type, cast(str, resource.id), for_update=True)
        self._check_version(row, expected_version)
        await self._write(row, resource_type, resource, now=self.clock())
        members = None
        if self._is_group(resource_type):
            members = await self._replace_members(row, resource.members or [])
        return self._load(resource_type, row, members)

    async def change_members(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        changes: MemberChanges,
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        """Store a group's attributes and apply member changes without reading the other members.

        ``resource`` holds the group's new attributes; its ``members`` are ignored. The
        cost is O(len(changes)), whatever the size of the group (issue: a PATCH adding one
        member to a 100,000-member group answers in milliseconds). The returned group
        carries no members.
        """
        row = await self._row(resource_type, cast(str, resource.id), for_update=True)
        self._check_version(row, expected_version)
        group_pk = cast(int, row.pk)
        if changes.clear:
            await self.session.execute(delete(GroupMember).where(GroupMember.group_pk == group_pk))  # type: ignore[arg-type]
        removed = changes.removed - set(changes.added)
        for chunk in _chunks(sorted(removed)):
            await self.session.execute(
                delete(GroupMember).where(
                    GroupMember.group_pk == group_pk,  # type: ignore[arg-type]
                    GroupMember.member_pk.in_(  # type: ignore[attr-defined]
                        select(ScimResource.pk).where(
                            ScimResource.org_id == self.org_id,
                            ScimResource.id.in_(chunk),  # type: ignore[attr-defined]
                        )
                    ),
                )
            )
        if changes.added:
            pks = await self._member_pks(changes.added.values())
            existing = {
                pk: member
                for pk, member in (
                    await self.session.execute(
                        select(GroupMember.member_pk, GroupMember).where(
                            GroupMember.group_pk == group_pk,  # type: ignore[arg-type]
                            GroupMember.member_pk.in_(list(pks.values())),  # type: ignore[attr-defined]
                        )
                    )
                ).all()
            }
            for member_id, member in changes.added.items():
                pk = pks[member_id]
                if pk in existing:
                    # Idempotent add (idp-quirks §8.13): refresh what the IdP calls it.
                    existing[pk].display = member.display
                    existing[pk].type = member.type
                else:
                    self.session.add(
                        GroupMember(
                            group_pk=group_pk,
                            member_pk=pk,
                            display=member.display,
                            type=member.type,
                        )
                    )
        await self._write(row, resource_type, resource, now=self.clock())
        return self._load(resource_type, row, None)

    async def delete(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        expected_version: str | None = None,
    ) -> None:
        """Delete a group, or leave a user's tombstone; either way its memberships go."""
        row = await self._row(resource_type, resource_id, for_update=True)
        self._check_version(row, expected_version)
        await self.session.execute(
            delete(GroupMember).where(GroupMember.member_pk == row.pk)  # type: ignore[arg-type]
        )
        if self._is_group(resource_type):
            await self.session.delete(row)
        else:
            now = self.clock()
            row.deleted_at = now
            row.modified_at = now
            row.version += 1
        await self.session.flush()

    # -- helpers ----------------------------------------------------------

    def _model(self, resource_type: ResourceType) -> type[Resource[Any]]:
        return cast(type[Resource[Any]], self.provider.model_for(resource_type))

    @staticmethod
    def _is_group(resource_type: ResourceType) -> bool:
        return is_group(resource_type)

    @staticmethod
    def _is_user(resource_type: ResourceType) -> bool:
        return resource_type.schema_ == USER_SCHEMA

    async def _row(
        self, resource_type: ResourceType, resource_id: str, *, for_update: bool = False
    ) -> ScimResource:
        query = select(ScimResource).where(
            ScimResource.org_id == self.org_id,
            ScimResource.resource_type == resource_type.name,
            ScimResource.id == resource_id,
            ScimResource.deleted_at.is_(None),  # type: ignore[union-attr]
        )
        if for_update:
            query = query.with_for_update()
        row = await self.session.scalar(query)
        if row is None:
            raise NotFoundException(detail=f"{resource_type.name} {resource_id!r} not found")
        return row

    @staticmethod
    def _check_version(row: ScimResource, expected_version: str | None) -> None:
        if expected_version is not None and expected_version != etag(row.version):
            raise PreconditionFailedException(
                detail=f"The resource is at version {etag(row.version)}, not {expected_version}"
            )

    def _load(
        self,
        resource_type: ResourceType,
        row: ScimResource,
        members: list[dict[str, Any]] | None,
    ) -> Resource[Any]:
        data = dict(row.document)
        data["id"] = row.id
        data["meta"] = {
            "resourceType": row.resource_type,
            "created": aware(row.created_at).isoformat(),
            "lastModified": aware(row.modified_at).isoformat(),
            "version": etag(row.version),
        }
        if members:
            data["members"] = members
        return self._model(resource_type).model_validate(data)

    async def _write(
        self,
        row: ScimResource,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        now: datetime,
    ) -> None:
        """Check a resource's unique values, then copy its values and projections into its row.

        Nothing in the row changes when a value is taken, so a refused write leaves the
        session as it was.
        """
        model = self._model(resource_type)
        document = resource.model_dump(mode="json", exclude=set(NOT_STORED))
        keys: dict[str, Any] = {"external_id": resource.external_id}
        if self._is_user(resource_type):
            keys["user_name_key"] = comparable(model, "userName", resource.user_name)
        if self._is_group(resource_type):
            keys["display_name_key"] = comparable(model, "displayName", resource.display_name)
        await self._check_uniqueness(row, resource_type, keys)

        row.document = document
        row.search_document = search_document(model.model_validate(document))
        row.version += 1
        row.modified_at = now
        for column, value in keys.items():
            setattr(row, column, value)
        if self._is_user(resource_type):
            row.email_key = primary_email(resource)
            row.active = resource.active
        self.session.add(row)
        try:
            await self.session.flush()
        except IntegrityError as error:  # a concurrent writer took the value meanwhile
            raise UniquenessException(detail="A unique value is already taken") from error

    async def _check_uniqueness(
        self, row: ScimResource, resource_type: ResourceType, keys: dict[str, Any]
    ) -> None:
        """Raise a 409 when a live resource of the same type holds one of the unique values."""
        attributes = {
            "user_name_key": "userName",
            "external_id": "externalId",
            "display_name_key": "displayName",
        }
        for column, value in keys.items():
            if value is None:
                continue
            query = select(ScimResource.id).where(
                ScimResource.org_id == self.org_id,
                ScimResource.resource_type == resource_type.name,
                ScimResource.deleted_at.is_(None),  # type: ignore[union-attr]
                getattr(ScimResource, column) == value,
            )
            if row.pk is not None:
                query = query.where(ScimResource.pk != row.pk)
            with self.session.no_autoflush:
                taken = await self.session.scalar(query.limit(1))
            if taken is not None:
                raise UniquenessException(
                    detail=f"{attributes[column]} {value!r} is already taken in this organization"
                )

    async def _restorable(
        self, resource_type: ResourceType, resource: Resource[Any]
    ) -> ScimResource | None:
        """Return the deactivated or deleted user a creation restores, if any (DESIGN §5)."""
        if not self._is_user(resource_type):
            return None
        model = self._model(resource_type)
        user_name_key = comparable(model, "userName", resource.user_name)
        matches = [
            ScimResource.user_name_key == user_name_key if user_name_key else false(),
            ScimResource.external_id == resource.external_id if resource.external_id else false(),
        ]
        candidates = (
            await self.session.scalars(
                select(ScimResource)
                .where(
                    ScimResource.org_id == self.org_id,
                    ScimResource.resource_type == resource_type.name,
                    or_(*matches),
                )
                .order_by(ScimResource.modified_at.desc(), ScimResource.pk.desc())  # type: ignore[attr-defined]
            )
        ).all()
        live = [c for c in candidates if c.deleted_at is None]
        if any(c.active is not False for c in live):
            return None  # the uniqueness check answers 409
        same_person = [
            c
            for c in candidates
            if not (
                c.external_id and resource.external_id and c.external_id != resource.external_id
            )
        ]
        if live and len(same_person) < len(live):
            return None  # a deactivated user of another externalId keeps its userName: 409
        by_external_id = [
            c for c in same_person if resource.external_id and c.external_id == resource.external_id
        ]
        ranked = by_external_id or same_person
        chosen = next((c for c in ranked if c.deleted_at is None), ranked[0] if ranked else None)
        return chosen

    async def _member_pks(self, members: Iterable[ScimGroupMember]) -> dict[str, int]:
        """Resolve member ids to row keys; an id that is no live resource of the org is a 400."""
        ids = sorted({cast(str, m.value) for m in members if m.value})
        pks: dict[str, int] = {}
        for chunk in _chunks(ids):
            rows = await self.session.execute(
                select(ScimResource.id, ScimResource.pk).where(
                    ScimResource.org_id == self.org_id,
                    ScimResource.id.in_(chunk),  # type: ignore[attr-defined]
                    ScimResource.deleted_at.is_(None),  # type: ignore[union-attr]
                )
            )
            pks.update({resource_id: cast(int, pk) for resource_id, pk in rows.all()})
        unknown = [member_id for member_id in ids if member_id not in pks]
        if unknown:
            raise InvalidValueException(detail=f"Unknown members: {', '.join(unknown[:10])}")
        return pks

    async def _replace_members(
        self, row: ScimResource, members: Sequence[ScimGroupMember]
    ) -> list[dict[str, Any]]:
        """Make a group's member rows equal to a full member list, touching only the differences."""
        wanted = {cast(str, m.value): m for m in members if m.value}
        pks = await self._member_pks(wanted.values())
        current = {
            member.member_pk: member
            for member in (
                await self.session.scalars(
                    select(GroupMember).where(GroupMember.group_pk == row.pk)  # type: ignore[arg-type]
                )
            ).all()
        }
        keep = set(pks.values())
        gone = [pk for pk in current if pk not in keep]
        for chunk in _chunks(gone):
            await self.session.execute(
                delete(GroupMember).where(
                    GroupMember.group_pk == row.pk,  # type: ignore[arg-type]
                    GroupMember.member_pk.in_(chunk),  # type: ignore[attr-defined]
                )
            )
        for member_id, member in wanted.items():
            pk = pks[member_id]
            if pk in current:
                current[pk].display = member.display
                current[pk].type = member.type
            else:
                self.session.add(
                    GroupMember(
                        group_pk=cast(int, row.pk),
                        member_pk=pk,
                        display=member.display,
                        type=member.type,
                    )
                )
        await self.session.flush()
        return (await self._members_of([cast(int, row.pk)])).get(cast(int, row.pk), [])

    async def _members_of(self, group_pks: Collection[int]) -> dict[int, list[dict[str, Any]]]:
        """Return the members of groups as SCIM values, their ``$ref`` relative to the SCIM root."""
        found: dict[int, list[dict[str, Any]]] = {}
        for chunk in _chunks(sorted(group_pks)):
            rows = await self.session.execute(
                select(
                    GroupMember.group_pk,
                    ScimResource.id,
                    ScimResource.resource_type,
                    GroupMember.display,
                    GroupMember.type,
                )
                .join(ScimResource, ScimResource.pk == GroupMember.member_pk)  # type: ignore[arg-type]
                .where(GroupMember.group_pk.in_(chunk))  # type: ignore[attr-defined]
                .order_by(GroupMember.group_pk, GroupMember.member_pk)
            )
            for group_pk, member_id, member_type, display, kind in rows.all():
                value: dict[str, Any] = {
                    "value": member_id,
                    "$ref": f"{member_type}s/{member_id}",
                }
                if display is not None:
                    value["display"] = display
                if kind is not None:
                    value["type"] = kind
                found.setdefault(group_pk, []).append(value)
        return found


def _chunks(items: Sequence[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), CHUNK):
        yield list(items[start : start + CHUNK])
