"""Settings read from the environment; the composition roots build one, nothing else does."""

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic import SecretStr
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

    rate_limit: float = Field(default=100.0, ge=0, validation_alias="SCIM_RATE_LIMIT")
    """Requests per second one organization may make on SCIM, and one caller on the admin
    API, sustained; 0 turns the limit off (``web/rate_limits.py``)."""
    rate_burst: int = Field(default=500, ge=0, validation_alias="SCIM_RATE_BURST")
    """Requests above the sustained rate accepted in a burst."""
    auth_failure_limit: float = Field(
        default=30.0, ge=0, validation_alias="SCIM_AUTH_FAILURE_LIMIT"
    )
    """Failed authentications per minute one client address may make before 429s; 0: off."""

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

    secret_key: SecretStr | None = Field(default=None, validation_alias="SCIM_SECRET_KEY")
    """Fernet keys, comma-separated, the newest first: they encrypt the Auth0 SCIM tokens that
    organizations in mode ``relay`` keep (``storage/secret_box.py``)."""

    hook_secret: str | None = Field(default=None, validation_alias="SCIM_HOOK_SECRET")
    """The shared secret the Auth0 post-login Action sends to ``POST /hooks/auth0/login``."""
    worker_concurrency: int = Field(default=8, ge=1, validation_alias="SCIM_WORKER_CONCURRENCY")
    """Reconciles the worker runs at once."""

    log_retention_days: int = Field(default=400, ge=0, validation_alias="SCIM_LOG_RETENTION_DAYS")
    """Mapping-log events older than this are purged by the worker; 0 keeps them forever."""
    log_format: Literal["json", "text"] = Field(default="json", validation_alias="SCIM_LOG_FORMAT")
    """Process logs (not the mapping log): one JSON object per line, or plain text for people."""
    log_level: str = Field(default="INFO", validation_alias="SCIM_LOG_LEVEL")

    admin_audience: str | None = Field(default=None, validation_alias="SCIM_ADMIN_AUDIENCE")
    """The Auth0 API identifier admin access tokens are issued for; unset, only operator tokens
    are accepted by the admin API."""
    admin_issuer: str | None = Field(default=None, validation_alias="SCIM_ADMIN_ISSUER")
    """Issuer of admin access tokens; defaults to ``https://{AUTH0_DOMAIN}/``."""
    admin_jwks_url: str | None = Field(default=None, validation_alias="SCIM_ADMIN_JWKS_URL")
    """Where the signing keys are; defaults to ``{issuer}.well-known/jwks.json``."""
    admin_roles_claim: str = Field(
        default="https://scim-server/roles", validation_alias="SCIM_ADMIN_ROLES_CLAIM"
    )
    """The custom claim a post-login Action fills with the user's organization role names."""

    @property
    def auth0_configured(self) -> bool:
        """Tell whether the Management API credentials are set, so that a worker can run."""
        return bool(
            (self.auth0_management_url or self.auth0_domain)
            and self.auth0_client_id
            and self.auth0_client_secret
        )

    @property
    def admin_token_issuer(self) -> str | None:
        """Return the issuer admin access tokens must carry, if Auth0 logins are configured.

        >>> Settings(AUTH0_DOMAIN="t.eu.auth0.com").admin_token_issuer
        'https://t.eu.auth0.com/'
        """
        if self.admin_issuer:
            return self.admin_issuer
        return f"https://{self.auth0_domain}/" if self.auth0_domain else None

    @property
    def admin_token_jwks_url(self) -> str | None:
        """Return where the signing keys of admin access tokens are published."""
        if self.admin_jwks_url:
            return self.admin_jwks_url
        issuer = self.admin_token_issuer
        return f"{issuer.rstrip('/')}/.well-known/jwks.json" if issuer else None
