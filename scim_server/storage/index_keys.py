"""How long an indexed value may be, so that a long one is a 400 on every database, never a 500.

A PostgreSQL B-tree entry holds at most 2704 bytes (a third of a page); SQLite has no such
limit, so without one a 3,000-character ``userName`` would be stored on SQLite and fail with
a 500 on PostgreSQL. :data:`MAX_KEY_LENGTH` characters of at most 4 UTF-8 bytes each, plus the
organization and resource type, fit. No IdP sends longer keys: an email address has at most
254 characters (RFC 5321 §4.5.3.1), an Entra UPN 113, a group name 256.
"""

from scim2_models import InvalidValueException

MAX_KEY_LENGTH = 512


def check_key_length(attribute: str, value: str | None) -> None:
    """Refuse a value of an indexed attribute (userName, externalId, email, displayName) too long to index.

    :raises scim2_models.InvalidValueException: When it has more than :data:`MAX_KEY_LENGTH`
        characters (RFC 7644 §3.12).
    """
    if value is not None and len(value) > MAX_KEY_LENGTH:
        raise InvalidValueException(
            detail=f"{attribute} has {len(value)} characters; at most {MAX_KEY_LENGTH} are stored"
        )


def log_key(value: str | None) -> str | None:
    """Return a key as the mapping log indexes it: its first :data:`MAX_KEY_LENGTH` characters.

    >>> len(log_key("x" * 3000)), log_key(None)
    (512, None)
    """
    return None if value is None else value[:MAX_KEY_LENGTH]
