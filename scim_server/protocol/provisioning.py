"""The read-only User extension that shows a user's provisioning state in Auth0 (DESIGN §5).

Every User carries it, so that an IdP admin (or anyone holding the organization's token) can
see from SCIM alone whether a person made it into the Auth0 Organization. Its values are
filled by the provisioning layer from the user's identity link; every attribute is
``readOnly``, so values a client sends are ignored (RFC 7644 §3.5.1: "readOnly" values
provided SHALL be ignored).
"""

from datetime import datetime
from typing import Annotated

from scim2_models import URN
from scim2_models import CaseExact
from scim2_models import Extension
from scim2_models import Mutability
from scim2_models import Returned

PROVISIONING_SCHEMA = "urn:ietf:params:scim:schemas:extension:scim-server:2.0:Provisioning"


class Provisioning(Extension):
    """Provisioning state of the User in Auth0."""

    __schema__ = URN(PROVISIONING_SCHEMA)

    state: Annotated[str | None, Mutability.read_only, Returned.default, CaseExact.true] = None
    """pending, synced, awaiting_login, invited, error or deprovisioned."""

    auth0_user_id: Annotated[str | None, Mutability.read_only, Returned.default, CaseExact.true] = (
        None
    )
    """The Auth0 user_id the User is linked to."""

    last_synced_at: Annotated[datetime | None, Mutability.read_only, Returned.default] = None
    """When Auth0 last confirmed the User's desired state."""

    last_error: Annotated[str | None, Mutability.read_only, Returned.default] = None
    """Why the last attempt to provision the User failed, if it did."""

    roles: Annotated[list[str] | None, Mutability.read_only, Returned.default] = None
    """The Auth0 organization roles scim-server assigned to the User."""
