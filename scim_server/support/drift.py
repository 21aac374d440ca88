"""Drift: where Auth0 no longer holds what we applied, or holds what we never did (reconcile).

The worker trusts ``applied`` (what it last confirmed in Auth0) and plans only the difference
with ``desired`` (DESIGN §6). Someone editing the organization in the Auth0 dashboard makes
``applied`` wrong without telling us; ``scim-server reconcile`` reads what Auth0 really holds
(every member with their direct roles, in pages) and compares it with every identity link of
the organization:

==================== ===== =====================================================================
finding              ours  meaning (and what ``--repair`` does)
==================== ===== =====================================================================
``unmanaged_member``  no   a member no link of ours is tied to (added by hand), or a user we
                           deprovisioned and someone added back: reported, never touched
``lost_member``       yes  a user we added and still want is no longer a member: re-added
``role_missing``      yes  a role we assigned and still want was removed: assigned again
``role_not_removed``  yes  a role we assigned and no longer want is still there: removed
``foreign_role``      no   a role on one of our members that we never assigned: left alone
``duplicate_email``   no   several Auth0 users share one email: reported, a person decides
``deleted_user``      own  a link to an Auth0 user that no longer exists (``GET`` 404): an
                           Auth0 user we created is created again; another's is reported
==================== ===== =====================================================================

This module is the pure part: the findings, the comparison and the correction of ``applied``;
:mod:`scim_server.support.drift_check` reads Auth0, logs and repairs. A repair never calls
Auth0 itself. It sets the link's ``applied`` to what Auth0 really holds
(only ever forgetting what we had; a role we never assigned never becomes ours), bumps the
user's sync task and lets the worker's own reconcile run it: the calls are planned, rate-limited,
checkpointed and logged exactly like any other. Every finding and every repair is a mapping-log
event of source ``reconcile``.

Work the worker has not done yet is not drift: a joiner not added yet, a role not assigned yet,
a member in Auth0 whose SCIM user still awaits its link (mode ``link``: auto-membership at login
comes before the hook). The one exception is access we no longer want (``role_not_removed``):
it is reported even when a removal is queued, since the queue may be stuck on an error.
"""

from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from typing import Any

from scim_server.provisioning.desired import DesiredState
from scim_server.provisioning.planner import AppliedState
from scim_server.storage.link_scan import LinkSnapshot
from scim_server.support.plural import plural

UNMANAGED_MEMBER = "unmanaged_member"
LOST_MEMBER = "lost_member"
ROLE_MISSING = "role_missing"
ROLE_NOT_REMOVED = "role_not_removed"
FOREIGN_ROLE = "foreign_role"
DUPLICATE_EMAIL = "duplicate_email"
DELETED_USER = "deleted_user"


@dataclass(frozen=True)
class Member:
    """A member of the organization as Auth0 lists it, with the names of its direct roles."""

    user_id: str
    email: str | None
    roles: frozenset[str]


@dataclass(frozen=True)
class Finding:
    """One difference between Auth0 and our links.

    :param ours: It concerns something scim-server manages, so ``--repair`` may fix it.
    :param repairable: ``--repair`` fixes it (ours, and not a deleted user we did not create).
    """

    kind: str
    summary: str
    ours: bool
    repairable: bool
    scim_id: str | None = None
    email: str | None = None
    auth0_user_id: str | None = None
    roles: tuple[str, ...] = ()
    others: tuple[str, ...] = ()
    """The Auth0 user ids sharing the email, for ``duplicate_email``."""

    def to_json(self) -> dict[str, Any]:
        """Return the finding as JSON values (``--json`` and the mapping log's details)."""
        return {
            "kind": self.kind,
            "ours": self.ours,
            "repairable": self.repairable,
            "scim_id": self.scim_id,
            "email": self.email,
            "auth0_user_id": self.auth0_user_id,
            "roles": list(self.roles),
            "auth0_user_ids": list(self.others),
            "summary": self.summary,
        }


@dataclass(frozen=True)
class DriftReport:
    """What one reconcile of an organization found, and what it handed to the worker."""

    org_key: str
    auth0_org_id: str
    members: int
    links: int
    findings: tuple[Finding, ...]
    observed: Mapping[str, Member] = field(default_factory=dict, repr=False)
    """Every member read, by user id (the repair compares links with it again)."""
    deleted: frozenset[str] = frozenset()
    """Linked Auth0 user ids that answered 404."""
    repaired: tuple[str, ...] = ()
    """SCIM ids whose link was corrected and whose task was bumped."""
    reconciled: int = 0
    """How many of them the worker reconciled at once (a running worker may hold the others)."""

    @property
    def to_repair(self) -> tuple[str, ...]:
        """The SCIM ids ``--repair`` corrects, each once, in the order found."""
        return tuple(dict.fromkeys(f.scim_id for f in self.findings if f.repairable and f.scim_id))

    def to_json(self) -> dict[str, Any]:
        """Return the report as JSON values."""
        return {
            "organization": self.org_key,
            "auth0_org_id": self.auth0_org_id,
            "members": self.members,
            "links": self.links,
            "findings": [finding.to_json() for finding in self.findings],
            "repaired": list(self.repaired),
            "reconciled": self.reconciled,
        }


def lookup_candidates(links: Iterable[LinkSnapshot], members: Collection[str]) -> list[str]:
    """Return the linked Auth0 users to look up: those of users we want as members, who are not.

    A member exists by definition. A deprovisioned or deleted SCIM user's account is looked up
    once it is wanted again (a rehire), which keeps a large organization's reconcile at one
    ``GET`` per missing member rather than one per former employee.
    """
    return sorted(
        {
            link.auth0_user_id
            for link in links
            if link.auth0_user_id is not None
            and link.auth0_user_id not in members
            and DesiredState.from_json(link.desired).member
        }
    )


def compare(
    links: Iterable[LinkSnapshot],
    members: Mapping[str, Member],
    *,
    deleted: Collection[str] = frozenset(),
) -> list[Finding]:
    """Compare an organization's links with its members in Auth0; pure.

    :param members: What Auth0 holds, by user id (:func:`read_members`).
    :param deleted: Linked Auth0 user ids that no longer exist (:func:`deleted_users`).
    """
    findings: list[Finding] = []
    by_user: dict[str, LinkSnapshot] = {}
    emails: dict[str, set[str]] = {}
    awaiting: set[str] = set()
    for link in links:
        desired = DesiredState.from_json(link.desired)
        applied = AppliedState.from_json(link.applied)
        user_id = link.auth0_user_id
        if user_id is None:
            if desired.member and desired.email:
                awaiting.add(desired.email.casefold())
            continue
        # Several links may share an Auth0 user (a rehire under a new SCIM id links the old
        # account): the one still wanting or holding the membership speaks for it.
        if user_id not in by_user or _abandoned(by_user[user_id]):
            by_user[user_id] = link
        if desired.email:
            emails.setdefault(desired.email.casefold(), set()).add(user_id)
        if user_id in deleted:
            findings.append(_deleted(link, desired))
        elif user_id in members:
            findings.extend(_role_drift(link, desired, applied, members[user_id]))
        elif desired.member and applied.member:
            findings.append(
                Finding(
                    LOST_MEMBER,
                    f"{desired.email or user_id} is no longer a member in Auth0 "
                    "(removed outside scim-server)",
                    ours=True,
                    repairable=True,
                    scim_id=link.scim_id,
                    email=desired.email,
                    auth0_user_id=user_id,
                )
            )
    for member in members.values():
        if member.email:
            emails.setdefault(member.email.casefold(), set()).add(member.user_id)
        owner = by_user.get(member.user_id)
        if owner is None and member.email and member.email.casefold() in awaiting:
            # Mode link: the person logged in and Auth0's auto-membership made them a member
            # before the login hook linked them to the SCIM user waiting for them. Pending.
            continue
        if owner is None or _abandoned(owner):
            findings.append(_unmanaged(member, owner))
    for email, user_ids in sorted(emails.items()):
        if len(user_ids) > 1:
            findings.append(_duplicate(email, user_ids, by_user))
    return findings


def _abandoned(link: LinkSnapshot) -> bool:
    """Tell whether we neither want nor hold the link's membership (removed, or never added)."""
    return (
        not DesiredState.from_json(link.desired).member
        and not AppliedState.from_json(link.applied).member
    )


def _role_drift(
    link: LinkSnapshot, desired: DesiredState, applied: AppliedState, member: Member
) -> list[Finding]:
    if not desired.member and not applied.member:
        return []
    who = desired.email or member.email or member.user_id
    found: list[Finding] = []
    missing = sorted(r for r in applied.roles if r in desired.roles and r not in member.roles)
    if missing:
        found.append(
            _ours(
                ROLE_MISSING,
                f"{_roles(missing)} we assigned to {who} removed in Auth0 (outside scim-server)",
                link,
                desired,
                missing,
            )
        )
    stale = sorted(r for r in applied.roles if r not in desired.roles and r in member.roles)
    if stale:
        found.append(
            _ours(
                ROLE_NOT_REMOVED,
                f"{_roles(stale)} of {who} no longer granted by any rule, still in Auth0",
                link,
                desired,
                stale,
            )
        )
    foreign = sorted(r for r in member.roles if r not in applied.roles and r not in desired.roles)
    if foreign:
        found.append(
            Finding(
                FOREIGN_ROLE,
                f"{_roles(foreign)} of {who} given outside scim-server (left alone)",
                ours=False,
                repairable=False,
                scim_id=link.scim_id,
                email=desired.email or member.email,
                auth0_user_id=member.user_id,
                roles=tuple(foreign),
            )
        )
    return found


def _ours(
    kind: str, summary: str, link: LinkSnapshot, desired: DesiredState, roles: list[str]
) -> Finding:
    return Finding(
        kind,
        summary,
        ours=True,
        repairable=True,
        scim_id=link.scim_id,
        email=desired.email,
        auth0_user_id=link.auth0_user_id,
        roles=tuple(roles),
    )


def _deleted(link: LinkSnapshot, desired: DesiredState) -> Finding:
    who = desired.email or link.scim_id
    if link.owned:
        summary = f"Auth0 user {link.auth0_user_id} of {who} no longer exists; we created it"
    else:
        summary = (
            f"Auth0 user {link.auth0_user_id} of {who} no longer exists; not created by "
            "scim-server, so it is not re-created (re-link it by hand)"
        )
    return Finding(
        DELETED_USER,
        summary,
        ours=True,
        repairable=link.owned,
        scim_id=link.scim_id,
        email=desired.email,
        auth0_user_id=link.auth0_user_id,
    )


def _unmanaged(member: Member, link: LinkSnapshot | None) -> Finding:
    who = member.email or member.user_id
    why = (
        "not provisioned by scim-server"
        if link is None
        else "deprovisioned by scim-server and added back outside it"
    )
    return Finding(
        UNMANAGED_MEMBER,
        f"{who} is a member in Auth0 but {why} (left alone)",
        ours=False,
        repairable=False,
        scim_id=None if link is None else link.scim_id,
        email=member.email,
        auth0_user_id=member.user_id,
        roles=tuple(sorted(member.roles)),
    )


def _duplicate(email: str, user_ids: set[str], by_user: Mapping[str, LinkSnapshot]) -> Finding:
    ours = sorted(by_user[u].scim_id for u in user_ids if u in by_user)
    return Finding(
        DUPLICATE_EMAIL,
        f"{len(user_ids)} Auth0 users have the email {email}: {', '.join(sorted(user_ids))}",
        ours=False,
        repairable=False,
        scim_id=ours[0] if len(ours) == 1 else None,
        email=email,
        others=tuple(sorted(user_ids)),
    )


def _roles(names: list[str]) -> str:
    return ("role " if len(names) == 1 else "roles ") + ", ".join(names)


def as_observed(
    applied: AppliedState, member: Member | None, *, deleted: bool = False
) -> AppliedState:
    """Return ``applied`` corrected to what Auth0 really holds; pure.

    It only forgets: a membership or a role Auth0 no longer has, or the whole Auth0 user when
    it was deleted. A role Auth0 has that we never assigned never becomes ours, so the planner
    still never removes it.

    >>> held = AppliedState(auth0_user_id="auth0|1", member=True, roles={"a": "r1", "b": "r2"})
    >>> as_observed(held, Member("auth0|1", None, frozenset({"b", "c"}))).roles
    {'b': 'r2'}
    >>> as_observed(held, None).member, as_observed(held, None).roles
    (False, {})
    """
    if deleted:
        return AppliedState()
    if member is None:
        return replace(applied, member=False, roles={})
    kept = {name: role_id for name, role_id in applied.roles.items() if name in member.roles}
    return replace(applied, roles=kept)


REPAIRS = {
    LOST_MEMBER: "re-add to the organization with its roles",
    ROLE_MISSING: "assign {roles} again",
    ROLE_NOT_REMOVED: "remove {roles}",
    DELETED_USER: "create the Auth0 user again",
}
"""What the worker will do for each repairable finding, in the repair event's summary."""


def repair_summary(findings: Iterable[Finding]) -> str:
    """Say what a repair queued, from the findings of one user.

    >>> repair_summary([Finding(ROLE_MISSING, "", True, True, roles=("a", "b"))])
    'repair queued: assign a, b again'
    """
    parts = [REPAIRS[f.kind].format(roles=", ".join(f.roles)) for f in findings if f.repairable]
    return "repair queued: " + "; ".join(parts)


def checked_summary(report: DriftReport, repaired: list[str]) -> str:
    """Say in one line what a reconcile of an organization read, found and queued."""
    ours = sum(finding.ours for finding in report.findings)
    text = (
        f"reconciled with Auth0: {plural(report.members, 'member')}, "
        f"{plural(report.links, 'link')}, {plural(len(report.findings), 'finding')} ({ours} ours)"
    )
    return text + (f", {plural(len(repaired), 'user')} queued for repair" if repaired else "")
