"""Identifiers in Auth0's formats (auth0.md §9): ``auth0|<24 hex>``, ``org_<16 alnum>`` and so on."""

import secrets
import string

_ALPHANUMERIC = string.ascii_letters + string.digits


def hex_id() -> str:
    """Return a 24-hex-digit id, the shape of a database user's id after ``auth0|``."""
    return secrets.token_hex(12)


def prefixed_id(prefix: str) -> str:
    """Return ``<prefix>_`` followed by 16 letters and digits, as Auth0 mints entity ids."""
    return prefix + "_" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(16))


def ticket() -> str:
    """Return a 32-character invitation ticket."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(32))
