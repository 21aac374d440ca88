"""Organizations with tokens, made through the same storage functions the CLI uses."""

from dataclasses import dataclass

from scim_server.storage.database import Database
from scim_server.storage.organizations import create_organization
from scim_server.storage.tokens import issue_token


@dataclass(frozen=True)
class Tenant:
    """An organization as a SCIM client knows it: its key and one of its tokens."""

    key: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def base(self) -> str:
        return f"/scim/v2/{self.key}"


async def add_tenant(database: Database, key: str, *, profile: str = "generic") -> Tenant:
    """Create an organization and issue it a token."""
    async with database.session() as session:
        org = await create_organization(
            session,
            key=key,
            auth0_org=f"org_{key}",
            connection="Username-Password-Authentication",
            profile=profile,
        )
        _, token = await issue_token(session, org=org, name="test", expires_in=None)
        await session.commit()
    return Tenant(key=key, token=token)
