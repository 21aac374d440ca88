"""A worker on the emulator with a fake clock, and desired states written as the SCIM path does."""

from datetime import datetime

from scim_server.auth0_gateway import ManagementApiGateway
from scim_server.provisioning.batching import MemberBatcher
from scim_server.provisioning.desired import DesiredState
from scim_server.provisioning.directory import Auth0Directory
from scim_server.provisioning.effects import Auth0Effects
from scim_server.provisioning.reconciler import InvitationSettings
from scim_server.provisioning.reconciler import Reconciler
from scim_server.provisioning.worker import Worker
from scim_server.storage.database import Database
from scim_server.storage.links import put_desired
from scim_server.storage.queue import bump
from tests.helpers.clock import FakeClock

TEST_INVITATIONS = InvitationSettings(client_id="app", inviter_name="Tests")


def fake_clock_worker(
    database: Database,
    gateway: ManagementApiGateway,
    clock: FakeClock,
    *,
    name: str = "w1",
    invitations: InvitationSettings = TEST_INVITATIONS,
) -> Worker:
    """Return a worker whose back-offs and batching lingers pass on ``clock`` (no jitter)."""
    effects = Auth0Effects(
        gateway,
        Auth0Directory(gateway, monotonic=clock.monotonic),
        MemberBatcher(gateway, linger=1),
    )
    return Worker(
        database=database,
        reconciler=Reconciler(effects, invitations),
        clock=clock,
        random_source=lambda: 0.5,
        name=name,
    )


async def want(
    database: Database,
    *,
    org_id: int,
    scim_id: str,
    email: str,
    roles: tuple[str, ...],
    now: datetime,
    member: bool = True,
    profile: dict[str, str] | None = None,
) -> None:
    """Store a desired state and queue its user, as a SCIM write does (each role cited)."""
    desired = DesiredState(
        linked=True,
        member=member,
        roles={name: (f"test@1:{name}",) for name in roles} if member else {},
        profile=profile or {},
        email=email,
    )
    async with database.session() as session:
        await put_desired(
            session, org_id=org_id, scim_id=scim_id, desired=desired.to_json(), now=now
        )
        await bump(session, org_id=org_id, scim_ids=[scim_id], now=now)
        await session.commit()
