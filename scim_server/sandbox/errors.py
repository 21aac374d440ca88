"""Management API error bodies, exactly as Auth0 sends them (auth0.md §5.1).

Handlers raise :class:`ManagementError`; the application turns it into the JSON body
``{"statusCode", "error", "message", "errorCode"}``. ``errorCode`` is optional: real 404s for
organizations and roles omit it, and so do we.
"""

from http import HTTPStatus
from typing import Any


class ManagementError(Exception):
    """A Management API failure that becomes an Auth0-shaped error response."""

    def __init__(self, status: int, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code

    def body(self) -> dict[str, Any]:
        """Return the wire body: reason phrase, message and, when Auth0 sends one, the errorCode."""
        body: dict[str, Any] = {
            "statusCode": self.status,
            "error": HTTPStatus(self.status).phrase,
            "message": self.message,
        }
        if self.error_code is not None:
            body["errorCode"] = self.error_code
        return body


def invalid_body(detail: str) -> ManagementError:
    """Return the 400 Auth0 sends when a payload fails its JSON schema."""
    return ManagementError(400, f"Payload validation error: '{detail}'.", "invalid_body")


def user_not_found() -> ManagementError:
    """Return the real-tenant 404 for a missing user (REC-go TestUserManager_Delete)."""
    return ManagementError(404, "The user does not exist.", "inexistent_user")


def organization_not_found() -> ManagementError:
    """Return the real-tenant 404 for a missing organization; it carries no errorCode."""
    return ManagementError(404, "No organization found by that id or name")


def role_not_found() -> ManagementError:
    """Return the real-tenant 404 for a missing role; it carries no errorCode."""
    return ManagementError(404, "The role does not exist.")


def invitation_not_found() -> ManagementError:
    """Return the real-tenant 404 for a missing invitation."""
    return ManagementError(404, "The invitation does not exist.", "inexistent_invitation")


def connection_not_found() -> ManagementError:
    """Return the 404 Auth0 sends for a missing connection."""
    return ManagementError(404, "The connection does not exist", "inexistent_connection")


def invalid_token() -> ManagementError:
    """Return the 401 for a missing, unknown or expired bearer token."""
    return ManagementError(401, "Invalid token.")


def insufficient_scope(scope: str) -> ManagementError:
    """Return the 403 for a token without the scope an endpoint needs (auth0.md §9)."""
    return ManagementError(
        403, f"Insufficient scope; expected any of: {scope}.", "insufficient_scope"
    )


def too_many_requests() -> ManagementError:
    """Return the 429 body reported by the community for the global limit (auth0.md §5.1)."""
    return ManagementError(429, "Global limit has been reached", "too_many_requests")
