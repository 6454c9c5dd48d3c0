"""max_items: a text may make its reader build only so many values.

A short text can ask for many small objects (``[[],[],...]`` is three
characters per list and over sixty bytes per list once built); the limit is
checked before anything is built, with a count of the text's punctuation.
"""

from __future__ import annotations

import numpy
import pytest

from sipyco import pyon
from sipyco.errors import DecodeError, TooManyItems

DECODERS = {"decode": pyon.decode, "decode_v1": pyon.decode_v1, "decode_v2": pyon.decode_v2}


def empty_lists(n: int) -> str:
    return "[" + ",".join(["[]"] * n) + "]"


@pytest.mark.parametrize("name", ["decode", "decode_v2", "decode_v1"])
def test_over_the_limit_is_refused_naming_it(name):
    with pytest.raises(TooManyItems) as info:
        DECODERS[name](empty_lists(1000), max_items=500)
    assert isinstance(info.value, DecodeError) and isinstance(info.value, ValueError)
    assert info.value.limit == 500
    assert info.value.count == 1001
    assert "more than max_items=500" in str(info.value)


def test_the_count_is_exact_at_the_limit():
    # 1 outer list + n inner ones
    assert pyon.decode(empty_lists(499), max_items=500) == [[]] * 499
    with pytest.raises(TooManyItems):
        pyon.decode(empty_lists(500), max_items=500)
    # keys are values too: the dict, "a", the list, 1, 2, "b", {}
    assert pyon.decode('{"a": [1, 2], "b": {}}', max_items=7) == {"a": [1, 2], "b": {}}
    with pytest.raises(TooManyItems):
        pyon.decode('{"a": [1, 2], "b": {}, "c": 3}', max_items=8)


def test_the_default_limit_is_two_to_the_22():
    assert pyon.DEFAULT_MAX_ITEMS == 1 << 22
    at_limit = "[" + "0," * (pyon.DEFAULT_MAX_ITEMS - 2) + "0]"
    assert len(pyon.decode(at_limit)) == pyon.DEFAULT_MAX_ITEMS - 1
    over = "[" + "0," * (pyon.DEFAULT_MAX_ITEMS - 1) + "0]"
    with pytest.raises(TooManyItems, match=f"max_items={pyon.DEFAULT_MAX_ITEMS}"):
        pyon.decode(over)


def test_the_hostile_shape_at_its_full_size_is_refused():
    # the row: 10M empty lists, 30 MB, made the server hold +816 MiB
    with pytest.raises(TooManyItems):
        pyon.decode(empty_lists(10_000_000))


@pytest.mark.parametrize("text", [
    '["a,b,c", "d:e[f]{g}(h)", "i,j"]',             # v2 strings
    "['a,b,c', 'd:e[f]{g}(h)', b'i,j']",           # v1 literals, both kinds
    """["it's, a", 'say "x, y"', 'z']""",          # one quote inside the other
    r'["\",,,\"", "\\", ","]',                      # escaped quotes and backslashes
])
def test_punctuation_inside_strings_does_not_count(text):
    value = pyon.decode(text, max_items=4)
    assert len(value) == 3


def test_v1_shapes_are_counted():
    # seven values; the count is an upper bound: a singleton tuple's
    # trailing comma counts once more
    assert pyon.decode("((), (1, ), {1, 2})", max_items=8) == ((), (1,), {1, 2})
    with pytest.raises(TooManyItems):
        pyon.decode("((), (1, ), {1, 2}, {*()})", max_items=8)


def test_an_array_is_one_value_whatever_its_size():
    big = numpy.arange(200_000, dtype=numpy.float64)
    for text in (pyon.encode_v1(big), pyon.encode_v2(big)):
        assert len(text) > 1_000_000
        numpy.testing.assert_array_equal(pyon.decode(text, max_items=20), big)


def test_a_codec_has_its_own_limit_and_a_call_may_override_it():
    codec = pyon.Codec(max_items=10)
    with pytest.raises(TooManyItems, match="max_items=10"):
        codec.decode(empty_lists(20))
    assert codec.decode(empty_lists(20), max_items=21) == [[]] * 20
    assert pyon.decode(empty_lists(20)) == [[]] * 20


@pytest.mark.parametrize("bad", [0, -1, 1.5, "10", True])
def test_a_bad_limit_is_refused(bad):
    with pytest.raises(ValueError, match="max_items must be a positive int"):
        pyon.decode("[]", max_items=bad)
    with pytest.raises(ValueError, match="max_items must be a positive int"):
        pyon.Codec(max_items=bad)


def test_load_file_takes_the_limit(tmp_path):
    path = tmp_path / "many.pyon"
    path.write_text(empty_lists(100))
    with pytest.raises(TooManyItems):
        pyon.load_file(path, max_items=50)
    assert pyon.load_file(path) == [[]] * 100


@pytest.mark.parametrize("quote", ["'", '"'])
def test_the_count_is_exact_across_the_slices_it_is_made_in(quote):
    """A text of several counting slices (1 MiB each), with punctuation in
    strings and an escape: counted to the value, not one more or less."""
    items = 1_200_000  # "[1," ... "]" plus a few strings: over 2 MiB of text
    text = "[" + "1," * (items - 3) + quote + "a,b\\n" + quote + ", " + quote + "[{(" + quote \
        + ", 1]"
    assert len(text) > 2 * (1 << 20)
    values = items + 1  # the list and its items
    assert len(pyon.decode_v1(text, max_items=values)) == items
    with pytest.raises(TooManyItems, match=f"up to {values} values, more than "
                                           f"max_items={values - 1}"):
        pyon.decode_v1(text, max_items=values - 1)


def test_the_quick_count_alone_is_exact_across_slices():
    items = 1_300_000
    text = "[" + "1," * (items - 1) + "1]"
    assert len(text) > 2 * (1 << 20)
    assert len(pyon.decode_v1(text, max_items=items + 1)) == items
    with pytest.raises(TooManyItems, match=f"up to {items + 1} values"):
        pyon.decode_v1(text, max_items=items)
