"""Who an organization login through an enterprise connection with SCIM finds (auth0.md §13).

At login Auth0 derives the ``user_id`` from what the IdP asserts (the SAML NameID, the OIDC
``sub``; Entra's ``oid``) exactly as Inbound SCIM derives it from the ``user_id_attribute``:
``{strategy}|{connection name}|{value}``. With a SCIM configuration on the connection, users are
provisioned by SCIM, not just in time: a login that matches no user fails. These helpers are
what ``Tenant.log_in`` needs to model that; they change nothing.
"""

from typing import Any

from scim_server.sandbox import errors
from scim_server.sandbox.tenant import Tenant

JIT_DISABLED = "JIT user provisioning is disabled for this connection"


def enterprise_user_id(connection: dict[str, Any], asserted_id: str) -> str:
    """Return the ``user_id`` Auth0 gives a login through an enterprise connection.

    >>> enterprise_user_id({"strategy": "samlp", "name": "acme-sso"}, "jdoe@acme.com")
    'samlp|acme-sso|jdoe@acme.com'
    """
    return f"{connection['strategy']}|{connection['name']}|{asserted_id}"


def jit_disabled() -> errors.ManagementError:
    """Return the refusal of a login that matches no SCIM-provisioned user.

    It is shaped like the emulator's other refusals (an ``access_denied`` 403) so the admin
    login surface reports it unchanged; Auth0 shows it on its error page.
    """
    return errors.ManagementError(403, JIT_DISABLED, "access_denied")


def provisioned_user(
    tenant: Tenant, connection: dict[str, Any], asserted_id: str
) -> dict[str, Any] | None:
    """Return the existing user a login through ``connection`` finds, if any.

    :return: ``None`` only when the connection has no SCIM configuration, so the login may
        create the user just in time.
    :raises errors.ManagementError: :func:`jit_disabled`, when the connection is provisioned by
        SCIM and no user has the derived ``user_id``.
    """
    user = tenant.users.get(enterprise_user_id(connection, asserted_id))
    if user is None and connection["id"] in tenant.inbound_scim.configurations:
        raise jit_disabled()
    return user
