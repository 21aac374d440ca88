"""Reconciliation planning: the Auth0 steps that take the applied state to the desired one.

Pure and level-triggered (DESIGN §6): :func:`plan` compares what a user should have with what
we last confirmed in Auth0, and returns only the steps that differ, in the order they must
run. An unchanged state plans nothing (a hypothesis property in ``tests/provisioning``), so a
retried or repeated reconcile is harmless, and ten SCIM changes give one diff.

The worker runs the steps in order and records each confirmed one into the applied state, so
a crash between two steps loses nothing: the next plan starts where the last one stopped.

Step order: obtain the identity (:class:`LinkUser` or :class:`CreateInvitation`),
:class:`Unblock`, :class:`AddMember`, :class:`AssignRoles`, :class:`RemoveRoles`,
:class:`UpdateProfile`, :class:`RemoveMember`, :class:`DeleteInvitation`,
:class:`RevokeAccess`, :class:`Block`.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal

from scim_server.provisioning.desired import DesiredState

IdentityMode = Literal["create", "link", "invite"]


@dataclass(frozen=True)
class LinkUser:
    """Find the Auth0 user by email in the organization's connection, or create it.

    ``create`` is false in mode ``link`` (enterprise connections cannot be written) and
    while an invitation is pending: then a miss leaves the user ``awaiting_login`` or
    ``invited`` and the rest of the plan waits. A user found (not created) is not ours
    (``owned`` false) and is never re-profiled.
    """

    email: str | None
    create: bool


@dataclass(frozen=True)
class CreateInvitation:
    """Invite the email to the organization with the role names (mode ``invite``)."""

    email: str | None
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Unblock:
    """Lift the block we put on a user we own (rehire)."""


@dataclass(frozen=True)
class AddMember:
    """Make the user a member of the organization (the worker batches up to 10 per call)."""


@dataclass(frozen=True)
class AssignRoles:
    """Assign organization roles, by name (the worker resolves names to ids)."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class RemoveRoles:
    """Remove organization roles we assigned, by name; roles given by hand are never here."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class UpdateProfile:
    """Write the mapped profile fields to an Auth0 user we own."""

    profile: Mapping[str, Any]


@dataclass(frozen=True)
class RemoveMember:
    """Remove the user from the organization."""


@dataclass(frozen=True)
class DeleteInvitation:
    """Delete an invitation not accepted yet (deprovisioned before acceptance)."""

    invitation_id: str


@dataclass(frozen=True)
class RevokeAccess:
    """Revoke sessions and refresh tokens, decided at execution (DESIGN §6).

    The worker revokes only when the user is a member of no other organization. Either way
    the step is then done: the worker records ``access_revoked`` in the applied state.
    """


@dataclass(frozen=True)
class Block:
    """Block a user we own, right after :class:`RevokeAccess` and on the same condition.

    Planned only for owned users; the worker blocks only when it revoked (no other
    organization) and then records ``blocked_by_us``.
    """


Step = (
    LinkUser
    | CreateInvitation
    | Unblock
    | AddMember
    | AssignRoles
    | RemoveRoles
    | UpdateProfile
    | RemoveMember
    | DeleteInvitation
    | RevokeAccess
    | Block
)


@dataclass(frozen=True)
class AppliedState:
    """What we last confirmed in Auth0 for one user.

    :param auth0_user_id: The linked Auth0 user, once found or created.
    :param member: The user is a member of the organization because of us.
    :param roles: Role name -> Auth0 role id, only the roles we assigned.
    :param blocked_by_us: We blocked the user (so a rehire unblocks it).
    :param profile_digest: :func:`profile_digest` of the profile last written (owned users).
    :param invitation_id: A pending invitation we created.
    :param invitation_email: The email that invitation went to, kept as long as it: a user
        deleted outright has no email in its desired state, and withdrawing an invitation
        accepted unseen must still find the invitee by it to end the membership.
    :param access_revoked: The leaver's :class:`RevokeAccess` ran since it was last a member;
        it keeps a crash between :class:`RemoveMember` and :class:`RevokeAccess` from
        forgetting the revocation. :class:`AddMember` sets it back to false.
    """

    auth0_user_id: str | None = None
    member: bool = False
    roles: Mapping[str, str] = field(default_factory=dict)
    blocked_by_us: bool = False
    profile_digest: str | None = None
    invitation_id: str | None = None
    invitation_email: str | None = None
    access_revoked: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return the state as JSON, as ``IdentityLink.applied`` keeps it."""
        return {
            "auth0_user_id": self.auth0_user_id,
            "member": self.member,
            "roles": dict(sorted(self.roles.items())),
            "blocked_by_us": self.blocked_by_us,
            "profile_digest": self.profile_digest,
            "invitation_id": self.invitation_id,
            "invitation_email": self.invitation_email,
            "access_revoked": self.access_revoked,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "AppliedState":
        """Read a state written by :meth:`to_json`; an empty object is a user never reconciled.

        >>> AppliedState.from_json({}) == AppliedState()
        True
        """
        return cls(
            auth0_user_id=data.get("auth0_user_id"),
            member=bool(data.get("member", False)),
            roles=dict(data.get("roles") or {}),
            blocked_by_us=bool(data.get("blocked_by_us", False)),
            profile_digest=data.get("profile_digest"),
            invitation_id=data.get("invitation_id"),
            invitation_email=data.get("invitation_email"),
            access_revoked=bool(data.get("access_revoked", False)),
        )


def profile_digest(profile: Mapping[str, Any]) -> str:
    """Return a short digest of profile fields, to tell whether they changed since written.

    >>> profile_digest({"b": 1, "a": None}) == profile_digest({"a": None, "b": 1})
    True
    """
    text = json.dumps(profile, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def plan(
    desired: DesiredState, applied: AppliedState, *, mode: IdentityMode, owned: bool
) -> tuple[Step, ...]:
    """Return the steps that make Auth0 hold the desired state, in order; none when it does.

    :param mode: The organization's identity mode (DESIGN §6).
    :param owned: We created the linked Auth0 user (only then: profile updates and block).
    """
    if desired.member:
        return _joiner_or_mover(desired, applied, mode=mode, owned=owned)
    return _leaver(applied, owned=owned)


def _joiner_or_mover(
    desired: DesiredState, applied: AppliedState, *, mode: IdentityMode, owned: bool
) -> tuple[Step, ...]:
    wanted = tuple(sorted(desired.roles))
    if applied.auth0_user_id is None:
        if mode == "invite" and applied.invitation_id is None:
            return (CreateInvitation(email=desired.email, roles=wanted),)
        create = mode == "create" and applied.invitation_id is None
        # The Auth0 user does not exist yet: once linked, every role is to assign. A user
        # created by us carries its profile from creation, so no UpdateProfile here.
        return LinkUser(email=desired.email, create=create), AddMember(), AssignRoles(wanted)
    steps: list[Step] = []
    if applied.blocked_by_us:
        steps.append(Unblock())
    if not applied.member:
        steps.append(AddMember())
    missing = tuple(name for name in wanted if name not in applied.roles)
    if missing:
        steps.append(AssignRoles(missing))
    dropped = tuple(sorted(name for name in applied.roles if name not in desired.roles))
    if dropped:
        steps.append(RemoveRoles(dropped))
    if owned and applied.profile_digest != profile_digest(desired.profile):
        steps.append(UpdateProfile(dict(desired.profile)))
    return tuple(steps)


def _leaver(applied: AppliedState, *, owned: bool) -> tuple[Step, ...]:
    steps: list[Step] = []
    if applied.auth0_user_id is not None:
        if applied.roles:
            steps.append(RemoveRoles(tuple(sorted(applied.roles))))
        if applied.member:
            steps.append(RemoveMember())
    if applied.invitation_id is not None and applied.auth0_user_id is None:
        steps.append(DeleteInvitation(applied.invitation_id))
    if applied.auth0_user_id is not None and not applied.access_revoked:
        steps.append(RevokeAccess())
        if owned and not applied.blocked_by_us:
            steps.append(Block())
    return tuple(steps)
