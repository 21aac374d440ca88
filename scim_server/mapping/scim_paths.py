"""Checks that a path a profile names is an attribute of the SCIM User an IdP sends."""

from collections.abc import Mapping
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


CORE_USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def _member(container: Any, name: str) -> Any:
    """Return a JSON object's member, its name compared case-insensitively (RFC 7643 §2.1)."""
    if not isinstance(container, Mapping):
        return None
    if name in container:
        return container[name]
    folded = name.casefold()
    return next((value for key, value in container.items() if key.casefold() == folded), None)


def value_at(document: Mapping[str, Any], text: str) -> Any:
    """Return the JSON value a SCIM path designates in a dumped User, or None.

    A sub-attribute of a multi-valued attribute yields the list of its values.

    >>> user = {"name": {"givenName": "Ada"}, "emails": [{"value": "a@x"}, {"value": "b@x"}],
    ...         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}}
    >>> value_at(user, "NAME.givenname"), value_at(user, "emails.value")
    ('Ada', ['a@x', 'b@x'])
    >>> value_at(user, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department")
    'R&D'
    """
    path = Path[PROFILE_USER](text)
    current: Any = document
    if path.schema and path.schema.casefold() != CORE_USER_SCHEMA.casefold():
        current = _member(document, path.schema)
    for part in path.parts:
        if isinstance(current, list):
            values = [_member(item, part) for item in current]
            current = [value for value in values if value is not None]
        else:
            current = _member(current, part)
        if current is None:
            return None
    return current
