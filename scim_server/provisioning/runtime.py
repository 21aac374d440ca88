"""Building the worker of a process from its settings and its Auth0 gateway."""

from scim_server.auth0_gateway import Auth0Gateway
from scim_server.auth0_gateway import ManagementApiGateway
from scim_server.auth0_gateway import SystemClock
from scim_server.auth0_gateway import management_url_for
from scim_server.config import ConfigError
from scim_server.config import Settings
from scim_server.provisioning.batching import MemberBatcher
from scim_server.provisioning.directory import Auth0Directory
from scim_server.provisioning.effects import Auth0Effects
from scim_server.provisioning.reconciler import InvitationSettings
from scim_server.provisioning.reconciler import Reconciler
from scim_server.provisioning.worker import Worker
from scim_server.storage.database import Database


def gateway_from(settings: Settings) -> ManagementApiGateway:
    """Return the gateway ``AUTH0_*`` describe.

    :raises ConfigError: When the credentials are incomplete.
    """
    if not settings.auth0_configured:
        raise ConfigError(
            "Set AUTH0_DOMAIN (or AUTH0_MANAGEMENT_URL), AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET"
        )
    assert settings.auth0_client_id is not None and settings.auth0_client_secret is not None
    return ManagementApiGateway(
        management_url=management_url_for(
            domain=settings.auth0_domain, management_url=settings.auth0_management_url
        ),
        client_id=settings.auth0_client_id,
        client_secret=settings.auth0_client_secret,
        max_rps=settings.auth0_max_rps,
    )


def build_worker(settings: Settings, database: Database, gateway: Auth0Gateway) -> Worker:
    """Return a worker reconciling ``database``'s queue through ``gateway``."""
    clock = SystemClock()
    effects = Auth0Effects(
        gateway, Auth0Directory(gateway, monotonic=clock.monotonic), MemberBatcher(gateway)
    )
    invitations = InvitationSettings(
        client_id=settings.auth0_invitation_client_id, inviter_name=settings.auth0_inviter_name
    )
    return Worker(
        database=database,
        reconciler=Reconciler(effects, invitations),
        clock=clock,
        concurrency=settings.worker_concurrency,
        log_retention_days=settings.log_retention_days,
    )
