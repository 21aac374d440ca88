"""What the protocol layer reads from a mapping profile, as a structural type.

``protocol`` and ``mapping`` are sibling layers that do not import each other (import-linter,
DESIGN §2), so the protocol names the three things it needs and ``mapping.MappingProfile``
provides them without either side knowing the other.
"""

from typing import Protocol

from scim2_models import ScimPolicy


class ToleranceProfile(Protocol):
    """A profile as the SCIM protocol sees it: a name, a policy and the shims it turns on."""

    @property
    def id(self) -> str:
        """The profile name, such as ``entra``."""
        ...

    @property
    def scim_policy(self) -> ScimPolicy:
        """How much the IdP's payloads may depart from RFC 7643/7644."""
        ...

    @property
    def enabled_shims(self) -> frozenset[str]:
        """The names of the request rewrites of ``protocol/shims.py`` the IdP needs."""
        ...
