"""Settings read from the environment; the composition roots build one, nothing else does."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings
from pydantic_settings import SettingsConfigDict


class ConfigError(ValueError):
    """The configuration cannot describe a working server; raised at start-up, never sent to a client."""


def default_mappings_dir() -> Path:
    """Return the mapping profiles shipped in the wheel, or the repository's own in a checkout."""
    shipped = Path(__file__).parent / "_mappings"
    if shipped.is_dir():
        return shipped
    return Path(__file__).parent.parent / "mappings"


class Settings(BaseSettings):
    """Everything the server reads from its environment (DESIGN §9)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///scim-server.db", validation_alias="SCIM_DATABASE_URL"
    )
    """SQLAlchemy URL; ``postgresql://`` and ``sqlite://`` get their async driver added."""

    mappings_dir: Path = Field(
        default_factory=default_mappings_dir, validation_alias="SCIM_MAPPINGS_DIR"
    )
    public_url: str | None = Field(default=None, validation_alias="SCIM_PUBLIC_URL")
    """The URL clients reach the server at, when it differs from the Host header (a proxy)."""

    max_body_bytes: int = Field(default=1_048_576, validation_alias="SCIM_MAX_BODY_BYTES")

    auth0_domain: str | None = Field(default=None, validation_alias="AUTH0_DOMAIN")
    auth0_client_id: str | None = Field(default=None, validation_alias="AUTH0_CLIENT_ID")
    auth0_client_secret: str | None = Field(default=None, validation_alias="AUTH0_CLIENT_SECRET")
    auth0_management_url: str | None = Field(default=None, validation_alias="AUTH0_MANAGEMENT_URL")
    auth0_max_rps: float = Field(default=2.0, validation_alias="AUTH0_MAX_RPS")
    auth0_invitation_client_id: str | None = Field(
        default=None, validation_alias="AUTH0_INVITATION_CLIENT_ID"
    )
    """The application whose login route invitations open (organizations in mode ``invite``)."""
    auth0_inviter_name: str = Field(
        default="Your administrator", validation_alias="AUTH0_INVITER_NAME"
    )

    hook_secret: str | None = Field(default=None, validation_alias="SCIM_HOOK_SECRET")
    """The shared secret the Auth0 post-login Action sends to ``POST /hooks/auth0/login``."""
    worker_concurrency: int = Field(default=8, ge=1, validation_alias="SCIM_WORKER_CONCURRENCY")
    """Reconciles the worker runs at once."""

    @property
    def auth0_configured(self) -> bool:
        """Tell whether the Management API credentials are set, so that a worker can run."""
        return bool(
            (self.auth0_management_url or self.auth0_domain)
            and self.auth0_client_id
            and self.auth0_client_secret
        )
