"""Auth0 ids for the names provisioning speaks in: role names and organization names, cached.

Role rules grant role *names*; Auth0's member-role endpoints take role *ids* (auth0.md §3.4). A
tenant has at most 1000 roles and they rarely change, so the whole list is read once per process
and read again only when a name is missing from it (someone created the role since), at most
once per ``refresh_interval``: a rule naming a role that does not exist must not cost a
``GET /roles`` on every reconcile. Organizations are configured by id (``org_…``) or by name; a
name is resolved once.
"""

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping

import anyio

from scim_server.auth0_gateway import Auth0Gateway
from scim_server.auth0_gateway import Auth0NotFound


class UnknownRoles(Auth0NotFound):
    """Rules grant roles that the Auth0 tenant does not have; someone has to create them."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = tuple(sorted(names))
        super().__init__(f"no Auth0 role named {', '.join(map(repr, self.names))}", status=404)


class Auth0Directory:
    """Role and organization ids of one tenant, shared by every reconcile of the process.

    :param monotonic: The clock that spaces out refreshes of the role list.
    :param refresh_interval: The least time between two reads of the role list.
    """

    def __init__(
        self,
        gateway: Auth0Gateway,
        *,
        monotonic: Callable[[], float],
        refresh_interval: float = 60.0,
    ) -> None:
        self._gateway = gateway
        self._monotonic = monotonic
        self._refresh_interval = refresh_interval
        self._roles: dict[str, str] | None = None
        self._roles_read_at = 0.0
        self._organizations: dict[str, str] = {}
        self._lock = anyio.Lock()

    async def role_ids(self, names: Iterable[str]) -> dict[str, str]:
        """Return the id of each role name.

        :raises UnknownRoles: When a name is not a role of the tenant, even after a re-read.
        :raises Auth0Unavailable: When the role list cannot be read now.
        """
        wanted = set(names)
        if not wanted:
            return {}
        async with self._lock:
            roles = await self._known_roles(wanted)
        missing = wanted - roles.keys()
        if missing:
            raise UnknownRoles(missing)
        return {name: roles[name] for name in wanted}

    async def _known_roles(self, wanted: set[str]) -> Mapping[str, str]:
        stale = self._monotonic() - self._roles_read_at >= self._refresh_interval
        if self._roles is None or (not wanted <= self._roles.keys() and stale):
            listed = await self._gateway.list_roles()
            self._roles = {role.name: role.id for role in listed}
            self._roles_read_at = self._monotonic()
        return self._roles

    async def organization_id(self, auth0_org: str) -> str:
        """Return the id of an organization configured by id (``org_…``) or by name.

        :raises Auth0NotFound: When no organization has this name.
        """
        if auth0_org.startswith("org_"):
            return auth0_org
        if auth0_org not in self._organizations:
            found = await self._gateway.get_organization_by_name(auth0_org)
            self._organizations[auth0_org] = found.id
        return self._organizations[auth0_org]
