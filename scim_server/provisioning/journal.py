"""The worker's reads and writes of identity links: a job in, each confirmed step out.

Each confirmed step is committed on its own (``applied``, the Auth0 identity and one mapping
event), so that what Auth0 did is on record before the next call: a crash between two steps
loses nothing, and the next reconcile plans only what is left (DESIGN §6).
"""

from datetime import datetime

from scim_server.provisioning.desired import DesiredState
from scim_server.provisioning.planner import AppliedState
from scim_server.provisioning.reconciler import Confirmed
from scim_server.provisioning.reconciler import Identity
from scim_server.provisioning.reconciler import Job
from scim_server.provisioning.reconciler import Outcome
from scim_server.storage.database import Database
from scim_server.storage.database import Session
from scim_server.storage.events import append_event
from scim_server.storage.links import LinkNotFound
from scim_server.storage.links import get_link
from scim_server.storage.queue import ClaimedTask
from scim_server.storage.tables import IdentityLink
from scim_server.storage.tables import Organization

#: States a reconcile leaves a link in that mean it is done for now.
SETTLED_STATES = frozenset({"synced", "deprovisioned"})


class Journal:
    """Loads jobs and records what the reconciles confirmed, in the database of the worker."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def load(self, task: ClaimedTask) -> Job | None:
        """Return the job of a claimed task, or ``None`` when its user has no link (nothing to do)."""
        async with self.database.session() as session:
            org = await session.get(Organization, task.org_id)
            try:
                link = await get_link(session, org_id=task.org_id, scim_id=task.scim_id)
            except LinkNotFound:
                return None
            if org is None:
                return None
            return Job(
                scim_id=task.scim_id,
                auth0_org=org.auth0_org,
                connection=org.connection,
                mode=org.identity_mode,
                desired=DesiredState.from_json(link.desired),
                applied=AppliedState.from_json(link.applied),
                identity=Identity(owned=link.owned, link_method=link.link_method),
            )

    async def confirm(
        self,
        task: ClaimedTask,
        job: Job,
        applied: AppliedState,
        identity: Identity,
        step: Confirmed,
        *,
        now: datetime,
    ) -> None:
        """Commit one step Auth0 confirmed: the applied state, the identity, one event."""
        async with self.database.session() as session:
            link = await get_link(
                session, org_id=task.org_id, scim_id=task.scim_id, for_update=True
            )
            link.applied = applied.to_json()
            link.auth0_user_id = applied.auth0_user_id
            link.invitation_id = applied.invitation_id
            link.owned = identity.owned
            link.link_method = identity.link_method
            link.updated_at = now
            session.add(link)
            await append_event(
                session,
                org_id=task.org_id,
                source="worker",
                kind=f"auth0.{step.kind}",
                summary=step.summary,
                at=now,
                scim_id=task.scim_id,
                email=job.desired.email,
                auth0_user_id=applied.auth0_user_id,
                details=step.details,
            )
            await session.commit()

    async def settle(
        self, session: Session, task: ClaimedTask, outcome: Outcome, *, now: datetime
    ) -> None:
        """Record where a reconcile ended (in the caller's transaction, with the task's fate)."""
        link = await get_link(session, org_id=task.org_id, scim_id=task.scim_id, for_update=True)
        changed = link.state != outcome.state or link.last_error is not None
        link.state = outcome.state
        link.last_error = None
        if outcome.state in SETTLED_STATES:
            link.last_synced_at = now
        link.updated_at = now
        session.add(link)
        if changed:
            await _log(session, link, now=now, kind="sync.state", summary=f"now {outcome.state}")

    async def fail(
        self, session: Session, task: ClaimedTask, error: str, *, state: str | None, now: datetime
    ) -> None:
        """Record a failed reconcile (in the caller's transaction, with its reschedule)."""
        link = await get_link(session, org_id=task.org_id, scim_id=task.scim_id, for_update=True)
        link.last_error = error
        if state is not None:
            link.state = state
        link.updated_at = now
        session.add(link)
        await _log(session, link, now=now, kind="sync.failed", summary=error, outcome="error")


async def _log(
    session: Session,
    link: IdentityLink,
    *,
    now: datetime,
    kind: str,
    summary: str,
    outcome: str = "ok",
) -> None:
    await append_event(
        session,
        org_id=link.org_id,
        source="worker",
        kind=kind,
        summary=summary,
        outcome=outcome,
        at=now,
        scim_id=link.scim_id,
        email=link.desired.get("email") if isinstance(link.desired, dict) else None,
        auth0_user_id=link.auth0_user_id,
    )
