"""The User resource every organization serves: scim2-models' ``User``, email values kept as sent.

scim2-models types ``emails.value`` as pydantic's ``EmailStr``, which does two things an IdP
cannot live with:

* it refuses the special-use domains of RFC 6761 and RFC 6762 (``.local``, ``.test``,
  ``.invalid``, ``.localhost``...) with a 400, so the whole user is refused. Okta's SCIM 2.0
  reference provisions ``test.user@okta.local`` (idp-quirks §4.1), on-premises Active Directory
  forests synced to Entra often use ``.local``, and Entra quarantines a job whose creations fail
  (idp-quirks §5.6);
* it rewrites the domain in lowercase, where Entra requires values to be stored exactly as sent
  and its validator compares the echo (idp-quirks §5.7).

RFC 7643 §4.1.2 only says the value SHOULD follow RFC 5321, so the value is a string, as sent.
Everything else, ``/Schemas`` included, is scim2-models' ``User``.
"""

from scim2_models import Email as ScimEmail
from scim2_models import User as ScimUser


class Email(ScimEmail):
    """An email address of a User, whose value is kept exactly as the client sent it."""

    value: str | None = None
    """Email addresses for the user."""


# The docstring is published as the schema's description on /Schemas: RFC 7643 §8.7.1's text.
class User(ScimUser):  # type: ignore[type-arg]
    """User Account."""

    emails: list[Email] | None = None  # type: ignore[assignment]
    """Email addresses for the user."""
