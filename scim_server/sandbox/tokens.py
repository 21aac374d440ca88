"""The client-credentials grant at ``POST /oauth/token`` and the bearer tokens it issues (auth0.md §1).

The endpoint takes form-encoded bodies (what ``ManagementClient``'s token provider sends) and JSON
bodies (what ``GetToken.client_credentials`` sends, with an explicit ``"organization": null``).
Errors follow RFC 6749 §5.2, ``{"error", "error_description"}``, not the Management API shape.
"""

import base64
import json
import secrets
from collections.abc import Callable
from typing import Any

#: Auth0's default Management API token lifetime (auth0.md §1).
DEFAULT_TOKEN_LIFETIME = 86_400
SCOPES = (
    "read:users create:users update:users delete:users read:organizations create:organizations "
    "read:organization_members create:organization_members delete:organization_members "
    "read:organization_member_roles create:organization_member_roles "
    "delete:organization_member_roles read:roles create:roles read:connections "
    "read:organization_connections "
    "create:organization_invitations read:organization_invitations "
    "delete:organization_invitations delete:sessions delete:refresh_tokens "
    "read:scim_config create:scim_config update:scim_config delete:scim_config "
    "read:scim_token create:scim_token delete:scim_token"
)
"""What every token grants, unless the issuer is given ``scopes`` (a tenant missing some)."""


class GrantError(Exception):
    """An OAuth 2.0 token error (RFC 6749 §5.2)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class TokenIssuer:
    """Issues bearer tokens to the one configured client and recognises them until they expire."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        clock: Callable[[], float],
        lifetime: int = DEFAULT_TOKEN_LIFETIME,
        jwt_like: bool = True,
        scopes: str = SCOPES,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._lifetime = lifetime
        self._jwt_like = jwt_like
        self._scopes = scopes
        self._expiry: dict[str, float] = {}

    def grant(self, params: dict[str, Any]) -> dict[str, Any]:
        """Answer a client-credentials request, or raise :class:`GrantError`."""
        if params.get("grant_type") != "client_credentials":
            raise GrantError(
                400, "unsupported_grant_type", f"Unsupported grant type: {params.get('grant_type')}"
            )
        if not secrets.compare_digest(str(params.get("client_id", "")), self._client_id) or not (
            secrets.compare_digest(str(params.get("client_secret", "")), self._client_secret)
        ):
            raise GrantError(401, "invalid_client", "Client authentication failed")
        audience = params.get("audience")
        if audience is not None and not str(audience).rstrip("/").endswith("/api/v2"):
            raise GrantError(403, "access_denied", f"Service not enabled within domain: {audience}")
        now = self._clock()
        token = self._mint(now, str(audience or ""))
        self._expiry[token] = now + self._lifetime
        return {
            "access_token": token,
            "expires_in": self._lifetime,
            "scope": self._scopes,
            "token_type": "Bearer",
        }

    def _mint(self, now: float, audience: str) -> str:
        if not self._jwt_like:
            return secrets.token_urlsafe(32)
        header = {"alg": "RS256", "typ": "JWT", "kid": "emulator"}
        claims = {
            "iss": "https://emulator.auth0.test/",
            "sub": f"{self._client_id}@clients",
            "aud": audience,
            "iat": int(now),
            "exp": int(now) + self._lifetime,
            "scope": self._scopes,
            "gty": "client-credentials",
            "jti": secrets.token_hex(8),
        }
        return f"{_b64(header)}.{_b64(claims)}.{secrets.token_urlsafe(32)}"

    def is_valid(self, authorization: str | None) -> bool:
        """Tell whether an ``Authorization`` header carries a live token we issued."""
        scheme, _, token = (authorization or "").partition(" ")
        expiry = self._expiry.get(token)
        return scheme.lower() == "bearer" and expiry is not None and self._clock() < expiry

    def grants(self, scope: str) -> bool:
        """Tell whether the tokens this issuer grants carry ``scope``."""
        return scope in self._scopes.split()

    def revoke_all(self) -> None:
        """Invalidate every token issued so far, as a rotated signing key would."""
        self._expiry = dict.fromkeys(self._expiry, 0.0)

    @property
    def issued(self) -> int:
        """Return how many tokens were issued, so tests can check that clients cache them."""
        return len(self._expiry)
