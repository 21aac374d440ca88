"""Why does this person (not) have access? One answer built from everything we know of a user.

Support has one identity key in hand (an email, an externalId, an Auth0 user id...). For each
SCIM user it names, :func:`explain_user` gathers what the IdP says (active, groups), what we
want in Auth0 and which rule wants each role (the stored desired state's citations, resolved to
the rule's text), what we last confirmed in Auth0 (the applied state), what is still to do (the
queued task and the planner's remaining steps, in words) and the last errors of the mapping log.

The desired state shown is the stored one, the one the worker acts on, not a recomputation:
when a rule changed since, its citation says which rule (and version) granted the role.
"""

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import cast

from scim_server.intake.store import load_org_rules
from scim_server.mapping.profile import MappingProfile
from scim_server.mapping.rules import RoleRule
from scim_server.provisioning.desired import DesiredState
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
from scim_server.provisioning.roles import ORG_CITATION_PREFIX
from scim_server.storage.database import Session
from scim_server.storage.identities import KnownIdentity
from scim_server.storage.identities import find_identities
from scim_server.storage.links import links_of
from scim_server.storage.links import user_documents
from scim_server.storage.members import groups_of_users
from scim_server.storage.queue import get_task
from scim_server.storage.tables import IdentityLink
from scim_server.storage.tables import Organization
from scim_server.support.mapping_log import LogEntry
from scim_server.support.mapping_log import LogQuery
from scim_server.support.mapping_log import search_log
from scim_server.support.status import json_time

RECENT_ERRORS = 5
"""How many of a user's latest failed events an explanation shows."""


def describe_rule(rule: RoleRule) -> str:
    """Say in words which users a rule matches, as support reads it next to a role.

    >>> describe_rule(RoleRule.model_validate(
    ...     {"id": "a", "when": {"group": {"display_name_in": ["Admins"]}}, "grant": ["x"]}))
    'group displayName in [Admins]'
    >>> describe_rule(RoleRule.model_validate(
    ...     {"id": "b", "when": {"attribute": {"path": "title", "equals": "CTO"}}, "grant": ["x"]}))
    'title = CTO'
    >>> describe_rule(RoleRule.model_validate(
    ...     {"id": "c", "when": {"scim_role": {"in": ["a", "b"]}}, "grant_matched_name": True}))
    'SCIM role in [a, b], granting the role of the same name'
    """
    when = rule.when
    if when.group is not None:
        group = when.group
        if group.external_id is not None:
            text = f"group externalId = {group.external_id}"
        elif group.display_name is not None:
            text = f"group displayName = {group.display_name}"
        else:
            text = f"group displayName in [{', '.join(group.display_name_in or ())}]"
    elif when.scim_role is not None:
        role = when.scim_role
        if role.equals is not None:
            text = f"SCIM role = {role.equals}"
        else:
            text = f"SCIM role in [{', '.join(role.in_ or ())}]"
    elif when.attribute is not None:
        attribute = when.attribute
        if attribute.present:
            text = f"{attribute.path} is present"
        elif attribute.equals is not None:
            text = f"{attribute.path} = {attribute.equals}"
        else:
            text = f"{attribute.path} in [{', '.join(str(v) for v in attribute.in_ or ())}]"
    else:
        text = "every active user (default)"
    if rule.grant_matched_name:
        text += ", granting the role of the same name"
    return text


def rule_texts(profile: MappingProfile | None, org_rules: Sequence[RoleRule]) -> dict[str, str]:
    """Return citation -> rule text for the rules in force: the profile's and the org's own."""
    texts = {f"{ORG_CITATION_PREFIX}{rule.id}": describe_rule(rule) for rule in org_rules}
    if profile is not None:
        texts.update({profile.cite(rule.id): describe_rule(rule) for rule in profile.roles})
    return texts


def describe_step(step: Step, *, org: Organization) -> str:
    """Say in words what a planned Auth0 step will do.

    >>> org = Organization(key="acme", auth0_org="org_1", connection="db")
    >>> describe_step(AssignRoles(("org_admin", "org_member")), org=org)
    'assign roles org_admin, org_member'
    >>> describe_step(LinkUser(email="a@b.c", create=False), org=org)
    'link the Auth0 user with email a@b.c in connection db (waits for the first login)'
    """
    match step:
        case LinkUser(email=email, create=create):
            who = f"with email {email}" if email else "(no email: cannot be found)"
            how = "or create it" if create else "(waits for the first login)"
            return f"link the Auth0 user {who} in connection {org.connection} {how}"
        case CreateInvitation(email=email, roles=roles):
            return f"invite {email or '(no email)'} with roles {', '.join(roles) or '(none)'}"
        case Unblock():
            return "unblock the Auth0 user (we blocked it)"
        case AddMember():
            return f"add as a member of Auth0 organization {org.auth0_org}"
        case AssignRoles(names=names):
            return f"assign roles {', '.join(names)}"
        case RemoveRoles(names=names):
            return f"remove roles {', '.join(names)}"
        case UpdateProfile(profile=profile):
            return f"update profile fields {', '.join(sorted(profile)) or '(none)'}"
        case RemoveMember():
            return f"remove from Auth0 organization {org.auth0_org}"
        case DeleteInvitation(invitation_id=invitation_id):
            return f"delete invitation {invitation_id}"
        case RevokeAccess():
            return "revoke sessions and refresh tokens (if a member of no other organization)"
        case Block():
            return "block the Auth0 user (if a member of no other organization)"


@dataclass(frozen=True)
class Reason:
    """A rule granting a role: its citation in the log and, if it still exists, its text."""

    citation: str
    rule: str | None
    """``None`` when the rule is gone or changed version since the desired state was stored."""


@dataclass(frozen=True)
class Pending:
    """The work left for the worker: the queued task, if any, and the steps still to run."""

    queued: bool
    due_at: datetime | None
    attempts: int
    last_error: str | None
    steps: tuple[str, ...]


@dataclass(frozen=True)
class Explanation:
    """Everything that tells why one SCIM user has (or lacks) access in Auth0."""

    identity: KnownIdentity
    active: bool | None
    """The SCIM ``active`` attribute; ``None`` when unset (active) or the user is deleted."""
    groups: tuple[str, ...]
    link: IdentityLink | None
    """``None`` when no SCIM write ever computed a desired state for the user."""
    desired: DesiredState | None
    reasons: Mapping[str, tuple[Reason, ...]]
    applied: AppliedState | None
    pending: Pending
    recent_errors: tuple[LogEntry, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the explanation in the shape the CLI's ``--json`` and the admin API share."""
        identity = self.identity
        return {
            "identity": {
                "scim_id": identity.scim_id,
                "external_id": identity.external_id,
                "user_name": identity.user_name,
                "email": identity.email,
                "auth0_user_id": identity.auth0_user_id,
                "deleted": identity.deleted,
            },
            "scim": {"active": self.active, "groups": list(self.groups)},
            "state": self.link.state if self.link else None,
            "last_synced_at": json_time(self.link.last_synced_at) if self.link else None,
            "last_error": self.link.last_error if self.link else None,
            "desired": self._desired_json(),
            "applied": self._applied_json(),
            "pending": {
                "queued": self.pending.queued,
                "due_at": json_time(self.pending.due_at),
                "attempts": self.pending.attempts,
                "last_error": self.pending.last_error,
                "steps": list(self.pending.steps),
            },
            "recent_errors": [entry.to_json() for entry in self.recent_errors],
        }

    def _desired_json(self) -> dict[str, Any] | None:
        if self.desired is None:
            return None
        return {
            "member": self.desired.member,
            "roles": [
                {
                    "role": role,
                    "because": [
                        {"citation": reason.citation, "rule": reason.rule} for reason in reasons
                    ],
                }
                for role, reasons in self.reasons.items()
            ],
            "email": self.desired.email,
        }

    def _applied_json(self) -> dict[str, Any] | None:
        if self.applied is None or self.link is None:
            return None
        return {
            "member": self.applied.member,
            "roles": sorted(self.applied.roles),
            "auth0_user_id": self.applied.auth0_user_id,
            "owned": self.link.owned,
            "link_method": self.link.link_method,
            "blocked": self.applied.blocked_by_us,
            "invitation_id": self.applied.invitation_id,
            "access_revoked": self.applied.access_revoked,
        }


async def explain_user(
    session: Session, *, org: Organization, key: str, profiles: Mapping[str, MappingProfile]
) -> list[Explanation]:
    """Explain every SCIM user of ``org`` that ``key`` names (any identity key), oldest first.

    :param profiles: The mapping profiles by id, to read the text of the profile's rules.
    :return: One explanation per user; empty when the key names no user of the organization.
    """
    assert org.id is not None
    identities = await find_identities(session, org_id=org.id, key=key)
    if not identities:
        return []
    scim_ids = [identity.scim_id for identity in identities]
    links = await links_of(session, org_id=org.id, scim_ids=scim_ids)
    documents = {
        user.scim_id: user
        for user in await user_documents(session, org_id=org.id, scim_ids=scim_ids)
    }
    groups = await groups_of_users(
        session, [user.pk for user in documents.values() if user.document is not None]
    )
    texts = rule_texts(profiles.get(org.profile), await load_org_rules(session, org_id=org.id))
    explanations = []
    for identity in identities:
        user = documents[identity.scim_id]
        link = links.get(identity.scim_id)
        desired = DesiredState.from_json(link.desired) if link else None
        applied = AppliedState.from_json(link.applied) if link else None
        explanations.append(
            Explanation(
                identity=identity,
                active=user.document.get("active") if user.document else None,
                groups=tuple(
                    sorted(g.display_name for g in groups.get(user.pk, []) if g.display_name)
                ),
                link=link,
                desired=desired,
                reasons={
                    role: tuple(Reason(citation, texts.get(citation)) for citation in citations)
                    for role, citations in (desired.roles.items() if desired else ())
                },
                applied=applied,
                pending=await _pending(session, org=org, link=link),
                recent_errors=tuple(
                    await search_log(
                        session,
                        org_id=org.id,
                        query=LogQuery(user=identity.scim_id, outcome="error", limit=RECENT_ERRORS),
                    )
                ),
            )
        )
    return explanations


async def _pending(session: Session, *, org: Organization, link: IdentityLink | None) -> Pending:
    """Return the user's queued task and the steps the planner still sees between the states."""
    assert org.id is not None
    steps: tuple[str, ...] = ()
    if link is not None:
        planned = plan(
            DesiredState.from_json(link.desired),
            AppliedState.from_json(link.applied),
            mode=cast(IdentityMode, org.identity_mode),  # validated by ``org add``
            owned=link.owned,
        )
        steps = tuple(describe_step(step, org=org) for step in planned)
    task = None if link is None else await get_task(session, org_id=org.id, scim_id=link.scim_id)
    if task is None:
        return Pending(queued=False, due_at=None, attempts=0, last_error=None, steps=steps)
    return Pending(
        queued=True,
        due_at=task.due_at,
        attempts=task.attempts,
        last_error=task.last_error,
        steps=steps,
    )
