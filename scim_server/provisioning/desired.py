"""The desired state of a user in Auth0: what the SCIM side asks for, computed purely (DESIGN §6).

The SCIM write path computes it for every user a write affects and stores it on the user's
identity link (``storage/links.py``) in the same transaction; the worker compares it with the
applied state (``provisioning/planner.py``) and calls Auth0 for the difference only.
"""

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from scim_server.mapping.profile import MappingProfile
from scim_server.mapping.rules import RoleRule
from scim_server.mapping.scim_paths import value_at
from scim_server.mapping.transforms import apply_transform
from scim_server.provisioning.roles import GroupFacts
from scim_server.provisioning.roles import UserFacts
from scim_server.provisioning.roles import org_rules as cite_org_rules
from scim_server.provisioning.roles import profile_rules
from scim_server.provisioning.roles import resolve_roles

SECRET_ROOTS = frozenset({"password"})
"""SCIM attributes never copied into a desired state, whatever a profile maps: the SCIM
``password`` is never stored, logged or compared (DESIGN §6)."""


@dataclass(frozen=True)
class DesiredState:
    """What Auth0 should hold for one SCIM user.

    :param linked: The SCIM user exists (not deleted), so an Auth0 user exists or must exist
        once it is a member.
    :param member: The user should be a member of the organization: it exists and its
        ``active`` is not false (an unset ``active`` means active).
    :param roles: Role name -> citations of the rules granting it; empty unless ``member``.
    :param profile: Auth0 field (``given_name``, ``app_metadata.department``...) -> value from
        the profile's attribute map; ``None`` means "unset".
    :param email: The email Auth0 users are found, created and invited by, if the user has one.
    """

    linked: bool
    member: bool
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    profile: Mapping[str, Any] = field(default_factory=dict)
    email: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the state as JSON, as ``IdentityLink.desired`` keeps it."""
        return {
            "linked": self.linked,
            "member": self.member,
            "roles": {name: list(citations) for name, citations in sorted(self.roles.items())},
            "profile": dict(sorted(self.profile.items())),
            "email": self.email,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "DesiredState":
        """Read a state written by :meth:`to_json`; an empty object is a user never provisioned.

        >>> state = DesiredState(linked=True, member=True, roles={"a": ("okta@1:x",)})
        >>> DesiredState.from_json(state.to_json()) == state
        True
        """
        return cls(
            linked=bool(data.get("linked", False)),
            member=bool(data.get("member", False)),
            roles={name: tuple(cited) for name, cited in (data.get("roles") or {}).items()},
            profile=dict(data.get("profile") or {}),
            email=data.get("email"),
        )


GONE = DesiredState(linked=False, member=False)
"""The desired state of a deleted user: no membership, no roles."""


def _is_secret(path: str) -> bool:
    return path.rpartition(":")[2].split(".")[0].casefold() in SECRET_ROOTS


def desired_state(
    user: Mapping[str, Any] | None,
    groups: Sequence[GroupFacts],
    *,
    profile: MappingProfile,
    org_rules: Sequence[RoleRule] = (),
) -> DesiredState:
    """Compute what Auth0 should hold for a SCIM user.

    :param user: The SCIM User as JSON (as stored), or ``None`` when it was deleted.
    :param groups: The groups the user is a direct member of.
    :param profile: The organization's mapping profile: attribute map, email and default rules.
    :param org_rules: The organization's own role rules, on top of the profile's (union).
    """
    if user is None:
        return GONE
    member = user.get("active") is not False
    roles: dict[str, tuple[str, ...]] = {}
    if member:
        facts = UserFacts.of(user, groups)
        roles = resolve_roles(facts, [*profile_rules(profile), *cite_org_rules(org_rules)])
    attributes = {
        name: apply_transform(source.transform, value_at(user, source.path))
        for name, source in sorted(profile.attributes.items())
        if not _is_secret(source.path)
    }
    email = apply_transform(
        profile.identity.email.transform, value_at(user, profile.identity.email.path)
    )
    return DesiredState(
        linked=True,
        member=member,
        roles=roles,
        profile=attributes,
        email=email.strip() if isinstance(email, str) and email.strip() else None,
    )
