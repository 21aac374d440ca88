"""Linking users who wait for their first login, when Auth0's post-login Action reports one.

In mode ``link`` the Auth0 user of an enterprise connection exists only after its first login
(auth0.md §0.1). The SCIM user waits in state ``awaiting_login``; the Action's call (web/hooks.py)
names the Auth0 user, its email, organization and connection. Every waiting user of that
organization with that email (case-insensitively) and that connection is linked to it: not
owned (we did not create it), so never re-profiled nor blocked. Its task is bumped so that the
worker adds membership and roles.
"""

from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime

from scim_server.provisioning.planner import AppliedState
from scim_server.storage.database import Session
from scim_server.storage.events import append_event
from scim_server.storage.links import links_by_email
from scim_server.storage.organizations import list_organizations
from scim_server.storage.queue import bump

AWAITING_LOGIN = "awaiting_login"


@dataclass(frozen=True)
class Login:
    """One login the Action reported."""

    user_id: str
    email: str
    org_id: str
    org_name: str | None
    connection: str


async def link_login(session: Session, login: Login, *, now: datetime | None = None) -> int:
    """Link the users awaiting this login and queue their reconcile; return how many.

    Works in the caller's transaction; the caller commits, then wakes the worker.
    """
    moment = now or datetime.now(UTC)
    names = {login.org_id, login.org_name} - {None}
    linked = 0
    for org in await list_organizations(session):
        if org.auth0_org not in names or org.connection != login.connection:
            continue
        assert org.id is not None
        waiting = await links_by_email(
            session, org_id=org.id, email=login.email, state=AWAITING_LOGIN
        )
        for link in waiting:
            applied = AppliedState.from_json(link.applied)
            link.applied = replace(applied, auth0_user_id=login.user_id).to_json()
            link.auth0_user_id = login.user_id
            link.link_method = "login_hook"
            link.owned = False
            link.state = "pending"
            link.updated_at = moment
            session.add(link)
            await append_event(
                session,
                org_id=org.id,
                source="hook",
                kind="identity.linked",
                summary=f"{login.email} logged in through {login.connection}: linked to {login.user_id}",
                at=moment,
                scim_id=link.scim_id,
                email=login.email,
                auth0_user_id=login.user_id,
            )
        await bump(session, org_id=org.id, scim_ids=[link.scim_id for link in waiting], now=moment)
        linked += len(waiting)
    return linked
