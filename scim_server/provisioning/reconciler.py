"""One user's reconcile: plan desired against applied, run the steps, confirm each one.

DESIGN §6: level-triggered. The reconciler gets what the user should be (``desired``) and what
we last confirmed in Auth0 (``applied``), asks the pure planner for the steps between them, and
runs them in order through :class:`~scim_server.provisioning.effects.Auth0Effects`. After each
step Auth0 confirmed, it hands the new ``applied`` to ``checkpoint``, which the worker commits:
a crash or a failure mid-way leaves ``applied`` exactly as far as Auth0 got, and the next
attempt plans only what is left. It knows nothing of the database.

Execution decides what the planner cannot know without asking Auth0:

- ``LinkUser`` in mode ``create`` creates or links (effects explain the deterministic id); in
  mode ``link`` it only looks up by email, and waits for the login hook (``awaiting_login``)
  when nobody has that email yet.
- In mode ``invite``, a pending invitation is checked first: once accepted, the invitee's
  account is linked with the invitation's roles as ours.
- ``RemoveRoles`` immediately followed by ``RemoveMember`` costs no call: a membership's roles
  end with it (the emulator behaves so; a rehire assigns them again either way). This keeps a
  leaver at four calls: remove member, list the user's organizations, revoke, block.
- A ``DeleteInvitation`` that finds the invitation gone looks the invitee up by the email the
  invitation went to (kept in ``applied``, as a deleted user's desired state has none): an
  invitation accepted since our last look made a member, who leaves like any other.
- ``RevokeAccess`` and the ``Block`` after it share one look at the user's organizations
  and happen only when none is left (the planner plans ``Block`` only for users we created).
"""

from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from typing import Any
from typing import cast

from scim_server.auth0_gateway import Auth0Error
from scim_server.provisioning.desired import DesiredState
from scim_server.provisioning.effects import Auth0Effects
from scim_server.provisioning.effects import auth0_attributes
from scim_server.provisioning.effects import deterministic_user_id
from scim_server.provisioning.planner import AddMember
from scim_server.provisioning.planner import AppliedState
from scim_server.provisioning.planner import AssignRoles
from scim_server.provisioning.planner import Block
from scim_server.provisioning.planner import CreateInvitation
from scim_server.provisioning.planner import DeleteInvitation
from scim_server.provisioning.planner import IdentityMode
from scim_server.provisioning.planner import LinkUser
from scim_server.provisioning.planner import RemoveMember
from scim_server.provisioning.planner import RemoveRoles
from scim_server.provisioning.planner import RevokeAccess
from scim_server.provisioning.planner import Step
from scim_server.provisioning.planner import Unblock
from scim_server.provisioning.planner import UpdateProfile
from scim_server.provisioning.planner import plan
from scim_server.provisioning.planner import profile_digest


@dataclass(frozen=True)
class Identity:
    """How the SCIM user is tied to its Auth0 user: who created it, and by which route."""

    owned: bool = False
    link_method: str | None = None


@dataclass(frozen=True)
class Job:
    """Everything one reconcile needs, read by the worker in one short transaction.

    :param auth0_org: The organization as configured (``org_…`` id or name).
    :param mode: ``create``, ``link`` or ``invite``.
    """

    scim_id: str
    auth0_org: str
    connection: str
    mode: str
    desired: DesiredState
    applied: AppliedState
    identity: Identity


@dataclass(frozen=True)
class Confirmed:
    """A step Auth0 confirmed: the mapping log's line, and its details."""

    kind: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """Where a reconcile ended: the state to show and whether the task is done."""

    applied: AppliedState
    identity: Identity
    state: str
    """``synced``, ``awaiting_login``, ``invited`` or ``deprovisioned``."""
    recheck: bool = False
    """Come back later even though nothing failed (a pending invitation or login to poll)."""


Checkpoint = Callable[[AppliedState, Identity, Confirmed], Awaitable[None]]
"""Persist one confirmed step; the worker commits it before the next step runs."""


@dataclass(frozen=True)
class InvitationSettings:
    """What invitations need besides the person: the application and the inviter's name."""

    client_id: str | None
    inviter_name: str


class Reconciler:
    """Runs the plan of one user against Auth0, confirming every step through ``checkpoint``."""

    def __init__(self, effects: Auth0Effects, invitations: InvitationSettings) -> None:
        self.effects = effects
        self.invitations = invitations

    async def reconcile(self, job: Job, checkpoint: Checkpoint) -> Outcome:
        """Bring one user's Auth0 state to its desired state.

        :raises Auth0Error: When a step failed; everything before it is already checkpointed.
        """
        org_id = await self.effects.directory.organization_id(job.auth0_org)
        run = _Run(self, job, org_id, checkpoint)
        return await run.execute()


class _Run:
    """One reconcile in progress: the job, its organization id and what is applied so far."""

    def __init__(
        self, reconciler: Reconciler, job: Job, org_id: str, checkpoint: Checkpoint
    ) -> None:
        self.effects = reconciler.effects
        self.invitations = reconciler.invitations
        self.job = job
        self.org_id = org_id
        self.checkpoint = checkpoint
        self.applied = job.applied
        self.identity = job.identity
        self.departed = False

    async def confirm(self, kind: str, summary: str, **details: Any) -> None:
        await self.checkpoint(self.applied, self.identity, Confirmed(kind, summary, details))

    async def execute(self) -> Outcome:
        desired = self.job.desired
        linked = self.applied.auth0_user_id
        waiting = await self.run_plan()
        if waiting is None and not desired.member and self.applied.auth0_user_id != linked:
            # The invitation withdrawn had been accepted: the invitee's account, linked just
            # now, leaves as any other (one more plan, never a loop).
            waiting = await self.run_plan()
        if waiting is not None:
            return self.outcome(waiting, recheck=True)
        if not desired.member:
            return self.outcome("deprovisioned")
        return self.outcome("synced")

    async def run_plan(self) -> str | None:
        """Plan from what is applied and run the steps; return a waiting state if one pauses."""
        mode = _mode(self.job.mode)
        steps = plan(self.job.desired, self.applied, mode=mode, owned=self.identity.owned)
        for index, step in enumerate(steps):
            following = steps[index + 1] if index + 1 < len(steps) else None
            waiting = await self.run(step, following)
            if waiting is not None:
                return waiting
        return None

    def outcome(self, state: str, *, recheck: bool = False) -> Outcome:
        return Outcome(self.applied, self.identity, state, recheck)

    @property
    def user_id(self) -> str:
        assert self.applied.auth0_user_id is not None, "the planner links before anything else"
        return self.applied.auth0_user_id

    async def run(self, step: Step, following: Step | None) -> str | None:
        """Run one step; return a waiting state when the reconcile must pause there."""
        match step:
            case LinkUser(email=email, create=create):
                return await self.link(email, create=create)
            case CreateInvitation(email=email, roles=roles):
                await self.invite(email, roles)
                return "invited"
            case Unblock():
                await self.effects.unblock(self.user_id)
                self.applied = replace(self.applied, blocked_by_us=False)
                await self.confirm("unblocked", f"unblocked {self.user_id}")
            case AddMember():
                await self.effects.add_member(self.org_id, self.user_id)
                self.applied = replace(self.applied, member=True, access_revoked=False)
                await self.confirm("member_added", f"added {self.user_id} to {self.org_id}")
            case AssignRoles(names=names):
                assigned = await self.effects.assign_roles(self.org_id, self.user_id, names)
                current = {**self.applied.roles, **assigned}
                self.applied = replace(self.applied, roles=current)
                await self.confirm(
                    "roles_assigned",
                    f"assigned {', '.join(sorted(assigned))}",
                    roles=self.citations(assigned),
                )
            case RemoveRoles(names=names):
                ending = isinstance(following, RemoveMember)
                await self.remove_roles(names, ending_membership=ending)
            case UpdateProfile(profile=profile):
                attributes = auth0_attributes(profile)
                await self.effects.update_profile(self.user_id, attributes)
                digest = profile_digest(profile)
                self.applied = replace(self.applied, profile_digest=digest)
                await self.confirm("profile_updated", f"updated {', '.join(sorted(attributes))}")
            case RemoveMember():
                await self.effects.remove_member(self.org_id, self.user_id)
                self.applied = replace(self.applied, member=False, roles={})
                await self.confirm("member_removed", f"removed {self.user_id} from {self.org_id}")
            case DeleteInvitation(invitation_id=invitation_id):
                withdrawn = await self.effects.delete_invitation(self.org_id, invitation_id)
                invitee = self.applied.invitation_email or self.job.desired.email
                self.applied = replace(self.applied, invitation_id=None, invitation_email=None)
                await self.confirm("invitation_deleted", f"withdrew invitation {invitation_id}")
                if not withdrawn and invitee:
                    await self.find_invitee(invitee)
            case RevokeAccess():
                await self.depart(block=isinstance(following, Block))
            case Block():
                if not self.applied.blocked_by_us and not self.departed:
                    await self.depart(block=True)
        return None

    def citations(self, roles: dict[str, str]) -> dict[str, list[str]]:
        granted = self.job.desired.roles
        return {name: list(granted.get(name, ())) for name in sorted(roles)}

    async def link(self, email: str | None, *, create: bool) -> str | None:
        if not email:
            raise _NoEmail()
        if create:
            linked = await self.effects.create_or_link(
                connection=self.job.connection,
                email=email,
                user_key=deterministic_user_id(self.org_id, self.job.scim_id),
                attributes=auth0_attributes(self.job.desired.profile),
            )
            self.identity = Identity(owned=linked.owned, link_method=linked.method)
            digest = profile_digest(self.job.desired.profile) if linked.owned else None
            self.applied = replace(
                self.applied, auth0_user_id=linked.user_id, profile_digest=digest
            )
            verb = "created" if linked.owned else "linked existing"
            await self.confirm("linked", f"{verb} Auth0 user {linked.user_id} for {email}")
            return None
        invited = self.applied.invitation_id is not None
        found = await self.effects.look_up(connection=self.job.connection, email=email)
        if found is None:
            return "invited" if invited else "awaiting_login"
        method = "invitation" if invited else "matched_email"
        self.identity = Identity(owned=False, link_method=method)
        self.applied = replace(
            self.applied, auth0_user_id=found.user_id, invitation_id=None, invitation_email=None
        )
        await self.confirm("linked", f"linked existing Auth0 user {found.user_id} for {email}")
        return None

    async def find_invitee(self, email: str) -> None:
        """Link the account of an invitation found gone when withdrawn: it may have been accepted.

        Accepting made the invitee a member with the invitation's roles, and the worker learns
        of it only at its next look; a leaver in between must still lose that membership. Not
        ours: never blocked. ``email`` is the one the invitation went to, so a user deleted
        outright (no email left in its desired state) is found too; states written before it
        was kept fall back to the desired email.
        """
        found = await self.effects.look_up(connection=self.job.connection, email=email)
        if found is None:
            return
        self.identity = Identity(owned=False, link_method="invitation")
        self.applied = replace(self.applied, auth0_user_id=found.user_id, member=True)
        await self.confirm("linked", f"{email} had accepted the invitation: {found.user_id}")

    async def invite(self, email: str | None, roles: Sequence[str]) -> None:
        if not email:
            raise _NoEmail()
        if not self.invitations.client_id:
            raise _NoInvitationClient()
        invitation_id = await self.effects.invite(
            self.org_id,
            email=email,
            role_names=roles,
            client_id=self.invitations.client_id,
            inviter_name=self.invitations.inviter_name,
        )
        self.applied = replace(self.applied, invitation_id=invitation_id, invitation_email=email)
        await self.confirm("invited", f"invited {email} to {self.org_id}", invitation=invitation_id)

    async def remove_roles(self, names: Sequence[str], *, ending_membership: bool) -> None:
        ids = {name: self.applied.roles[name] for name in names if name in self.applied.roles}
        if ids and not ending_membership:
            await self.effects.remove_roles(self.org_id, self.user_id, ids.values())
        remaining = {k: v for k, v in self.applied.roles.items() if k not in ids}
        self.applied = replace(self.applied, roles=remaining)
        await self.confirm("roles_removed", f"removed {', '.join(sorted(ids))}")

    async def depart(self, *, block: bool) -> None:
        """Revoke, and block when asked, in one check of the user's other organizations."""
        self.departed = True
        departure = await self.effects.depart(self.user_id, block=block)
        self.applied = replace(
            self.applied,
            access_revoked=True,
            blocked_by_us=self.applied.blocked_by_us or departure.blocked,
        )
        if departure.revoked:
            summary = "sessions and refresh tokens revoked" + (", blocked" if block else "")
        else:
            others = len(departure.other_organizations)
            summary = f"still in {others} other organization(s): access kept"
        await self.confirm(
            "departed", summary, other_organizations=list(departure.other_organizations)
        )


def _mode(mode: str) -> IdentityMode:
    if mode not in ("create", "link", "invite"):
        raise Auth0Error(f"unknown identity mode {mode!r}")
    return cast(IdentityMode, mode)


class _NoEmail(Auth0Error):
    def __init__(self) -> None:
        super().__init__("the SCIM user has no email to find or create its Auth0 user with")


class _NoInvitationClient(Auth0Error):
    def __init__(self) -> None:
        super().__init__("mode invite needs AUTH0_INVITATION_CLIENT_ID")
