"""The tenancy of the SCIM endpoints: who is calling, which organization, which profile.

The web layer asks this object for everything below it, so that it never touches the
database or the mapping profiles itself.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from scim_server.config import Settings
from scim_server.intake.request_log import ScimWrite
from scim_server.intake.request_log import record_scim_write
from scim_server.intake.store import ProvisioningStorage
from scim_server.mapping.profile import MappingProfile
from scim_server.mapping.profile import load_profiles
from scim_server.protocol.provisioning import Provisioning
from scim_server.protocol.service import OrgScimService
from scim_server.storage.database import Database
from scim_server.storage.database import Session
from scim_server.storage.tables import Organization
from scim_server.storage.tables import utcnow
from scim_server.storage.tokens import Bearer
from scim_server.storage.tokens import authenticate

DEFAULT_PROFILE = "generic"


@dataclass
class Tenancy:
    """The database, the mapping profiles and the per-profile SCIM services of the endpoints."""

    database: Database
    services: Mapping[str, OrgScimService]
    profiles: Mapping[str, MappingProfile]

    @classmethod
    def open(cls, settings: Settings) -> "Tenancy":
        """Build the engine and one service per mapping profile; a bad profile stops start-up.

        Every service declares the read-only provisioning extension of Users.
        """
        profiles = load_profiles(settings.mappings_dir)
        services = {
            name: OrgScimService(profile, user_extensions=[Provisioning])
            for name, profile in profiles.items()
        }
        return cls(
            database=Database.open(settings.database_url), services=services, profiles=profiles
        )

    async def close(self) -> None:
        """Release the database connections."""
        await self.database.close()

    @property
    def default_service(self) -> OrgScimService:
        """The service answering requests before their organization is known (a 401, say)."""
        return self.services[DEFAULT_PROFILE]

    def session(self) -> Session:
        """Open a session; the caller commits."""
        return self.database.session()

    async def authenticate(
        self, session: Session, *, org_key: str, token: str, now: datetime | None = None
    ) -> Bearer | None:
        """Return the organization of the URL (and the token's name) for one of its live tokens."""
        if not token:
            return None
        bearer = await authenticate(session, org_key=org_key, token=token, now=now or utcnow())
        await session.commit()  # keep last_used_at even when the request itself fails
        return bearer

    def service_for(self, org: Organization) -> OrgScimService:
        """Return the SCIM service of an organization's mapping profile."""
        return self.services[org.profile]

    def storage(
        self,
        session: Session,
        org: Organization,
        *,
        request_id: str | None = None,
        actor: str | None = None,
    ) -> ProvisioningStorage:
        """Return the storage of one organization's resources, which also queues provisioning.

        :param request_id: The SCIM request's id, recorded in the mapping log.
        :param actor: Who makes the request (a token name), recorded in the mapping log.
        """
        assert org.id is not None
        return ProvisioningStorage(
            session,
            org_id=org.id,
            provider=self.service_for(org).provider,
            profile=self.profiles[org.profile],
            request_id=request_id,
            actor=actor,
        )

    async def record_write(
        self, session: Session, bearer: Bearer, write: ScimWrite, *, request_id: str
    ) -> None:
        """Append the mapping-log event of one SCIM write of the bearer's organization."""
        org = bearer.organization
        assert org.id is not None
        await record_scim_write(
            session,
            org_id=org.id,
            profile=self.profiles[org.profile],
            write=write,
            at=utcnow(),
            request_id=request_id,
            actor=bearer.token_name,
        )
