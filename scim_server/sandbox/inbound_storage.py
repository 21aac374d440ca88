"""The users and pushed groups of one connection, as Auth0's SCIM endpoint serves them (auth0.md §13).

A scim2-server ``ScimStorage`` bound to one connection when it is built, so a SCIM token of one
connection can never reach the users of another (they answer 404). Users are the tenant's own
Auth0 users of that connection (the Management API sees the same objects, and users who logged
in before SCIM was turned on are served too), mapped to and from SCIM by the configuration:

- the SCIM ``id`` is the Auth0 ``user_id``, ``{strategy}|{connection name}|{value}``, the value
  being the configuration's ``user_id_attribute``, which a POST must carry and nothing may change;
- ``active:false`` blocks the user and revokes its sessions and refresh tokens (recorded in
  ``tenant.revocations``); ``active:true`` unblocks it; DELETE deletes the Auth0 user;
- filters may use ``eq`` joined by ``and``/``or`` on Users, a single ``eq`` on Groups: anything
  else is a 400 ``invalidFilter`` (Auth0 documents no other operator).
"""

import hashlib
import json
import uuid
from datetime import UTC
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from scim2_models import Group
from scim2_models import InvalidFilterException
from scim2_models import InvalidValueException
from scim2_models import Meta
from scim2_models import MutabilityException
from scim2_models import NotFoundException
from scim2_models import PreconditionFailedException
from scim2_models import Resource
from scim2_models import ResourceType
from scim2_models import ResponseParameters
from scim2_models import ScimFilter
from scim2_models import SearchRequest
from scim2_models import UniquenessException
from scim2_models.path import CompareOperator
from scim2_models.path import Comparison
from scim2_models.path import FilterNode
from scim2_models.path import FilterVisitor
from scim2_models.path import LogicalExpr
from scim2_models.path import Not
from scim2_models.path import Present
from scim2_models.path import ValuePath
from scim2_server.storage import ScimStorage
from scim2_server.storage import SearchPage

from scim_server.sandbox.scim_mapping import ScimUser
from scim_server.sandbox.scim_mapping import apply_profile
from scim_server.sandbox.scim_mapping import profile_of
from scim_server.sandbox.scim_mapping import resource_of
from scim_server.sandbox.scim_mapping import scim_value
from scim_server.sandbox.tenant import Tenant


class _AuthFilters(FilterVisitor[None]):
    """Refuse what Auth0's SCIM filters do not support: only ``eq``, and ``and``/``or`` on Users."""

    def __init__(self, *, logical: bool) -> None:
        self._logical = logical

    def _refuse(self, node: FilterNode) -> None:
        raise InvalidFilterException(detail=f"Unsupported filter: {node}")

    def visit_comparison(self, node: Comparison) -> None:
        if node.op != CompareOperator.eq:
            self._refuse(node)

    def visit_logical_expr(self, node: LogicalExpr) -> None:
        if not self._logical:
            self._refuse(node)
        for term in node.terms:
            self.visit(term)

    def visit_present(self, node: Present) -> None:
        self._refuse(node)

    def visit_not(self, node: Not) -> None:
        self._refuse(node)

    def visit_value_path(self, node: ValuePath) -> None:
        self._refuse(node)


def _moment(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def _version(resource: Resource[Any]) -> str:
    """Return a weak ETag that changes whenever what the resource holds changes."""
    content = json.dumps(resource.model_dump(exclude={"meta"}), sort_keys=True)
    return f'W/"{hashlib.sha256(content.encode()).hexdigest()[:16]}"'


class ConnectionDirectory(ScimStorage):
    """The SCIM view of one connection's users and groups.

    :param connection: The connection object of the tenant.
    :param configuration: Its SCIM configuration (``user_id_attribute`` and ``mapping``).
    """

    def __init__(
        self, tenant: Tenant, connection: dict[str, Any], configuration: dict[str, Any]
    ) -> None:
        self._tenant = tenant
        self._connection = connection
        self._attribute = str(configuration["user_id_attribute"])
        self._mapping: list[dict[str, str]] = configuration["mapping"]
        self._groups = tenant.inbound_scim.groups.setdefault(connection["id"], {})

    # Users.

    def _users(self) -> list[dict[str, Any]]:
        name = self._connection["name"]
        return [u for u in self._tenant.users.values() if self._tenant.user_connection(u) == name]

    def _user(self, user_id: str) -> dict[str, Any]:
        user = self._tenant.users.get(user_id)
        if user is None or self._tenant.user_connection(user) != self._connection["name"]:
            raise NotFoundException(detail=f"User {user_id} not found")
        return user

    def _published(self, user: dict[str, Any]) -> Resource[Any]:
        resource: Resource[Any] = resource_of(user, self._mapping)
        resource.meta = Meta(
            resource_type="User",
            created=_moment(user["created_at"]),
            last_modified=_moment(user["updated_at"]),
            version=_version(resource),
        )
        return resource

    def _user_id(self, resource: Resource[Any]) -> str:
        value = scim_value(resource, self._attribute)
        if value in (None, ""):
            raise InvalidValueException(
                detail=f"{self._attribute} is required: it is this connection's user_id_attribute"
            )
        return f"{self._connection['strategy']}|{self._connection['name']}|{value}"

    def _create_user(self, resource: Resource[Any]) -> Resource[Any]:
        user_id = self._user_id(resource)
        if user_id in self._tenant.users:
            raise UniquenessException(detail="The user already exists.")
        attributes: dict[str, Any] = {}
        apply_profile(attributes, profile_of(resource, self._mapping))
        return self._published(
            self._tenant.add_user(
                connection=self._connection, user_id=user_id, attributes=attributes
            )
        )

    def _update_user(self, resource: Resource[Any], expected_version: str | None) -> Resource[Any]:
        user = self._user(str(resource.id))
        self._check_version(self._published(user), expected_version)
        if scim_value(resource, self._attribute) not in (None, "") and (
            self._user_id(resource) != user["user_id"]
        ):
            raise MutabilityException(
                detail=f"{self._attribute} is this connection's user_id_attribute: it cannot change"
            )
        was_blocked = bool(user.get("blocked"))
        apply_profile(user, profile_of(resource, self._mapping))
        user["updated_at"] = self._tenant.now()
        if user.get("blocked") and not was_blocked:
            # Deactivation ends every session and revokes the refresh tokens (auth0.md §13).
            self._tenant.revocations.extend(
                [(user["user_id"], "sessions"), (user["user_id"], "refresh_tokens")]
            )
        return self._published(user)

    # Groups.

    def _group(self, group_id: str) -> Resource[Any]:
        try:
            stored: Resource[Any] = self._groups[group_id]
        except KeyError:
            raise NotFoundException(detail=f"Group {group_id} not found") from None
        return stored.model_copy(deep=True)

    def _store_group(self, resource: Resource[Any], created: datetime) -> Resource[Any]:
        stored = resource.model_copy(deep=True)
        stored.meta = Meta(
            resource_type="Group",
            created=created,
            last_modified=datetime.fromtimestamp(self._tenant.clock(), UTC),
            version=_version(stored),
        )
        self._groups[str(stored.id)] = stored
        return stored.model_copy(deep=True)

    # The storage contract.

    def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        """Return a user by its Auth0 ``user_id`` (percent-decoded here), or a group by id."""
        if resource_type.id == "Group":
            return self._group(unquote(resource_id))
        return self._published(self._user(unquote(resource_id)))

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        """Return a page of the users or groups matching an ``eq`` filter."""
        is_group = resource_types[0].id == "Group"
        model: Any = Group if is_group else ScimUser
        candidates = (
            [self._group(group_id) for group_id in self._groups]
            if is_group
            else [self._published(u) for u in self._users()]
        )
        if search_request.filter is not None:
            scim_filter: Any = ScimFilter[model](str(search_request.filter))
            _AuthFilters(logical=not is_group).visit(scim_filter.ast)
            candidates = [r for r in candidates if scim_filter.match(r)]
        start = search_request.start_index_0 or 0
        count = len(candidates) if search_request.count is None else search_request.count
        return SearchPage(total=len(candidates), resources=candidates[start : start + count])

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        """Create an Auth0 user (never an organization member) or store a group."""
        if resource_type.id == "Group":
            stored = resource.model_copy(deep=True)
            stored.id = str(uuid.uuid4())
            return self._store_group(stored, datetime.fromtimestamp(self._tenant.clock(), UTC))
        return self._create_user(resource)

    def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        """Write a PUT's or PATCH's result: mapped fields replaced, unmapped ones dropped."""
        if resource_type.id == "Group":
            current = self._group(str(resource.id))
            self._check_version(current, expected_version)
            assert current.meta is not None and current.meta.created is not None
            return self._store_group(resource, current.meta.created)
        return self._update_user(resource, expected_version)

    def delete(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        expected_version: str | None = None,
    ) -> None:
        """Delete the Auth0 user (with its memberships), or the group."""
        current = self.get(resource_type, resource_id)
        self._check_version(current, expected_version)
        if resource_type.id == "Group":
            self._groups.pop(str(current.id))
        else:
            self._tenant.remove_user(str(current.id))

    @staticmethod
    def _check_version(current: Resource[Any], expected: str | None) -> None:
        if expected is not None and current.meta is not None and current.meta.version != expected:
            raise PreconditionFailedException(detail="The resource changed meanwhile")
