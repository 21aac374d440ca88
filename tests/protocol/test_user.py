"""The User model: email values kept exactly as sent, the published schema unchanged."""

import pytest
from scim2_models import User as ScimUser

from scim_server.protocol.user import User
from tests.protocol.conftest import Driver
from tests.protocol.conftest import a_user


@pytest.mark.parametrize(
    "email",
    [
        "test.user@okta.local",  # Okta's SCIM 2.0 reference
        "kjensen@corp.contoso.local",  # on-premises Active Directory forests
        "qa@staging.test",
        "Kim.Jensen@Contoso.COM",
    ],
)
def test_email_values_of_any_domain_are_kept_as_sent(any_profile: Driver, email: str) -> None:
    user = any_profile.create(
        "User", a_user(emails=[{"value": email, "type": "work", "primary": True}])
    )
    assert any_profile.dump(user)["emails"] == [{"value": email, "type": "work", "primary": True}]


def test_the_published_user_schema_is_scim2_models_one() -> None:
    ours = User.to_schema().model_dump()
    theirs = ScimUser.to_schema().model_dump()
    assert ours["description"] == "User Account."
    assert {**ours, "description": None} == {**theirs, "description": None}
