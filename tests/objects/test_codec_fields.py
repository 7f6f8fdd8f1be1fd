"""What the document codecs know of fields (reqspec.objects.codec_fields)."""

import pytest

from reqspec.objects import codec_fields
from reqspec.objects import fields


def test_value_check_keeps_null_only_where_it_is_allowed() -> None:
    """Issue 13: a stored null in a defaulted field loaded as the default
    (``Field.coerce``'s rule); the encoder never writes one there."""
    nullable = fields.StringField(nullable=True)
    defaulted = fields.IntegerField(default=3)
    required = fields.StringField()
    assert codec_fields.value_check(nullable)(None) is None
    with pytest.raises(ValueError, match="must not be null"):
        codec_fields.value_check(defaulted)(None)
    with pytest.raises(ValueError):
        codec_fields.value_check(required)(None)
    assert codec_fields.value_check(defaulted)(4) == 4


def test_a_nullable_string_check_takes_the_shortcut_and_the_long_way() -> None:
    check = codec_fields.value_check(fields.StringField(nullable=True))
    assert check("ascii") == "ascii"
    assert check("caf\u00e9") == "caf\u00e9"
    with pytest.raises(ValueError, match="valid Unicode"):
        check("\ud800")
    with pytest.raises(ValueError, match="a string"):
        check(4)


def test_a_field_that_is_not_strict_has_no_check() -> None:
    with pytest.raises(TypeError, match="not a reqspec strict field"):
        codec_fields.value_check(fields.ObjectField("Flavor"))
