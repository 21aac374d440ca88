"""Checking an organization for drift: read Auth0, compare, log every finding, repair ours.

The comparison itself is pure (:mod:`scim_server.support.drift`). Here: Auth0 is read
outside any database transaction (a large organization takes many pages at the tenant's rate
limit, and SQLite transactions here are writers), the findings and repairs are written in one
short transaction, and the repaired users are reconciled at once by the worker's own code.
"""

from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from datetime import timedelta
from functools import partial
from typing import TypeVar

from scim_server.auth0_gateway import Auth0Gateway
from scim_server.auth0_gateway import Auth0NotFound
from scim_server.auth0_gateway import Auth0Unavailable
from scim_server.provisioning.planner import AppliedState
from scim_server.provisioning.worker import Worker
from scim_server.storage.database import Database
from scim_server.storage.events import append_event
from scim_server.storage.link_scan import org_links
from scim_server.storage.links import get_link
from scim_server.storage.queue import bump
from scim_server.storage.queue import claim_users
from scim_server.storage.tables import Organization
from scim_server.support.drift import DriftReport
from scim_server.support.drift import Member
from scim_server.support.drift import as_observed
from scim_server.support.drift import checked_summary
from scim_server.support.drift import compare
from scim_server.support.drift import lookup_candidates
from scim_server.support.drift import repair_summary

SOURCE = "reconcile"
"""The mapping log's source of every finding and repair."""

ATTEMPTS = 5
"""How many times a read Auth0 could not serve (429, 5xx) is tried before reconcile gives up."""

T = TypeVar("T")


async def patiently(read: Callable[[], Awaitable[T]]) -> T:
    """Run a read again when Auth0 could not serve it, up to :data:`ATTEMPTS` times.

    A reconcile of a large organization reads for a long time at the tenant's rate limit; one
    429 or 503 on the way must not waste it. The gateway's limiter already waits out the pause
    a 429 asks for before the next call.

    :raises Auth0Unavailable: When every attempt failed.
    """
    attempt = 1
    while True:
        try:
            return await read()
        except Auth0Unavailable:
            if attempt >= ATTEMPTS:
                raise
            attempt += 1


async def read_members(
    gateway: Auth0Gateway, org_id: str, *, progress: Callable[[int], None] | None = None
) -> dict[str, Member]:
    """Read every member of an Auth0 organization with its direct roles, page by page.

    A listing Auth0 interrupts (429, 5xx) starts again from the first page: checkpoint
    cursors are not exposed by the gateway, and a member list must be whole to be compared.

    :param progress: Called with the count read so far after each member (a progress bar).
    """

    async def listing() -> dict[str, Member]:
        members: dict[str, Member] = {}
        async for member in gateway.list_members(org_id, with_roles=True):
            roles = frozenset(role.name for role in member.roles or ())
            members[member.user_id] = Member(member.user_id, member.email, roles)
            if progress is not None:
                progress(len(members))
        return members

    return await patiently(listing)


async def deleted_users(gateway: Auth0Gateway, user_ids: Iterable[str]) -> frozenset[str]:
    """Return the user ids among ``user_ids`` that Auth0 answers 404 for (one ``GET`` each)."""
    gone: set[str] = set()
    for user_id in user_ids:
        try:
            await patiently(partial(gateway.get_user, user_id))
        except Auth0NotFound:
            gone.add(user_id)
    return frozenset(gone)


async def auth0_org_id(gateway: Auth0Gateway, organization: Organization) -> str:
    """Return the Auth0 id of an organization configured by id (``org_…``) or by name."""
    if organization.auth0_org.startswith("org_"):
        return organization.auth0_org
    return (await gateway.get_organization_by_name(organization.auth0_org)).id


async def check_drift(
    database: Database,
    gateway: Auth0Gateway,
    *,
    organization: Organization,
    progress: Callable[[int], None] | None = None,
) -> DriftReport:
    """Read the organization's members from Auth0 and compare them with our links; no writes.

    The links are read in a short transaction of their own, never held open while Auth0 pages.

    :raises Auth0Error: When Auth0 cannot be read (the organization does not exist, 429, ...).
    """
    assert organization.id is not None
    org_id = await patiently(lambda: auth0_org_id(gateway, organization))
    async with database.session() as session:
        links = await org_links(session, org_id=organization.id)
    members = await read_members(gateway, org_id, progress=progress)
    deleted = await deleted_users(gateway, lookup_candidates(links, members))
    return DriftReport(
        org_key=organization.key,
        auth0_org_id=org_id,
        members=len(members),
        links=len(links),
        findings=tuple(compare(links, members, deleted=deleted)),
        observed=members,
        deleted=deleted,
    )


async def record_drift(
    database: Database,
    report: DriftReport,
    *,
    organization: Organization,
    now: datetime,
    repair: bool,
    actor: str | None = None,
) -> DriftReport:
    """Log every finding; with ``repair``, correct our links and queue their users.

    One transaction: each link to repair is read again under lock and corrected from what
    Auth0 held (:func:`as_observed`), so a step the worker confirmed meanwhile is kept.

    :return: The report with ``repaired`` filled in.
    """
    assert organization.id is not None
    repaired: list[str] = []
    async with database.session() as session:
        for finding in report.findings:
            await append_event(
                session,
                org_id=organization.id,
                source=SOURCE,
                actor=actor,
                kind=f"reconcile.{finding.kind}",
                outcome="error" if finding.ours else "skipped",
                summary=finding.summary,
                at=now,
                scim_id=finding.scim_id,
                email=finding.email,
                auth0_user_id=finding.auth0_user_id,
                details=finding.to_json(),
            )
        for scim_id in report.to_repair if repair else ():
            link = await get_link(session, org_id=organization.id, scim_id=scim_id, for_update=True)
            before = AppliedState.from_json(link.applied)
            user_id = before.auth0_user_id
            deleted = user_id is not None and user_id in report.deleted
            member = report.observed.get(user_id) if user_id is not None else None
            after = as_observed(before, member, deleted=deleted)
            link.applied = after.to_json()
            link.auth0_user_id = after.auth0_user_id
            link.updated_at = now
            session.add(link)
            await bump(session, org_id=organization.id, scim_ids=[scim_id], now=now)
            await append_event(
                session,
                org_id=organization.id,
                source=SOURCE,
                actor=actor,
                kind="reconcile.repair",
                summary=repair_summary(f for f in report.findings if f.scim_id == scim_id),
                at=now,
                scim_id=scim_id,
                email=link.desired.get("email"),
                auth0_user_id=user_id,
                details={"applied_before": before.to_json(), "applied_after": after.to_json()},
            )
            repaired.append(scim_id)
        await append_event(
            session,
            org_id=organization.id,
            source=SOURCE,
            actor=actor,
            kind="reconcile.checked",
            summary=checked_summary(report, repaired),
            at=now,
            details={
                "members": report.members,
                "links": report.links,
                "findings": len(report.findings),
                "repaired": len(repaired),
            },
        )
        await session.commit()
    return replace(report, repaired=tuple(repaired))


async def run_repairs(
    worker: Worker,
    report: DriftReport,
    *,
    organization: Organization,
    now: datetime,
    lease: timedelta = timedelta(seconds=60),
) -> DriftReport:
    """Reconcile the repaired users now, through the worker (rate-limited, checkpointed, logged).

    A user whose task a running worker holds is left to it.

    :return: The report with ``reconciled`` filled in.
    """
    assert organization.id is not None
    async with worker.database.session() as session:
        tasks = await claim_users(
            session,
            org_id=organization.id,
            scim_ids=report.repaired,
            worker=worker.name,
            now=now,
            lease=lease,
        )
        await session.commit()
    for task in tasks:
        await worker.reconcile(task)
    return replace(report, reconciled=len(tasks))
