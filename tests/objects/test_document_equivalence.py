"""The fast codec and the generic oslo.versionedobjects path agree.

``RequestSpec.FORMAT.encode``/``decode`` take shortcuts (generated
codecs, direct storage access). ``generic_document.encode_via_primitive``/
``decode_via_primitive`` (tests/fixtures) go the long way through
``obj_to_primitive``/``obj_from_primitive``. For any valid
spec they must write the same bytes and load equal objects; for any hand
edited document they must both refuse it or both load the same object.
"""

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings

from reqspec import exception
from reqspec import objects
from tests import strategies
from tests.fixtures import document_format
from tests.fixtures import generic_document
from tests.fixtures import specs

FORMAT = document_format.FORMAT

SETTINGS = settings(
    max_examples=300, suppress_health_check=[HealthCheck.too_slow]
)


def _decode(decoder, text):  # type: ignore[no-untyped-def]
    try:
        return decoder(text)
    except exception.InvalidRequestSpec as err:
        return err


def test_realistic_spec_same_bytes_same_object() -> None:
    spec = specs.realistic_spec()
    text = FORMAT.encode(spec)
    assert generic_document.encode_via_primitive(spec) == text
    assert FORMAT.decode(text) == generic_document.decode_via_primitive(text)


@SETTINGS
@given(strategies.request_specs(per_move=True))
def test_same_bytes_for_any_spec(spec: objects.RequestSpec) -> None:
    assert FORMAT.encode(spec) == generic_document.encode_via_primitive(spec)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.full_request_specs())
def test_same_bytes_and_objects_with_every_field(
    spec: objects.RequestSpec,
) -> None:
    text = FORMAT.encode(spec)
    assert generic_document.encode_via_primitive(spec) == text
    fast = FORMAT.decode(text)
    assert fast == generic_document.decode_via_primitive(text)
    assert not fast.obj_what_changed()


@SETTINGS
@given(strategies.mutated_documents())
def test_hand_edited_documents_get_the_same_verdict(text: str) -> None:
    fast = _decode(FORMAT.decode, text)
    slow = _decode(generic_document.decode_via_primitive, text)
    if isinstance(fast, exception.InvalidRequestSpec):
        assert isinstance(slow, exception.InvalidRequestSpec), (text, slow)
    else:
        assert not isinstance(slow, exception.InvalidRequestSpec), (
            text,
            slow,
        )
        assert fast == slow


def test_mutations_do_reach_both_outcomes() -> None:
    # Keep the property above honest: the strategy must produce documents
    # that load as well as documents that are refused.
    outcomes = set()

    @settings(max_examples=200, database=None)
    @given(strategies.mutated_documents())
    def collect(text: str) -> None:
        outcomes.add(type(_decode(FORMAT.decode, text)).__name__)

    collect()
    assert outcomes == {"RequestSpec", "InvalidRequestSpec"}
