"""``scim-server doctor``: checks that Auth0 is set up the way provisioning needs it.

Each check reads Auth0 only, and says in one line what is wrong and where to fix it, so that an
operator learns of a missing scope, organization, connection or role before the first joiner
fails on it in the worker:

- the client credentials get a Management API token (``AUTH0_CLIENT_ID``/``SECRET``);
- the token grants every scope provisioning calls need (docs/auth0.md lists them), and the two
  this command reads with (``read:connections``, ``read:organization_connections``);
- for each organization: the Auth0 organization exists, its connection exists, is enabled for
  it and suits the identity mode (``create`` needs a database or passwordless connection), mode
  ``invite`` has an application to invite into (mode ``link`` a login hook secret, else a
  warning), and every role its profile and role rules can grant exists in the tenant (the
  worker resolves role names exactly).

A check that fails makes the command exit 1; a warning does not.
"""

from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from typing import Literal

from scim_server.auth0_gateway import Auth0Connection
from scim_server.auth0_gateway import Auth0Error
from scim_server.auth0_gateway import Auth0Gateway
from scim_server.auth0_gateway import Auth0NotFound
from scim_server.mapping.profile import MappingProfile
from scim_server.mapping.rules import RoleRule
from scim_server.storage.tables import Organization

REQUIRED_SCOPES = frozenset(
    {
        "read:users",
        "create:users",
        "update:users",
        "read:organizations",
        "read:organization_members",
        "create:organization_members",
        "delete:organization_members",
        "read:organization_member_roles",
        "create:organization_member_roles",
        "delete:organization_member_roles",
        "read:roles",
        "create:organization_invitations",
        "read:organization_invitations",
        "delete:organization_invitations",
        "delete:sessions",
        "delete:refresh_tokens",
    }
)
"""The scopes provisioning calls need (docs/auth0.md, Management API credentials)."""

DOCTOR_SCOPES = frozenset({"read:connections", "read:organization_connections"})
"""The scopes only this command reads with; without them the connection check cannot run."""

CREATABLE_STRATEGIES = frozenset({"auth0", "email", "sms"})
"""Connection strategies whose users the Management API can create (auth0.md §0.1)."""

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    """One verdict: what was checked, for whom (``Auth0`` or an organization key), and why."""

    subject: str
    name: str
    status: Status
    message: str

    def to_json(self) -> dict[str, Any]:
        """Return the check as JSON values."""
        return {
            "subject": self.subject,
            "check": self.name,
            "status": self.status,
            "message": self.message,
        }


@dataclass(frozen=True)
class OrganizationSetup:
    """An organization with what its roles come from; ``profile`` is ``None`` when unknown."""

    organization: Organization
    profile: MappingProfile | None
    org_rules: Sequence[RoleRule] = ()


@dataclass(frozen=True)
class DoctorReport:
    """Every check, in the order run."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """Tell whether no check failed (warnings allowed)."""
        return all(check.status != "fail" for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        """Return the report as JSON values."""
        return {"ok": self.ok, "checks": [check.to_json() for check in self.checks]}


def grantable_roles(profile: MappingProfile, org_rules: Iterable[RoleRule] = ()) -> set[str]:
    """Return every role name the profile's and the organization's rules can grant.

    A ``grant_matched_name`` rule grants the names its matcher lists (a group displayName in
    the list, a SCIM role value); that is the closed vocabulary of DESIGN §7.
    """
    names: set[str] = set()
    for rule in [*profile.roles, *org_rules]:
        names.update(rule.grant)
        if not rule.grant_matched_name:
            continue
        group, scim_role = rule.when.group, rule.when.scim_role
        if group is not None:
            names.update(group.display_name_in or ())
            names.update([group.display_name] if group.display_name else [])
        if scim_role is not None:
            names.update(scim_role.in_ or ())
            names.update([scim_role.equals] if scim_role.equals else [])
    return names


def _listed(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


async def check_credentials(gateway: Auth0Gateway) -> list[Check]:
    """Check that a Management API token is obtained, and what it may do."""
    try:
        scopes = await gateway.granted_scopes()
    except Auth0Error as error:
        return [
            Check(
                "Auth0",
                "credentials",
                "fail",
                f"no Management API token ({error}): check AUTH0_DOMAIN or AUTH0_MANAGEMENT_URL, "
                "AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET, and that the application is authorised "
                "for the Management API",
            )
        ]
    checks = [Check("Auth0", "credentials", "ok", "Management API token obtained")]
    if scopes is None:
        checks.append(
            Check("Auth0", "scopes", "warn", "Auth0 did not say which scopes the token has")
        )
        return checks
    missing = REQUIRED_SCOPES - scopes
    if missing:
        checks.append(
            Check(
                "Auth0",
                "scopes",
                "fail",
                f"the token lacks {_listed(missing)}: grant them to the application "
                "(Applications > APIs > Auth0 Management API > Machine to Machine Applications)",
            )
        )
    else:
        checks.append(
            Check("Auth0", "scopes", "ok", f"all {len(REQUIRED_SCOPES)} provisioning scopes")
        )
    unread = DOCTOR_SCOPES - scopes
    if unread:
        checks.append(
            Check(
                "Auth0",
                "doctor scopes",
                "warn",
                f"without {_listed(unread)} the connection checks below may fail "
                "(only this command needs them)",
            )
        )
    return checks


class _Tenant:
    """The tenant-wide lists every organization's checks share, each read at most once."""

    def __init__(self, gateway: Auth0Gateway) -> None:
        self.gateway = gateway
        self._roles: set[str] | None = None
        self._connections: list[Auth0Connection] | None = None

    async def role_names(self) -> set[str]:
        if self._roles is None:
            self._roles = {role.name for role in await self.gateway.list_roles()}
        return self._roles

    async def connections(self) -> list[Auth0Connection]:
        if self._connections is None:
            self._connections = await self.gateway.list_connections()
        return self._connections


async def check_organization(
    tenant: _Tenant,
    setup: OrganizationSetup,
    *,
    invitation_client_id: str | None,
    has_hook_secret: bool,
) -> list[Check]:
    """Check one organization: Auth0 organization, connection, identity mode and roles."""
    organization = setup.organization
    key = organization.key
    checks: list[Check] = []
    org_id = await _check_exists(tenant.gateway, organization, checks)
    if org_id is not None:
        await _check_connection(tenant, organization, org_id, checks)
    if organization.identity_mode == "link" and not has_hook_secret:
        checks.append(
            Check(
                key,
                "login hook",
                "warn",
                "mode link without SCIM_HOOK_SECRET: the post-login Action cannot link users at "
                "their first login; only a lookup by email in the connection will (docs/auth0.md)",
            )
        )
    if organization.identity_mode == "invite" and not invitation_client_id:
        checks.append(
            Check(
                key,
                "invitations",
                "fail",
                "mode invite needs AUTH0_INVITATION_CLIENT_ID (the application invitations open)",
            )
        )
    await _check_roles(tenant, setup, checks)
    return checks


async def _check_exists(
    gateway: Auth0Gateway, organization: Organization, checks: list[Check]
) -> str | None:
    key, configured = organization.key, organization.auth0_org
    try:
        if configured.startswith("org_"):
            found = await gateway.get_organization(configured)
        else:
            found = await gateway.get_organization_by_name(configured)
    except Auth0NotFound:
        checks.append(
            Check(
                key,
                "organization",
                "fail",
                f"Auth0 organization {configured!r} does not exist: create it in Auth0, or fix "
                "--auth0-org",
            )
        )
        return None
    except Auth0Error as error:
        checks.append(Check(key, "organization", "fail", f"cannot read {configured!r}: {error}"))
        return None
    checks.append(Check(key, "organization", "ok", f"Auth0 organization {found.name} ({found.id})"))
    return found.id


async def _check_connection(
    tenant: _Tenant, organization: Organization, org_id: str, checks: list[Check]
) -> None:
    key, name = organization.key, organization.connection
    try:
        connection = next((c for c in await tenant.connections() if c.name == name), None)
        enabled = {c.name for c in await tenant.gateway.list_enabled_connections(org_id)}
    except Auth0Error as error:
        checks.append(Check(key, "connection", "fail", f"cannot read connections: {error}"))
        return
    if connection is None:
        checks.append(
            Check(key, "connection", "fail", f"the tenant has no connection named {name!r}")
        )
        return
    if name not in enabled:
        checks.append(
            Check(
                key,
                "connection",
                "fail",
                f"connection {name!r} is not enabled for organization {organization.auth0_org!r}: "
                "enable it in Auth0 (Organizations > Connections)",
            )
        )
        return
    if organization.identity_mode == "create" and connection.strategy not in CREATABLE_STRATEGIES:
        checks.append(
            Check(
                key,
                "connection",
                "fail",
                f"mode create cannot create users in {name!r} (strategy {connection.strategy}): "
                "use a database or passwordless connection, or mode link",
            )
        )
        return
    checks.append(Check(key, "connection", "ok", f"{name} ({connection.strategy}) enabled for it"))


async def _check_roles(tenant: _Tenant, setup: OrganizationSetup, checks: list[Check]) -> None:
    key = setup.organization.key
    if setup.profile is None:
        checks.append(
            Check(key, "roles", "fail", f"unknown mapping profile {setup.organization.profile!r}")
        )
        return
    wanted = grantable_roles(setup.profile, setup.org_rules)
    try:
        existing = await tenant.role_names()
    except Auth0Error as error:
        checks.append(Check(key, "roles", "fail", f"cannot read the tenant's roles: {error}"))
        return
    missing = wanted - existing
    if missing:
        checks.append(
            Check(
                key,
                "roles",
                "fail",
                f"rules grant {_listed(missing)}, which Auth0 does not have: create them "
                "(User Management > Roles), names compared exactly",
            )
        )
    else:
        checks.append(
            Check(key, "roles", "ok", f"every role the rules grant exists: {_listed(wanted)}")
        )


async def diagnose(
    gateway: Auth0Gateway,
    setups: Sequence[OrganizationSetup],
    *,
    invitation_client_id: str | None = None,
    has_hook_secret: bool = False,
) -> DoctorReport:
    """Run every check: the credentials first, then each organization (skipped without a token)."""
    checks = await check_credentials(gateway)
    if checks[0].status == "fail":
        return DoctorReport(tuple(checks))
    tenant = _Tenant(gateway)
    for setup in setups:
        checks.extend(
            await check_organization(
                tenant,
                setup,
                invitation_client_id=invitation_client_id,
                has_hook_secret=has_hook_secret,
            )
        )
    return DoctorReport(tuple(checks))
