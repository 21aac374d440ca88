"""The only package that imports the ``auth0`` SDK: a port in our vocabulary and its implementation.

Provisioning depends on :class:`Auth0Gateway` (the port) and the error tree; the composition root
builds a :class:`ManagementApiGateway` from Settings (``management_url_for`` resolves
``AUTH0_MANAGEMENT_URL`` / ``AUTH0_DOMAIN``)::

    Auth0Error
      ├ Auth0Unavailable   (429 / 5xx / timeout / network; carries retry_after)  → retry later
      └ Auth0Rejected      (4xx)                                                 → record and stop
          ├ Auth0Conflict  (409: already exists / too many roles)                → look up, then decide
          └ Auth0NotFound  (404)
              └ Auth0ScimUnsupported  (404: the connection type has no Auth0 Inbound SCIM)

Mode ``relay`` also uses ``gateway.scim_configurations`` (a connection's SCIM configuration and
SCIM tokens) and an :class:`InboundScimClient` per connection (Auth0's SCIM endpoint).
"""

from scim_server.auth0_gateway.clock import Clock
from scim_server.auth0_gateway.clock import SystemClock
from scim_server.auth0_gateway.errors import Auth0Conflict
from scim_server.auth0_gateway.errors import Auth0Error
from scim_server.auth0_gateway.errors import Auth0NotFound
from scim_server.auth0_gateway.errors import Auth0Rejected
from scim_server.auth0_gateway.errors import Auth0ScimUnsupported
from scim_server.auth0_gateway.errors import Auth0Unavailable
from scim_server.auth0_gateway.inbound_scim import InboundScimClient
from scim_server.auth0_gateway.limiter import RateLimiter
from scim_server.auth0_gateway.management import MAX_MEMBERS_PER_CALL
from scim_server.auth0_gateway.management import ManagementApiGateway
from scim_server.auth0_gateway.management import management_url_for
from scim_server.auth0_gateway.port import Auth0Gateway
from scim_server.auth0_gateway.scim_port import ScimConfigurations
from scim_server.auth0_gateway.scim_values import SCIM_STRATEGIES
from scim_server.auth0_gateway.scim_values import InboundScimUser
from scim_server.auth0_gateway.scim_values import ScimConfiguration
from scim_server.auth0_gateway.scim_values import ScimMapping
from scim_server.auth0_gateway.scim_values import ScimToken
from scim_server.auth0_gateway.values import USER_ATTRIBUTES
from scim_server.auth0_gateway.values import Auth0Connection
from scim_server.auth0_gateway.values import Auth0Invitation
from scim_server.auth0_gateway.values import Auth0Member
from scim_server.auth0_gateway.values import Auth0Organization
from scim_server.auth0_gateway.values import Auth0Role
from scim_server.auth0_gateway.values import Auth0User

__all__ = [
    "MAX_MEMBERS_PER_CALL",
    "SCIM_STRATEGIES",
    "USER_ATTRIBUTES",
    "Auth0Conflict",
    "Auth0Connection",
    "Auth0Error",
    "Auth0Gateway",
    "Auth0Invitation",
    "Auth0Member",
    "Auth0NotFound",
    "Auth0Organization",
    "Auth0Rejected",
    "Auth0Role",
    "Auth0ScimUnsupported",
    "Auth0Unavailable",
    "Auth0User",
    "Clock",
    "InboundScimClient",
    "InboundScimUser",
    "ManagementApiGateway",
    "RateLimiter",
    "ScimConfiguration",
    "ScimConfigurations",
    "ScimMapping",
    "ScimToken",
    "SystemClock",
    "management_url_for",
]
