"""Checks that a path a profile names is an attribute of the SCIM User an IdP sends."""

from typing import Any

from scim2_models import EnterpriseUser
from scim2_models import InvalidPathException
from scim2_models import Path
from scim2_models import User

PROFILE_USER: Any = User[EnterpriseUser]
"""The User a profile reads: the core schema and the enterprise extension (RFC 7643 §4)."""


def check_user_path(text: str) -> bool:
    """Return whether a SCIM path designates a multi-valued attribute of the User.

    Names are case-insensitive (RFC 7643 §2.1) and may be URN-qualified.

    >>> check_user_path("name.givenName"), check_user_path("emails")
    (False, True)

    :raises ValueError: When the path does not parse or names no User attribute, so that a typo
        fails at start-up rather than mapping nothing.
    """
    try:
        binding = Path[PROFILE_USER](text).resolve()
    except InvalidPathException as error:
        raise ValueError(f"{text!r} is not a SCIM path: {error.detail}") from None
    if binding is None:
        raise ValueError(f"{text!r} is not an attribute of the SCIM User")
    return bool(binding.is_multivalued and binding.sub_field_name is None)
