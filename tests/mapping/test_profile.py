"""Every shipped profile loads; every kind of bad file is a MappingError naming the file and rule."""

from pathlib import Path

import pytest
from scim2_models import ScimPolicy

from scim_server.mapping.profile import MappingError
from scim_server.mapping.profile import load_profile
from scim_server.mapping.profile import load_profiles

MAPPINGS = Path(__file__).parents[2] / "mappings"
SHIPPED = sorted(MAPPINGS.glob("*.toml"))

MINIMAL = """
id = "acme"
version = 1

[identity]
join_key = "externalId"
email = { path = "emails", transform = "primary_email" }
"""


def write(tmp_path: Path, text: str, name: str = "acme") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_every_shipped_profile_loads(path: Path) -> None:
    profile = load_profile(path)
    assert profile.id == path.stem
    assert profile.roles, "every shipped profile grants a default role"


def test_the_four_idp_profiles_ship() -> None:
    assert sorted(load_profiles(MAPPINGS)) == ["entra", "generic", "okta", "onelogin"]


def test_entra_profile_turns_on_entra_tolerance() -> None:
    entra = load_profile(MAPPINGS / "entra.toml")
    assert entra.scim_policy.unmatched_path_filter is ScimPolicy.UnmatchedPathFilter.create
    assert {"parse_json_role_values", "quote_bare_filter_values"} <= entra.enabled_shims


def test_generic_profile_keeps_the_confusable_readings_strict() -> None:
    generic = load_profile(MAPPINGS / "generic.toml")
    assert generic.scim_policy.unknown is ScimPolicy.Unknown.forbid
    assert generic.scim_policy.unmatched_path_filter is ScimPolicy.UnmatchedPathFilter.forbid
    assert not {"parse_json_role_values", "quote_bare_filter_values"} & generic.enabled_shims


def test_a_minimal_profile_defaults_to_the_strict_reading(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, MINIMAL))
    assert (profile.scim_policy, profile.enabled_shims, profile.roles) == (
        ScimPolicy(),
        frozenset(),
        (),
    )


def test_relay_names_the_attribute_each_strategy_asserts_at_login() -> None:
    """Okta SAML asserts the username (userName), Okta OIDC and Entra ID the object id."""
    okta = load_profile(MAPPINGS / "okta.toml").relay
    entra = load_profile(MAPPINGS / "entra.toml").relay
    generic = load_profile(MAPPINGS / "generic.toml").relay

    assert (okta.user_id_attribute_for("samlp"), okta.user_id_attribute_for("okta")) == (
        "userName",
        "externalId",
    )
    assert (entra.user_id_attribute_for("waad"), entra.user_id_attribute_for("oidc")) == (
        "externalId",
        None,
    )
    assert generic.user_id_attribute_for("samlp") is None


def test_a_rule_is_cited_with_profile_and_version() -> None:
    assert load_profile(MAPPINGS / "entra.toml").cite("member") == "entra@1:member"


def test_role_rules_of_every_matcher_load(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + """
[[roles]]
id = "by-name"
when.group.display_name = "Eng Admins"
grant = ["org_admin"]

[[roles]]
id = "by-names"
when.group.display_name_in = ["org_admin", "org_billing"]
grant_matched_name = true

[[roles]]
id = "by-group-id"
when.group.external_id = "00g1abc"
grant = ["org_member"]

[[roles]]
id = "sales"
when.attribute = { path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", equals = "Sales" }
grant = ["sales"]

[[roles]]
id = "execs"
when.attribute = { path = "title", in = ["CEO", "CTO"] }
grant = ["exec"]

[[roles]]
id = "managed"
when.attribute = { path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", present = true }
grant = ["report"]

[[roles]]
id = "entra-app-role"
when.scim_role.equals = "Admin"
grant = ["org_admin"]

[[roles]]
id = "everyone"
when.default = true
grant = ["org_member"]
"""
    )
    profile = load_profile(write(tmp_path, text))
    assert [rule.id for rule in profile.roles] == [
        "by-name",
        "by-names",
        "by-group-id",
        "sales",
        "execs",
        "managed",
        "entra-app-role",
        "everyone",
    ]
    assert profile.roles[4].when.attribute is not None
    assert profile.roles[4].when.attribute.in_ == ("CEO", "CTO")


BAD_RULES = {
    "two matchers": (
        'when.default = true\nwhen.group.display_name = "X"\ngrant = ["a"]',
        "exactly one of",
    ),
    "no matcher": ('grant = ["a"]', "when"),
    "nothing granted": ("when.default = true", "must grant roles"),
    "two group criteria": (
        'when.group = { display_name = "X", external_id = "1" }\ngrant = ["a"]',
        "exactly one of",
    ),
    "unknown attribute": (
        'when.attribute = { path = "favouriteColour", equals = "blue" }\ngrant = ["a"]',
        "favouriteColour",
    ),
    "bad path syntax": (
        'when.attribute = { path = "emails[type eq", present = true }\ngrant = ["a"]',
        "not a SCIM path",
    ),
    "present false": (
        'when.attribute = { path = "title", present = false }\ngrant = ["a"]',
        "present can only be true",
    ),
    "default false": ('when.default = false\ngrant = ["a"]', "default can only be true"),
    "matched name on an id": (
        'when.group.external_id = "1"\ngrant_matched_name = true',
        "grant_matched_name",
    ),
    "unknown matcher": ('when.department = "Sales"\ngrant = ["a"]', "department"),
    "empty role name": ('when.default = true\ngrant = [""]', "grant"),
}


@pytest.mark.parametrize(("rule", "expected"), BAD_RULES.values(), ids=list(BAD_RULES))
def test_a_bad_rule_names_the_file_and_the_rule(tmp_path: Path, rule: str, expected: str) -> None:
    path = write(
        tmp_path,
        MINIMAL
        + f'\n[[roles]]\nid = "fine"\nwhen.default = true\ngrant = ["a"]\n\n[[roles]]\nid = "broken-rule"\n{rule}\n',
    )
    with pytest.raises(MappingError) as raised:
        load_profile(path)
    assert (raised.value.file, raised.value.rule) == (path, "broken-rule")
    assert str(raised.value).startswith(f"{path}: rule 'broken-rule': roles.1")
    assert expected in str(raised.value)


def test_a_rule_without_id_is_named_by_position(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + '\n[[roles]]\nwhen.default = true\ngrant = ["a"]\n')
    with pytest.raises(MappingError, match=r"rule '#1'.*id"):
        load_profile(path)


def test_a_rule_id_used_twice_is_named(tmp_path: Path) -> None:
    rule = '\n[[roles]]\nid = "twice"\nwhen.default = true\ngrant = ["a"]\n'
    with pytest.raises(MappingError, match="used twice") as raised:
        load_profile(write(tmp_path, MINIMAL + rule + rule))
    assert raised.value.rule == "twice"


BAD_FILES = {
    "not toml": ("id = ", "is not valid TOML"),
    "unknown table": (MINIMAL + "\n[extras]\nx = 1\n", "extras"),
    "unknown policy value": (MINIMAL + '\n[policy]\nunknown = "maybe"\n', "policy.unknown"),
    "unknown policy key": (
        MINIMAL + '\n[policy]\ncomparison_key = "lower"\n',
        "policy.comparison_key",
    ),
    "unknown shim": (MINIMAL + "\n[shims]\nmake_it_work = true\n", "shims.make_it_work"),
    "unknown transform": (
        MINIMAL + '\n[attributes]\ngiven_name = { path = "name.givenName", transform = "upper" }\n',
        "transform",
    ),
    "unknown auth0 field": (
        MINIMAL + '\n[attributes]\nfavourite = { path = "title" }\n',
        "not an Auth0 user field",
    ),
    "unknown scim path": (
        MINIMAL + '\n[attributes]\nname = { path = "fullName" }\n',
        "not an attribute of the SCIM User",
    ),
    "multi-valued without transform": (
        MINIMAL + '\n[attributes]\nphone_number = { path = "phoneNumbers" }\n',
        "multi-valued",
    ),
    "transform on a single value": (
        MINIMAL + '\n[attributes]\nname = { path = "displayName", transform = "primary_value" }\n',
        "needs a multi-valued",
    ),
    "relay strategy without scim": (
        MINIMAL + '\n[relay]\nuser_id_attribute = { adfs = "userName" }\n',
        "relay.user_id_attribute.adfs",
    ),
    "relay attribute unknown": (
        MINIMAL + '\n[relay]\nuser_id_attribute = { samlp = "upn" }\n',
        "not an attribute of the SCIM User",
    ),
    "relay attribute multi-valued": (
        MINIMAL + '\n[relay]\nuser_id_attribute = { samlp = "emails" }\n',
        "a user_id needs a single value",
    ),
    "bad join key": (MINIMAL.replace('"externalId"', '"email"'), "identity.join_key"),
    "missing identity": ('id = "acme"\nversion = 1\n', "identity"),
    "version zero": (MINIMAL.replace("version = 1", "version = 0"), "version"),
    "id unlike its file": (
        MINIMAL.replace('id = "acme"', 'id = "other"'),
        "differs from the file name",
    ),
}


@pytest.mark.parametrize(("text", "expected"), BAD_FILES.values(), ids=list(BAD_FILES))
def test_a_bad_file_names_the_file(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(MappingError) as raised:
        load_profile(path)
    assert (raised.value.file, raised.value.rule) == (path, None)
    assert str(raised.value).startswith(f"{path}: ")
    assert expected in str(raised.value)


def test_metadata_fields_are_accepted(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + '\n[attributes]\n"app_metadata.cost_center" = { path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter" }\n"user_metadata.phone" = { path = "phoneNumbers", transform = "primary_value" }\n'
    )
    assert sorted(load_profile(write(tmp_path, text)).attributes) == [
        "app_metadata.cost_center",
        "user_metadata.phone",
    ]


def test_a_missing_file_is_a_mapping_error(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="cannot be read"):
        load_profile(tmp_path / "absent.toml")


def test_a_directory_without_profiles_is_a_mapping_error(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="holds no"):
        load_profiles(tmp_path)


def test_one_bad_profile_fails_the_whole_directory(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL)
    bad = write(tmp_path, "id = ", name="broken")
    with pytest.raises(MappingError) as raised:
        load_profiles(tmp_path)
    assert raised.value.file == bad


def test_profiles_are_frozen() -> None:
    profile = load_profile(MAPPINGS / "okta.toml")
    with pytest.raises(ValueError, match="frozen"):
        profile.version = 2  # type: ignore[misc]
