"""The v1 reader's fast handling of long literals with escapes agrees with
its exact handling.

Two shortcuts: a literal's end is found with ``str.find`` (and, behind many
escaped quotes, in a copy of the text with its escapes masked) rather than
by a regular expression stepping through every escape; and a long body is
handed to the unicode_escape codec when a few passes in C find only escapes
the codec surely reads as the reader's own rules do.  Each is compared with
the slow, exact form on generated texts, and the shapes they were made for
are read exactly.
"""

from __future__ import annotations

import re
import warnings

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sipyco import pyon
from sipyco._pyon import decode_v1 as r
from sipyco.errors import DecodeError

# What a long literal's end was before: the expression, step by step.
REFERENCE_END = {
    '"': re.compile(r'[^"\\\n]*(?:\\.[^"\\\n]*)*(")?'),
    "'": re.compile(r"[^'\\\n]*(?:\\.[^'\\\n]*)*(')?"),
}
# The escapes the codec could read otherwise, or warn about, as a regex.
REFERENCE_UNSURE = re.compile(r"\\(?:[^xuUN0-7abfnrtv\\'\"]|[4-7][0-7]{2})")

# Characters that make literal ends hard: quotes, backslashes, newlines.
tricky = st.text(alphabet="ab'\"\\\nx4N{}", max_size=60)


def end_by_find(text: str, pos: int, q: str, masked_after: int) -> int:
    close = text.find(q, pos)
    old = r._ESCAPED_QUOTES
    r._ESCAPED_QUOTES = masked_after
    try:
        return r._escaped_literal_end(text, pos, q, close, [])[0]
    finally:
        r._ESCAPED_QUOTES = old


@settings(max_examples=3000, deadline=None)
@given(body=tricky, q=st.sampled_from("'\""), masked_after=st.sampled_from([0, 1, 16]))
# an escaped quote, then an escaped backslash right before the closing quote
@example(body="\\'\\\\' x'", q="'", masked_after=0)
@example(body='\\"\\\\" x"', q='"', masked_after=0)
@example(body="\\'\\\\\\'a'", q="'", masked_after=0)
def test_literal_end_is_the_expressions(body, q, masked_after):
    text = "[" + q + body
    pos = 2
    assert end_by_find(text, pos, q, masked_after) == REFERENCE_END[q].match(text, pos).end()


@settings(max_examples=3000, deadline=None)
@given(body=tricky, q=st.sampled_from("'\""), tail=tricky)
def test_literal_end_ignores_what_follows_the_literal(body, q, tail):
    """Escapes after the literal (masked too, in the whole-text copy) do not
    move its end."""
    text = q + body + q + " , " + tail
    assert end_by_find(text, 1, q, 0) == REFERENCE_END[q].match(text, 1).end()


@settings(max_examples=3000, deadline=None)
@given(body=st.text(alphabet="\\ax41u0N{}'\"9", min_size=1, max_size=40))
def test_sure_escapes_are_exactly_the_sure_ones(body):
    sure = r._sure_escapes(body.encode("ascii"))
    # long bodies are checked in numpy: the same answer
    old = r._BY_NUMPY
    r._BY_NUMPY = 0
    try:
        assert r._sure_escapes(body.encode("ascii")) == sure
    finally:
        r._BY_NUMPY = old
    # the exact answer: every escape, taken in order, is of a sure kind
    escapes = re.findall(r"\\(.?)", body, re.DOTALL)
    assert sure == all(c != "" and c in "xuUN0123abfnrtv\\'\"" for c in escapes)
    if sure:
        assert REFERENCE_UNSURE.search(body.replace("\\\\", "")) is None


@settings(max_examples=2000, deadline=None)
@given(body=st.text(alphabet="\\ax41u0N{}'\"9nrtbfv7", max_size=30))
def test_sure_bodies_read_as_the_exact_rules_read_them(body):
    raw = body.encode("ascii")
    if not r._sure_escapes(raw):
        return
    try:
        exact = r._join_surrogates(r._STR_ESCAPE.sub(r._str_escape, body))
    except ValueError:
        exact = None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a sure body never makes the codec warn
        try:
            fast = r._join_surrogates(raw.decode("unicode_escape"))
        except UnicodeDecodeError:
            fast = None  # the reader then takes the exact path
    if fast is not None:
        assert fast == exact


@pytest.mark.parametrize("body, expected", [
    ("\\x41" * 5000, "A" * 5000),
    ("\\n" * 5000, "\n" * 5000),
    ("\\u00e9" * 5000, "\u00e9" * 5000),
    ("\\'" * 5000, "'" * 5000),
    ("\\\\" * 5000, "\\" * 5000),
    ("a\\'b" * 3000, "a'b" * 3000),
    ("\\ud83d\\ude00" * 1000, "\U0001F600" * 1000),  # a pair written as two escapes
    ("\\q" * 3000, "\\q" * 3000),           # unknown: kept, through the exact path
    ("\\400" * 2000, "\u0100" * 2000),      # past 0o377: through the exact path
    ("\\\\\\q" * 2000, "\\\\q" * 2000),
])
@pytest.mark.parametrize("q", ["'", '"'])
def test_long_escaped_literals_in_long_texts(body, expected, q):
    if q == '"':
        body = body.replace("\\'", "'")
    literal = q + body + q
    pad = "[" + ", ".join(["1"] * 20000) + "]"  # a long text: the long-text tokenizer
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = pyon.decode_v1("[" + literal + ", " + pad + ", " + literal + "]")
    assert value[0] == value[2] == expected
    assert len(value[1]) == 20000


def test_many_short_literals_behind_escaped_quotes():
    """Literals whose ends hide behind many escaped quotes, one after the
    other: the masked copy is made once and serves them all."""
    one = "'" + "\\'" * 40 + "'"
    text = "[" + ", ".join([one] * 3000) + "]"
    assert pyon.decode_v1(text) == ["'" * 40] * 3000


@pytest.mark.parametrize("text", [
    "['" + "\\'" * 40000 + "]",                      # unterminated
    "['" + "\\'" * 40000 + "\n'" + "]",              # spans a line
    "['" + "a" * 70000 + "\\\n" + "b'" + "]",        # backslash-newline
])
def test_long_broken_literals_are_refused(text):
    with pytest.raises(DecodeError):
        pyon.decode_v1(text)


# ---- long escaped literals read in slices, without a copy of the body ----

ESCAPE_TOKENS = ["\\x41", "\\101", "\\7", "\\\\", "\\'", '\\"', "\\n", "\\t", "\\u00e9",
                 "\\U0001F600", "\\N{DIGIT ONE}", "\\ud83d\\ude00", "\\ud83d", "a", "bc", " "]


@settings(max_examples=300, deadline=None)
@given(tokens=st.lists(st.sampled_from(ESCAPE_TOKENS), min_size=150, max_size=600),
       chunk=st.integers(257, 700), q=st.sampled_from("'\""))
def test_a_long_literal_read_in_slices_is_read_as_the_exact_rules_read_it(tokens, chunk, q):
    body = "".join(tokens)
    exact = r._join_surrogates(r._STR_ESCAPE.sub(r._str_escape, body))
    text = "[" + q + body + q + "]"
    old = r._SPAN_CHUNK
    r._SPAN_CHUNK = chunk
    try:
        got = r._decode_escaped_span(text, 2, len(text) - 2, q)
    finally:
        r._SPAN_CHUNK = old
    if "\\7" in tokens:
        assert got is None  # an escape that may pass 0o377: read as a token
    else:
        assert got == exact


@pytest.mark.parametrize("q", ["'", '"'])
def test_long_escaped_literals_cross_slices_in_a_whole_text(q, monkeypatch):
    monkeypatch.setattr(r, "_SPAN_CHUNK", 1000)
    body = ("\\x41\\\\\\101\\u00e9\\ud83d\\ude00" + "z" * 7) * 3000
    value = r._join_surrogates(r._STR_ESCAPE.sub(r._str_escape, body))
    text = "[" + q + body + q + ", " + ", ".join(["1"] * 30000) + "]"
    assert len(text) > 1 << 16  # the long-text tokenizer
    got = pyon.decode_v1(text)
    assert got[0] == value and len(got) == 30001


def test_a_long_escaped_literal_is_not_copied_whole():
    """Reading a 4 MiB string of escapes holds far less than its text: the
    slices, the decoded pieces and the value (about 1 MiB), not a copy of
    the body as a token, another as bytes, and a third filtered."""
    import tracemalloc

    text = "'" + "\\x41" * (1 << 20) + "'"
    tracemalloc.start()
    try:
        value = pyon.decode_v1(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert value == "A" * (1 << 20)
    assert peak < len(text)  # the whole-body copies alone were 3 x 4 MiB
    # The value grows in place, slice by slice: it is not held twice (as a
    # list of decoded slices beside their join) at any moment.
    assert peak < 1.5 * len(value)
