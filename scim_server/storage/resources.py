"""The SQL storage of SCIM Users and Groups, bound to one organization.

It implements scim2-server's ``AsyncScimStorage`` port, so ``scim2_server.testing.
AsyncScimStorageContract`` checks it, and adds what the port cannot express:

- **Tenancy by construction**: the storage is built for one organization; no method takes an
  organization, so none can reach another's rows.
- **Tombstones and restore in place** (DESIGN §5): a deleted user stays as a tombstone; a
  creation whose ``userName`` (or ``externalId``, where the profile makes it unique) matches a
  deactivated or deleted user of the organization restores that user (same ``id``) instead of
  answering 409 — Okta re-POSTs a re-assigned user with the same externalId (better-auth #11111).
- **Members in their own table** (``storage/members.py``): :meth:`SqlScimStorage.change_members`
  adds and removes k members with O(k) statements, so a PATCH on a 100,000-member group
  stays cheap.

The caller owns the transaction: the web layer commits once per request, and
:meth:`SqlScimStorage.operation` opens a savepoint per SCIM operation so that a failed
operation of a bulk request leaves the others intact (RFC 7644 §3.7).
"""

import uuid
from collections.abc import AsyncIterator
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from typing import cast

from scim2_models import Group
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
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from sqlmodel import select

from scim_server.storage.index_keys import check_key_length
from scim_server.storage.members import MemberChanges
from scim_server.storage.members import apply_member_changes
from scim_server.storage.members import leave_every_group
from scim_server.storage.members import members_of
from scim_server.storage.members import replace_members
from scim_server.storage.search import filter_clause
from scim_server.storage.search import search_document
from scim_server.storage.search import sort_clause
from scim_server.storage.tables import ScimResource
from scim_server.storage.tables import utcnow

USER_SCHEMA = str(User.__schema__)
GROUP_SCHEMA = str(Group.__schema__)

NOT_STORED = frozenset({"id", "meta", "password", "members", "groups"})
"""Attributes kept out of ``document``: ``id`` and ``meta`` live in columns, ``members`` in
their table, ``groups`` is derived from it, and the ``password`` is never stored."""

UNIQUE_COLUMNS = {
    "user_name_key": "userName",
    "external_id": "externalId",
    "display_name_key": "displayName",
}
"""The key columns a write checks, and the attribute each keeps (``external_id`` is unique
only when the profile asks, ``unique_external_id``)."""


def is_user(resource_type: ResourceType) -> bool:
    """Tell whether a resource type serves users, whatever model a provider built for it."""
    return resource_type.schema_ == USER_SCHEMA


def is_group(resource_type: ResourceType) -> bool:
    """Tell whether a resource type serves groups, whatever model a provider built for it."""
    return resource_type.schema_ == GROUP_SCHEMA


def etag(version: int) -> str:
    """Return the weak ETag of a version (RFC 7644 §3.14).

    >>> etag(3)
    'W/"3"'
    """
    return f'W/"{version}"'


def comparable(model: type[Resource[Any]], attribute: str, value: str | None) -> str | None:
    """Return a value in the form uniqueness and filters compare (the policy's comparison key).

    >>> comparable(User, "userName", "BJensen")
    'bjensen'
    """
    if value is None:
        return None
    binding = Path[model](attribute).resolve()  # type: ignore[valid-type]
    assert binding is not None
    return cast(str, binding.comparable(value))


def primary_email(resource: Resource[Any]) -> str | None:
    """Return the primary email of a user, else its first one, case-folded."""
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
    ``tests/web``):

    - Users are unique by ``userName`` (case-insensitively) among live users, groups by
      ``displayName`` (case-insensitively, Entra relies on it); both by ``externalId``
      (case-exactly) only with ``unique_external_id`` (the profile's choice, RFC 7643 §3.1
      gives it no uniqueness). A resource never conflicts with itself.
    - Deleting a user leaves a tombstone: it is gone for GET and search, and its
      memberships are removed. Deleting a group removes it and its memberships.
    - Creating a user whose userName (or unique externalId) matches a deactivated
      (``active`` false) or deleted user restores that user in place, unless both carry
      different externalIds (a different person: Entra re-hires get a new objectId,
      idp-quirks §8.3); see :meth:`_restorable` for which one among several.
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
        unique_external_id: bool = False,
    ) -> None:
        self.session = session
        self.org_id = org_id
        self.provider = provider
        self.clock = clock
        self.unique_external_id = unique_external_id

    def operation(self) -> AbstractAsyncContextManager[None]:
        """Enclose one SCIM operation in a savepoint (RFC 7644 §3.7: bulk operations fail alone)."""
        return self._savepoint()

    @asynccontextmanager
    async def _savepoint(self) -> AsyncIterator[None]:
        async with self.session.begin_nested():
            yield

    @property
    def dialect(self) -> str:
        """The name of the database's SQL dialect: ``sqlite`` or ``postgresql``."""
        return self.session.get_bind().dialect.name

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
        if is_group(resource_type) and wants_members(response_parameters):
            members = (await members_of(self.session, [self._pk(row)])).get(self._pk(row), [])
        return self._load(resource_type, row, members)

    async def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        """Filter, sort and page in SQL; a filter SQL cannot evaluate is a 400 invalidFilter."""
        found = select(ScimResource).where(
            ScimResource.org_id == self.org_id,
            col(ScimResource.deleted_at).is_(None),
            or_(*(self._type_condition(rt, search_request) for rt in resource_types)),
        )
        total = await self.session.scalar(select(func.count()).select_from(found.subquery()))
        if search_request.count == 0:
            return SearchPage(total, [])

        order: list[ColumnElement[Any]] = []
        if search_request.sort_by is not None:
            order = sort_clause(
                search_request.sort_by,
                model={cast(str, rt.name): self._model(rt) for rt in resource_types},
                dialect=self.dialect,
                descending=search_request.sort_order == SearchRequest.SortOrder.descending,
            )
        found = found.order_by(*order, col(ScimResource.created_at), col(ScimResource.pk))
        found = found.offset(search_request.start_index_0 or 0)
        if search_request.count is not None:
            found = found.limit(search_request.count)
        rows = (await self.session.execute(found)).scalars().all()

        by_name = {rt.name: rt for rt in resource_types}
        groups = [self._pk(row) for row in rows if is_group(by_name[row.resource_type])]
        members = (
            await members_of(self.session, groups)
            if groups and wants_members(search_request)
            else {}
        )
        return SearchPage(
            total,
            [
                self._load(
                    by_name[row.resource_type],
                    row,
                    members.get(self._pk(row), []) if self._pk(row) in groups else None,
                )
                for row in rows
            ],
        )

    def _type_condition(
        self, resource_type: ResourceType, search_request: SearchRequest[Any]
    ) -> ColumnElement[bool]:
        condition = col(ScimResource.resource_type) == resource_type.name
        if search_request.filter is None:
            return condition
        clause = filter_clause(
            search_request.filter.ast, model=self._model(resource_type), dialect=self.dialect
        )
        return and_(condition, clause)

    # -- writes -----------------------------------------------------------

    async def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        """Store a new resource, or restore the deactivated or deleted user it matches."""
        now = self.clock()
        row = await self._restorable(resource_type, resource) or ScimResource(
            id=str(uuid.uuid4()),
            org_id=self.org_id,
            resource_type=cast(str, resource_type.name),
            document={},
            search_document={},
            version=0,
            created_at=now,
        )
        row.deleted_at = None
        await self._write(row, resource_type, resource, now=now)
        return await self._store_members(resource_type, row, resource)

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
        return await self._store_members(resource_type, row, resource)

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
        cost is O(len(changes)), whatever the size of the group. The returned group
        carries no members.
        """
        row = await self._row(resource_type, cast(str, resource.id), for_update=True)
        self._check_version(row, expected_version)
        await apply_member_changes(
            self.session, org_id=self.org_id, group_pk=self._pk(row), changes=changes
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
        await leave_every_group(self.session, member_pk=self._pk(row))
        if is_group(resource_type):
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
    def _pk(row: ScimResource) -> int:
        assert row.pk is not None, "the row is flushed"
        return row.pk

    async def _row(
        self, resource_type: ResourceType, resource_id: str, *, for_update: bool = False
    ) -> ScimResource:
        query = select(ScimResource).where(
            ScimResource.org_id == self.org_id,
            ScimResource.resource_type == resource_type.name,
            ScimResource.id == resource_id,
            col(ScimResource.deleted_at).is_(None),
        )
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).scalar_one_or_none()
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
            "created": row.created_at.isoformat(),
            "lastModified": row.modified_at.isoformat(),
            "version": etag(row.version),
        }
        if members:
            data["members"] = members
        return self._model(resource_type).model_validate(data)

    async def _store_members(
        self, resource_type: ResourceType, row: ScimResource, resource: Resource[Any]
    ) -> Resource[Any]:
        """Make a created or replaced group's member rows equal to its member list."""
        if not is_group(resource_type):
            return self._load(resource_type, row, None)
        group_pk = self._pk(row)
        members = getattr(resource, "members", None) or []
        await replace_members(self.session, org_id=self.org_id, group_pk=group_pk, members=members)
        await self.session.flush()
        return self._load(
            resource_type, row, (await members_of(self.session, [group_pk])).get(group_pk)
        )

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
        keys = {"external_id": comparable(model, "externalId", resource.external_id)}
        if is_user(resource_type):
            keys["user_name_key"] = comparable(
                model, "userName", getattr(resource, "user_name", None)
            )
        if is_group(resource_type):
            keys["display_name_key"] = comparable(
                model, "displayName", getattr(resource, "display_name", None)
            )
        email_key = primary_email(resource) if is_user(resource_type) else None
        for column, value in keys.items():
            check_key_length(UNIQUE_COLUMNS[column], value)
        check_key_length("The primary email", email_key)
        unique = {k: v for k, v in keys.items() if k != "external_id" or self.unique_external_id}
        await self._check_uniqueness(row, resource_type, unique)

        row.document = document
        row.search_document = search_document(model.model_validate(document))
        row.version += 1
        row.modified_at = now
        for column, value in keys.items():
            setattr(row, column, value)
        if is_user(resource_type):
            row.email_key = email_key
            row.active = getattr(resource, "active", None)
        self.session.add(row)
        try:
            await self.session.flush()
        except IntegrityError as error:  # a concurrent writer took the value meanwhile
            raise UniquenessException(detail="A unique value is already taken") from error

    async def _check_uniqueness(
        self, row: ScimResource, resource_type: ResourceType, keys: dict[str, str | None]
    ) -> None:
        """Raise a 409 when a live resource of the same type holds one of the unique values.

        No index enforces a unique externalId (the profile decides, migration 0007): on
        PostgreSQL a transaction lock on the value makes concurrent writers of one externalId
        check one after the other; SQLite runs one writer at a time anyway.
        """
        for column, value in keys.items():
            if value is None:
                continue
            if column == "external_id" and self.dialect == "postgresql":
                await self.session.execute(
                    select(func.pg_advisory_xact_lock(self.org_id, func.hashtext(value)))
                )
            query = select(ScimResource.id).where(
                ScimResource.org_id == self.org_id,
                ScimResource.resource_type == resource_type.name,
                col(ScimResource.deleted_at).is_(None),
                col(getattr(ScimResource, column)) == value,
            )
            if row.pk is not None:
                query = query.where(ScimResource.pk != row.pk)
            with self.session.no_autoflush:
                taken = (await self.session.execute(query.limit(1))).first()
            if taken is not None:
                raise UniquenessException(
                    detail=f"{UNIQUE_COLUMNS[column]} {value!r} is already taken in this organization"
                )

    async def _restorable(
        self, resource_type: ResourceType, resource: Resource[Any]
    ) -> ScimResource | None:
        """Return the deactivated or deleted user a creation restores, if any (DESIGN §5).

        A user matches by userName, or by externalId when the profile makes it unique; one
        carrying another externalId is another person. Among several matches, the live
        (deactivated) user comes before tombstones, one of the same externalId first, then the
        most recently modified. None when no user matches, and also when a live active user
        holds the userName (or the unique externalId): the uniqueness check answers 409.
        """
        if not is_user(resource_type):
            return None
        model = self._model(resource_type)
        user_name_key = comparable(model, "userName", getattr(resource, "user_name", None))
        external_id = comparable(model, "externalId", resource.external_id)
        # A shared externalId identifies no one: only a unique one may restore a user alone.
        restoring_key = external_id if self.unique_external_id else None
        candidates = (
            (
                await self.session.execute(
                    select(ScimResource)
                    .where(
                        ScimResource.org_id == self.org_id,
                        ScimResource.resource_type == resource_type.name,
                        or_(
                            col(ScimResource.user_name_key) == user_name_key
                            if user_name_key
                            else false(),
                            col(ScimResource.external_id) == restoring_key
                            if restoring_key
                            else false(),
                        ),
                    )
                    .order_by(col(ScimResource.modified_at).desc(), col(ScimResource.pk).desc())
                )
            )
            .scalars()
            .all()
        )
        live = [c for c in candidates if c.deleted_at is None]
        if any(c.active is not False for c in live):
            return None
        same_person = [
            c
            for c in candidates
            if not (c.external_id and external_id and c.external_id != external_id)
        ]
        if len([c for c in same_person if c.deleted_at is None]) < len(live):
            return None  # a deactivated user of another externalId keeps its userName: 409
        by_external_id = [c for c in same_person if external_id and c.external_id == external_id]
        ranked = by_external_id or same_person
        return next((c for c in ranked if c.deleted_at is None), ranked[0] if ranked else None)
