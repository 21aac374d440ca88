"""The closed set of named transforms a mapping profile may apply to a SCIM value.

A profile names a transform; it never carries an expression (STYLE §4.4: a config language must
not grow into a programming language). Each transform is a pure function on the JSON value a
SCIM path yields from a dumped resource, reviewed and tested here.
"""

from collections.abc import Callable
from enum import StrEnum
from typing import Any


class Transform(StrEnum):
    """The name of a transform, as a profile writes it."""

    primary_value = "primary_value"
    """The ``value`` of the entry marked ``primary`` of a multi-valued attribute, else of its first entry."""

    primary_email = "primary_email"
    """The primary email address, else the ``work`` one, else the first one (RFC 7643 §4.1.2)."""

    lowercase = "lowercase"
    """A string in lowercase, as Auth0 compares emails."""

    @property
    def needs_multivalued(self) -> bool:
        """Tell whether the transform reads a multi-valued attribute, so a profile must give it one."""
        return self in {Transform.primary_value, Transform.primary_email}


def primary_value(value: Any) -> Any:
    """Return the value of the primary entry of a multi-valued attribute, else of its first entry.

    >>> primary_value([{"value": "a"}, {"value": "b", "primary": True}])
    'b'
    >>> primary_value([{"value": "a"}]), primary_value([]), primary_value(None)
    ('a', None, None)
    """
    entries = [entry for entry in value or [] if isinstance(entry, dict)]
    chosen = next((entry for entry in entries if entry.get("primary") is True), None)
    if chosen is None and entries:
        chosen = entries[0]
    return None if chosen is None else chosen.get("value")


def primary_email(value: Any) -> Any:
    """Return the primary email, else the work email, else the first one.

    Okta marks one email primary; Entra sends ``type: "work"`` and sometimes no ``primary``.

    >>> primary_email([{"value": "h@x.org", "type": "home"}, {"value": "w@x.org", "type": "work"}])
    'w@x.org'
    >>> primary_email([{"value": "h@x.org", "type": "home", "primary": True}, {"value": "w@x.org", "type": "work"}])
    'h@x.org'
    """
    entries = [entry for entry in value or [] if isinstance(entry, dict)]
    for entry in entries:
        if entry.get("primary") is True:
            return entry.get("value")
    for entry in entries:
        if str(entry.get("type", "")).casefold() == "work":
            return entry.get("value")
    return entries[0].get("value") if entries else None


def lowercase(value: Any) -> Any:
    """Return a string in lowercase, and anything else unchanged.

    >>> lowercase("BJensen@Example.com"), lowercase(None)
    ('bjensen@example.com', None)
    """
    return value.lower() if isinstance(value, str) else value


TRANSFORMS: dict[Transform, Callable[[Any], Any]] = {
    Transform.primary_value: primary_value,
    Transform.primary_email: primary_email,
    Transform.lowercase: lowercase,
}


def apply_transform(transform: Transform | None, value: Any) -> Any:
    """Apply a named transform to a value, or return it unchanged when there is none.

    >>> apply_transform(Transform.lowercase, "ABC"), apply_transform(None, "ABC")
    ('abc', 'ABC')
    """
    if transform is None:
        return value
    return TRANSFORMS[transform](value)
