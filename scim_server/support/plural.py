"""Counts in sentences for people: "1 member", "2 members", "0 identity links"."""


def plural(count: int, noun: str, many: str | None = None) -> str:
    """Return the count and the noun, in the plural unless the count is one.

    >>> plural(1, "member"), plural(2, "member"), plural(0, "identity link")
    ('1 member', '2 members', '0 identity links')
    >>> plural(3, "user", "users are")
    '3 users are'
    """
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {many or noun + 's'}"
