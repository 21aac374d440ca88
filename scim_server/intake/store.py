"""The SCIM storage that also records what Auth0 should become, in the same transaction.

:class:`ProvisioningStorage` is the SQL storage of one organization (``SqlScimStorage``)
plus the write path of DESIGN §6: after each SCIM write it recomputes the desired state of
every user the write affects, stores it on the user's identity link, bumps the user's sync
task and appends mapping events, all in the caller's transaction. A SCIM request that fails
rolls everything back together, and a committed one always leaves its work queued: the worker
never misses a change and never acts on one that did not happen. It never calls Auth0.

Which users a write affects, and why that stays O(k) for a group PATCH naming k members:

- a User write: that user;
- a Group creation: its members; a Group PUT: the members added or removed;
- a Group PATCH: only the members it names, read from the member changes, never from the
  member list; unless it changes what role rules read of the group (``displayName`` or
  ``externalId``), which affects every member (O(n) by nature);
- a Group deletion: every member.

Reads fill the read-only provisioning extension (``protocol/provisioning.py``) of each User
from its identity link; writes drop whatever a client or a read-modify-write put in it, so it
is never stored in the resource.
"""

from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from typing import cast

from scim2_models import Resource
from scim2_models import ResourceType
from scim2_models import ResponseParameters
from scim2_models import ScimProvider
from scim2_models import SearchRequest
from scim2_server.storage import SearchPage

from scim_server.mapping.profile import MappingProfile
from scim_server.mapping.rules import RoleRule
from scim_server.protocol.provisioning import Provisioning
from scim_server.provisioning.desired import DesiredState
from scim_server.provisioning.desired import desired_state
from scim_server.provisioning.roles import GroupFacts
from scim_server.storage.database import Session
from scim_server.storage.events import append_event
from scim_server.storage.links import UserDocument
from scim_server.storage.links import links_of
from scim_server.storage.links import put_desired
from scim_server.storage.links import user_documents
from scim_server.storage.members import MemberChanges
from scim_server.storage.members import groups_of_users
from scim_server.storage.members import user_members_of
from scim_server.storage.queue import bump
from scim_server.storage.resources import USER_SCHEMA
from scim_server.storage.resources import SqlScimStorage
from scim_server.storage.resources import is_group
from scim_server.storage.resources import is_user
from scim_server.storage.rules import list_rules
from scim_server.storage.tables import IdentityLink
from scim_server.storage.tables import utcnow

EVENT_KIND = "desired.changed"

IDP_NAMES = {"okta": "Okta", "entra": "Entra ID", "onelogin": "OneLogin"}
"""How the log's summaries name the IdP behind a profile; others are "The SCIM client"."""

USER_WRITES = frozenset({"created", "updated", "deleted"})
"""The causes of a write to the user itself; the others name a group."""


def idp_name(profile: MappingProfile) -> str:
    """Name the IdP feeding an organization, for summaries such as "Okta deactivated ..."."""
    return IDP_NAMES.get(profile.id, "The SCIM client")


def _holds_provisioning(resource: Resource[Any]) -> bool:
    return Provisioning in type(resource).get_extension_models().values()


def _user_ids(members: Iterable[Any] | None) -> set[str]:
    return {member.value for member in members or () if member.value}


class ProvisioningStorage(SqlScimStorage):
    """The SCIM resources of one organization, and the provisioning work their writes cause.

    Rules, on top of :class:`SqlScimStorage`'s (``tests/intake/test_write_path.py``):

    - Every write updates the desired state of the users it affects (module docstring), in
      its own transaction; when a user's desired state changed, its sync task is bumped
      (generation + 1, due now) and one ``desired.changed`` event is appended.
    - A write that changes no desired state queues nothing.
    - User reads carry the provisioning extension once the user has an identity link.

    :param profile: The organization's mapping profile (attribute map, default rules).
    :param request_id: The SCIM request's id, for the mapping log.
    :param actor: Who made the request (the token's name), for the mapping log.
    """

    def __init__(
        self,
        session: Session,
        *,
        org_id: int,
        provider: ScimProvider,
        profile: MappingProfile,
        clock: Callable[[], datetime] = utcnow,
        request_id: str | None = None,
        actor: str | None = None,
    ) -> None:
        super().__init__(
            session,
            org_id=org_id,
            provider=provider,
            clock=clock,
            unique_external_id=profile.identity.unique_external_id,
        )
        self.profile = profile
        self.request_id = request_id
        self.actor = actor
        self._org_rules: tuple[RoleRule, ...] | None = None

    # -- reads ------------------------------------------------------------

    async def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        """Return a live resource; a User with its provisioning state."""
        resource = await super().get(
            resource_type, resource_id, response_parameters=response_parameters
        )
        await self._show_state([resource])
        return resource

    async def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        """Search as ``SqlScimStorage`` does; the Users found carry their provisioning state."""
        page = await super().search(resource_types, search_request, position=position)
        await self._show_state(page.resources)
        return page

    # -- writes -----------------------------------------------------------

    async def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        """Store a resource, then queue its users' provisioning (a group's: all its members)."""
        created = await super().create(resource_type, self._without_state(resource))
        resource_id = cast(str, created.id)
        if is_user(resource_type):
            await self._refresh({resource_id}, cause="created")
        else:
            await self._refresh(
                _user_ids(getattr(created, "members", None)),
                cause=f"created Group {getattr(created, 'display_name', None)!r}",
            )
        await self._show_state([created])
        return created

    async def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        """Replace a resource, then queue the users whose desired state it may change."""
        resource = self._without_state(resource)
        resource_id = cast(str, resource.id)
        if not is_group(resource_type):
            updated = await super().update(
                resource_type, resource, expected_version=expected_version
            )
            await self._refresh({resource_id}, cause="updated")
            await self._show_state([updated])
            return updated
        row = await self._row(resource_type, resource_id)
        keys = (row.display_name_key, row.external_id)
        before = set(await user_members_of(self.session, group_pk=self._pk(row)))
        updated = await super().update(resource_type, resource, expected_version=expected_version)
        after = _user_ids(getattr(updated, "members", None))
        renamed = keys != (row.display_name_key, row.external_id)
        await self._refresh(
            before | after if renamed else before ^ after,
            cause=f"replaced Group {getattr(updated, 'display_name', None)!r}",
        )
        return updated

    async def change_members(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        changes: MemberChanges,
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        """Apply a group PATCH, then queue only the members it names (or all, on a rename)."""
        row = await self._row(resource_type, cast(str, resource.id))
        group_pk = self._pk(row)
        keys = (row.display_name_key, row.external_id)
        former = (
            set(await user_members_of(self.session, group_pk=group_pk)) if changes.clear else set()
        )
        patched = await super().change_members(
            resource_type, resource, changes, expected_version=expected_version
        )
        affected = former | set(changes.added) | changes.removed
        if keys != (row.display_name_key, row.external_id):
            affected |= set(await user_members_of(self.session, group_pk=group_pk))
        await self._refresh(
            affected, cause=f"changed Group {getattr(patched, 'display_name', None)!r}"
        )
        return patched

    async def delete(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        expected_version: str | None = None,
    ) -> None:
        """Delete a resource, then queue its users' deprovisioning (a group's: its members')."""
        if is_user(resource_type):
            await super().delete(resource_type, resource_id, expected_version=expected_version)
            await self._refresh({resource_id}, cause="deleted")
            return
        row = await self._row(resource_type, resource_id)
        name = row.document.get("displayName")
        members = await user_members_of(self.session, group_pk=self._pk(row))
        await super().delete(resource_type, resource_id, expected_version=expected_version)
        await self._refresh(set(members), cause=f"deleted Group {name!r}")

    # -- provisioning -----------------------------------------------------

    async def org_rules(self) -> tuple[RoleRule, ...]:
        """Return the organization's own role rules, read once per storage (once per request)."""
        if self._org_rules is None:
            self._org_rules = await load_org_rules(self.session, org_id=self.org_id)
        return self._org_rules

    async def _refresh(self, scim_ids: Collection[str], *, cause: str) -> None:
        await refresh_desired(
            self.session,
            org_id=self.org_id,
            profile=self.profile,
            org_rules=await self.org_rules(),
            scim_ids=scim_ids,
            cause=cause,
            now=self.clock(),
            request_id=self.request_id,
            actor=self.actor,
            by=idp_name(self.profile),
        )

    # -- the read-only extension -------------------------------------------

    def _without_state(self, resource: Resource[Any]) -> Resource[Any]:
        """Drop the provisioning extension from a resource about to be stored (never stored)."""
        if _holds_provisioning(resource) and resource[Provisioning] is not None:
            resource[Provisioning] = None
        return resource

    async def _show_state(self, resources: Iterable[Resource[Any]]) -> None:
        """Fill the provisioning extension of the Users among resources from their links."""
        users = {
            cast(str, r.id): r
            for r in resources
            if str(type(r).__schema__) == USER_SCHEMA and _holds_provisioning(r)
        }
        if not users:
            return
        links = await links_of(self.session, org_id=self.org_id, scim_ids=users)
        for scim_id, link in links.items():
            users[scim_id][Provisioning] = provisioning_of(link)


async def load_org_rules(session: Session, *, org_id: int) -> tuple[RoleRule, ...]:
    """Return an organization's own role rules, validated as profile rules are."""
    return tuple(RoleRule.model_validate(d) for d in await list_rules(session, org_id=org_id))


async def refresh_desired(
    session: Session,
    *,
    org_id: int,
    profile: MappingProfile,
    org_rules: Sequence[RoleRule],
    scim_ids: Collection[str],
    cause: str,
    now: datetime,
    source: str = "scim",
    request_id: str | None = None,
    actor: str | None = None,
    by: str | None = None,
) -> list[str]:
    """Recompute the desired state of users; queue and log those whose state changed.

    Ids that are no user of the organization (a group nested in a group) are skipped.

    :param cause: What changed, for the mapping log: what ``by`` did to the user ("created",
        "updated", "deleted") or to a group ("changed Group 'Admins'"); without ``by``, a
        sentence of its own ("Role rules imported from acme.toml").
    :param by: The IdP that made the SCIM write ("Okta"), for the summary.
    :return: The SCIM ids of the users whose desired state changed, now queued.
    """
    if not scim_ids:
        return []
    users = await user_documents(session, org_id=org_id, scim_ids=scim_ids)
    groups = await groups_of_users(session, [u.pk for u in users if u.document is not None])
    links = await links_of(session, org_id=org_id, scim_ids=[user.scim_id for user in users])
    changed = []
    for user in users:
        state = desired_state(
            user.document,
            [GroupFacts(g.display_name, g.external_id) for g in groups.get(user.pk, [])],
            profile=profile,
            org_rules=org_rules,
        )
        link = links.get(user.scim_id)
        before = DesiredState.from_json(link.desired) if link is not None else None
        _, did_change = await put_desired(
            session,
            org_id=org_id,
            scim_id=user.scim_id,
            desired=state.to_json(),
            now=now,
            link=link,
        )
        if did_change:
            changed.append(user.scim_id)
            await append_event(
                session,
                org_id=org_id,
                source=source,
                kind=EVENT_KIND,
                at=now,
                request_id=request_id,
                actor=actor,
                scim_id=user.scim_id,
                external_id=user.external_id,
                user_name=user.user_name,
                email=user.email,
                **describe_event(user, before, state, cause=cause, by=by),
            )
    await bump(session, org_id=org_id, scim_ids=changed, now=now)
    await session.flush()
    return changed


def describe_event(
    user: UserDocument,
    before: DesiredState | None,
    after: DesiredState,
    *,
    cause: str,
    by: str | None = None,
) -> dict[str, Any]:
    """Return the summary line and the details of a change of desired state (no secrets).

    The summary says who did what to whom, then what Auth0 should become: "Okta deactivated
    jdoe@acme.com: to deprovision", "Okta changed Group 'Admins': jdoe@acme.com roles
    +org_admin", "Role rules imported from acme.toml: jdoe@acme.com roles -org_admin".
    """
    previous = before.roles if before else {}
    added = sorted(set(after.roles) - set(previous))
    removed = sorted(set(previous) - set(after.roles))
    profile_fields = sorted(
        name
        for name in set(after.profile) | set(before.profile if before else ())
        if before is None or before.profile.get(name) != after.profile.get(name)
    )
    who = after.email or user.email or user.user_name or user.scim_id
    change = describe_change(before, after, added, removed)
    if by is None:
        summary = f"{cause}: {who} {change}"
    elif cause in USER_WRITES:
        summary = f"{by} {user_verb(user, before, after, cause)} {who}: {change}"
    else:
        summary = f"{by} {cause}: {who} {change}"
    return {
        "summary": summary,
        "details": {
            "cause": cause if by is None else f"{by} {cause}",
            "member": [before.member if before else None, after.member],
            "roles_added": added,
            "roles_removed": removed,
            "reasons": {name: list(after.roles[name]) for name in sorted(after.roles)},
            "profile_changed": profile_fields,
        },
    }


def provisioning_of(link: IdentityLink) -> Provisioning:
    """Return what the provisioning extension shows of an identity link."""
    roles = link.applied.get("roles") or {}
    return Provisioning(
        state=link.state,
        auth0_user_id=link.auth0_user_id,
        last_synced_at=link.last_synced_at,
        last_error=link.last_error,
        roles=sorted(roles) or None,
    )


def user_verb(
    user: UserDocument, before: DesiredState | None, after: DesiredState, cause: str
) -> str:
    """Say what an IdP did to a user: an update that flips ``active`` is a (re)activation.

    >>> user = UserDocument("u1", 1, {"active": False}, None, "jdoe", "jdoe@acme.com")
    >>> joiner = DesiredState(linked=True, member=True)
    >>> user_verb(user, joiner, DesiredState(linked=True, member=False), "updated")
    'deactivated'
    """
    active = None if user.document is None else user.document.get("active")
    if cause == "updated" and before is not None and before.member != after.member:
        if active is False and not after.member:
            return "deactivated"
        if active is True and after.member:
            return "reactivated"
    return cause


def describe_change(
    before: DesiredState | None, after: DesiredState, added: list[str], removed: list[str]
) -> str:
    """Say in a few words what a new desired state asks of Auth0, for the log's summary line.

    >>> joiner = DesiredState(linked=True, member=True, roles={"org_member": ("okta@1:member",)})
    >>> describe_change(None, joiner, ["org_member"], [])
    'to provision with roles org_member'
    >>> describe_change(joiner, DesiredState(linked=True, member=False), [], ["org_member"])
    'to deprovision'
    """
    if not after.member:
        return "to deprovision" if before is None or before.member else "stays deprovisioned"
    if before is None or not before.member:
        verb = "to provision" if before is None else "to reprovision"
        return f"{verb} with roles {', '.join(sorted(after.roles)) or '(none)'}"
    changes = [f"+{name}" for name in added] + [f"-{name}" for name in removed]
    if changes:
        return "roles " + " ".join(changes)
    return "profile changed"
