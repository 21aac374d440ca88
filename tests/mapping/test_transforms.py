"""The named transforms a profile may apply to a SCIM value."""

import pytest

from scim_server.mapping.transforms import Transform
from scim_server.mapping.transforms import apply_transform

EMAILS = [
    {"value": "home@example.com", "type": "home"},
    {"value": "work@example.com", "type": "work"},
]


@pytest.mark.parametrize(
    ("transform", "value", "expected"),
    [
        (None, "As Sent", "As Sent"),
        (Transform.lowercase, "BJensen@Example.com", "bjensen@example.com"),
        (Transform.lowercase, None, None),
        (Transform.primary_email, EMAILS, "work@example.com"),
        (
            Transform.primary_email,
            [*EMAILS, {"value": "p@example.com", "primary": True}],
            "p@example.com",
        ),
        (
            Transform.primary_email,
            [{"value": "only@example.com", "type": "other"}],
            "only@example.com",
        ),
        (Transform.primary_email, None, None),
        (Transform.primary_value, EMAILS, "home@example.com"),
        (Transform.primary_value, [{"value": "a"}, {"value": "b", "primary": True}], "b"),
        (Transform.primary_value, [], None),
    ],
)
def test_transform_result(transform: Transform | None, value: object, expected: object) -> None:
    assert apply_transform(transform, value) == expected


def test_only_list_transforms_need_a_multivalued_attribute() -> None:
    assert {t for t in Transform if t.needs_multivalued} == {
        Transform.primary_value,
        Transform.primary_email,
    }
