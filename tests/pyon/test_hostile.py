"""Hostile texts: every one is refused with a DecodeError naming an offset,
nothing in it is ever executed, and none makes the reader hang or allocate
what the text merely asks for.

Each decode runs under a hang guard (a worker thread with a result timeout),
so an endless loop fails the test instead of blocking the session.
"""

from __future__ import annotations

import builtins
import subprocess
import sys
import textwrap

import pytest
from support.pyon import HANG_GUARD_SECONDS, run_guarded

from sipyco import pyon
from sipyco.errors import DecodeError, PyonError

# Texts below try to change this; it must keep its value.
SENTINEL = "untouched"

# "@FILE@" is replaced by a path in the test's temporary directory: a text
# that managed to run would create that file.
HOSTILE_V1 = {
    # code execution
    "import-os-system": '__import__("os").system("touch @FILE@")',
    "import-in-list": '[1, __import__("os").system("touch @FILE@")]',
    "open-for-writing": 'open("@FILE@", "w")',
    "pathlib-touch": '__import__("pathlib").Path("@FILE@").touch()',
    "exec": "exec(\"open('@FILE@', 'w')\")",
    "eval-call": 'eval("1")',
    "compile": 'compile("1", "f", "eval")',
    "bare-open": "open",
    "bare-eval": "eval",
    "bare-exec": "exec",
    "dunder-builtins": "__builtins__",
    "builtins-setitem": '__builtins__.__setitem__("PYON_HOSTILE", 1)',
    "globals-update": 'globals().update(SENTINEL="changed")',
    "setattr-module": 'setattr(__import__("test_hostile"), "SENTINEL", "changed")',
    "unknown-call": "foo(1)",
    "unknown-name": "undefined_name",
    "name-then-call-spaced": 'open ("@FILE@", "w")',
    "call-result-called": "slice(1)(2)",
    # attribute access
    "class-bases": "().__class__.__bases__",
    "subclasses": "().__class__.__bases__[0].__subclasses__()",
    "constructor-globals": "nparray.__globals__",
    "fraction-init-globals": 'Fraction.__init__.__globals__["sys"]',
    "method-on-literal": '"abc".upper()',
    "attribute-on-constant": "null.__class__",
    # syntax PYON does not have
    "lambda": "(lambda: 1)()",
    "lambda-bare": "lambda: 1",
    "list-comprehension": "[x for x in (1, 2)]",
    "set-comprehension": "{x for x in (1, 2)}",
    "dict-comprehension": "{x: 1 for x in (1, 2)}",
    "generator-expression": "(x for x in (1, 2))",
    "f-string": 'f"{1 + 1}"',
    "f-string-call": "f\"{open('@FILE@', 'w')}\"",
    "walrus": "(x := 1)",
    "walrus-in-list": "[y := 5, y]",
    "power-tower": "9 ** 9 ** 9 ** 9",
    "str-repeat": '"a" * 10**9',
    "list-repeat": "[1] * 10**10",
    "add": "1 + 1",
    "sub": "1 - 1",
    "sub-no-spaces": "1-1",
    "tuple-add": "(1, 2) + (3, )",
    "str-concat": '"a" + "b"',
    "mul": "2 * 3",
    "true-div": "1 / 0",
    "floor-div": "1 // 0",
    "mod": '"%s" % 1',
    "shift": "1 << 100000000",
    "bit-or": "1 | 2",
    "not": "not 1",
    "invert": "~1",
    "matmul": "[] @ []",
    "compare": "1 < 2",
    "and": "true and false",
    "complex-plus-complex": "(1j+2j)",
    "complex-plus-int": "(1j+2)",
    "subscript": "[1][0]",
    "subscript-dict": '{"a": 1}["a"]',
    "subscript-slice": "[1, 2][::-1]",
    "conditional": "1 if true else 2",
    "star-in-list": "[*(1, 2)]",
    "star-in-tuple": "(*(), )",
    "star-in-nonempty-set": "{*(1, )}",
    "star-list-in-set": "{*[]}",
    "double-star": "{**{}}",
    "star-call-args": "slice(*(1, 2))",
    "keyword-argument": "Fraction(numerator=1)",
    "keyword-argument-nparray": 'nparray(shape=(1, ), dtype="<i8", data=b"")',
    "assignment": "x = 1",
    "statement-separator": "1; 2",
    "import-statement": "import os",
    "second-line-statement": '1\n__import__("os").system("touch @FILE@")',
    "comment": "1 # comment",
    "ellipsis": "...",
    "hex-literal": "0x10",
    "two-values": "1 2",
    "trailing-comma-at-top": "1,",
    "dict-missing-colon": "{1: 2, 3}",
    "dict-missing-value": "{1:}",
    "double-comma": "[1,,2]",
    "lone-comma": "[,]",
    # constructors given the wrong arguments
    "slice-four-args": "slice(1,2,3,4)",
    "slice-no-args": "slice()",
    "fraction-zero-denominator": "Fraction(1, 0)",
    "fraction-from-string": 'Fraction("1e999999999")',
    "fraction-from-float": "Fraction(1.5, 2)",
    "fraction-from-bool": "Fraction(true, 2)",
    "ordereddict-not-pairs": "OrderedDict([1, 2])",
    "ordereddict-unhashable-key": "OrderedDict([([1], 2)])",
    "nparray-no-args": "nparray()",
    "nparray-object-dtype": 'nparray((1, ), "|O", b"AAAAAAAAAAA=")',
    "nparray-object-dtype-O8": 'nparray((1, ), "|O8", b"AAAAAAAAAAA=")',
    "nparray-object-field": 'nparray((1, ), [("a", "|O")], b"AAAAAAAAAAA=")',
    "nparray-data-too-short": 'nparray((3, ), "<i8", b"AAAAAAAAAAA=")',
    "nparray-data-too-long": 'nparray((0, ), "<i8", b"AAAAAAAAAAA=")',
    "nparray-shape-expressions": 'nparray((10**12, 10**12), "<f8", b"")',
    "nparray-gigantic-shape": 'nparray((1000000000000, 1000000000000), "<f8", b"")',
    "nparray-gigantic-empty-shape": 'nparray((18446744073709551616, 0), "<f8", b"")',
    "nparray-negative-shape": 'nparray((-1, ), "<f8", b"")',
    "nparray-float-shape": 'nparray((1.0, ), "<f8", b"AAAAAAAAAAA=")',
    "nparray-too-many-dims": "nparray((" + "1, " * 100 + '), "<f8", b"AAAAAAAAAAA=")',
    "nparray-huge-itemsize": 'nparray((1, ), "|V999999999999", b"")',
    "nparray-bad-base64": 'nparray((1, ), "<i8", b"!!!!")',
    "nparray-base64-bad-padding": 'nparray((1, ), "<i8", b"AAAAAAAAAAA")',
    "nparray-base64-with-space": 'nparray((1, ), "<i8", b"AAAA AAAAAAA=")',
    "nparray-unknown-dtype": 'nparray((1, ), "zz", b"AAAAAAAAAAA=")',
    "nparray-dtype-injection": 'nparray((1, ), "<i8; import os", b"AAAAAAAAAAA=")',
    "nparray-dtype-comma-list": 'nparray((1, ), "i8,i8", b"AAAAAAAAAAA=")',
    "nparray-dtype-not-str": 'nparray((1, ), 8, b"AAAAAAAAAAA=")',
    "nparray-data-not-bytes": 'nparray((1, ), "<i8", 12)',
    "npscalar-object": 'npscalar("|O8", b"AAAAAAAAAAA=")',
    "npscalar-wrong-length": 'npscalar("<f8", b"AAAA")',
    "npscalar-unknown-dtype": 'npscalar("nope", b"")',
    # containers that cannot be built
    "unhashable-dict-key": "{[1]: 2}",
    "dict-key-dict": "{{}: 1}",
    "set-of-lists": "{[1], [2]}",
    "set-of-dicts": "{{1: 2}}",
    "set-of-sets": "{{1}}",
    # broken literals and brackets
    "unterminated-string": '"abc',
    "unterminated-single-quoted": "'abc",
    "unterminated-bytes": 'b"abc',
    "string-with-raw-newline": '"a\nb"',
    "bytes-non-ascii": 'b"\u00e9"',
    "bytes-octal-out-of-range": 'b"\\777"',
    "unknown-unicode-name": '"\\N{NOT A CHARACTER NAME}"',
    "unterminated-list": "[1, 2",
    "unterminated-call": "Fraction(1, ",
    "unterminated-dict": '{"a": 1',
    "mismatched-paren": "[1, 2)",
    "mismatched-bracket": "(1, 2]",
    "mismatched-brace": "{1: 2]",
    "extra-closer": "[1]]",
    "closer-only": ")",
    # size and depth
    "deep-parens": "(" * 100000,
    "deep-parens-closed": "(" * 100000 + "1" + ")" * 100000,
    "deep-lists": "[" * 100000 + "]" * 100000,
    "deep-braces": "{" * 100000,
    "deep-calls": "slice(" * 100000,
    "long-digits": "1" * 100000,
    "long-digits-in-tuple": "(" + "1" * 100000 + ", )",
    "long-name": "a" * 100000,
    # not text at all
    "empty": "",
    "whitespace-only": "   \n\t ",
    "garbage-controls": "\x00\x01\x02\xff",
    "garbage-unicode": "\ufffd\u202e\U0001F600",
}

# v2 (JSON) texts; also decoded through decode(), which reads JSON as v2.
HOSTILE_V2 = {
    "os-system": '{"__jsonclass__": ["os.system", ["touch @FILE@"]]}',
    "eval": "{\"__jsonclass__\": [\"eval\", [\"open('@FILE@', 'w')\"]]}",
    "builtins-open": '{"__jsonclass__": ["builtins.open", ["@FILE@", "w"]]}',
    "dunder-import": '{"__jsonclass__": ["__import__", ["os"]]}',
    "unknown-name": '{"__jsonclass__": ["Foo", []]}',
    "name-not-str": '{"__jsonclass__": [1, []]}',
    "not-a-list": '{"__jsonclass__": "tuple"}',
    "one-element": '{"__jsonclass__": ["tuple"]}',
    "three-elements": '{"__jsonclass__": ["tuple", [[1]], 3]}',
    "args-not-list": '{"__jsonclass__": ["tuple", {"a": 1}]}',
    "extra-key": '{"__jsonclass__": ["tuple", [[1]]], "x": 1}',
    "tuple-two-args": '{"__jsonclass__": ["tuple", [[1], [2]]]}',
    "tuple-not-list": '{"__jsonclass__": ["tuple", [1]]}',
    "complex-one-arg": '{"__jsonclass__": ["complex", [1]]}',
    "complex-str-arg": '{"__jsonclass__": ["complex", ["1", 2]]}',
    "bytes-bad-base64": '{"__jsonclass__": ["bytes", ["!!"]]}',
    "bytes-not-str": '{"__jsonclass__": ["bytes", [12]]}',
    "set-of-lists": '{"__jsonclass__": ["set", [[[1]]]]}',
    "dict-unhashable-key": '{"__jsonclass__": ["dict", [[[[1], 2]]]]}',
    "dict-not-pairs": '{"__jsonclass__": ["dict", [[1, 2]]]}',
    "slice-four-args": '{"__jsonclass__": ["slice", [1, 2, 3, 4]]}',
    "fraction-zero-denominator": '{"__jsonclass__": ["Fraction", [1, 0]]}',
    "fraction-float": '{"__jsonclass__": ["Fraction", [0.5, 1]]}',
    "ordereddict-not-pairs": '{"__jsonclass__": ["OrderedDict", [[1]]]}',
    "nparray-object-dtype": '{"__jsonclass__": ["nparray", [[1], "|O", "AAAAAAAAAAA="]]}',
    "nparray-gigantic-shape":
        '{"__jsonclass__": ["nparray", [[1000000000000, 1000000000000], "<f8", ""]]}',
    "nparray-length-mismatch": '{"__jsonclass__": ["nparray", [[3], "<i8", "AAAA"]]}',
    "nparray-bad-dtype": '{"__jsonclass__": ["nparray", [[1], "<i8; x", "AAAAAAAAAAA="]]}',
    "npscalar-object": '{"__jsonclass__": ["npscalar", ["|O8", "AAAAAAAAAAA="]]}',
    "nested-refusal": '[1, {"a": {"__jsonclass__": ["nope", []]}}]',
    "deep-lists": "[" * 100000 + "]" * 100000,
    "deep-objects": '{"a":' * 100000 + "1" + "}" * 100000,
    "deep-jsonclass": '{"__jsonclass__":["tuple",[[' * 50000 + "]]]}" * 50000,
    "long-digits": "1" * 100000,
    "trailing-garbage": "[1, 2] x",
}


@pytest.fixture
def target(tmp_path):
    """A path that exists afterwards only if some text was executed."""
    path = tmp_path / "pwned"
    yield path
    assert not path.exists(), "a decoded text was executed"
    assert SENTINEL == "untouched"
    assert not hasattr(builtins, "PYON_HOSTILE")


def _with_file(text: str, path) -> str:
    return text.replace("@FILE@", str(path))


def _refuse(decode, text):
    """Decode under the hang guard; return the DecodeError it must raise."""
    with pytest.raises(DecodeError) as info:
        run_guarded(decode, text)
    exc = info.value
    assert isinstance(exc, ValueError) and isinstance(exc, PyonError)
    return exc


DECODERS = [pytest.param(pyon.decode, id="decode"), pytest.param(pyon.decode_v1, id="decode_v1")]


@pytest.mark.parametrize("decode", DECODERS)
@pytest.mark.parametrize("text", list(HOSTILE_V1.values()), ids=list(HOSTILE_V1))
def test_v1_text_is_refused_without_running_it(text, decode, target):
    _refuse(decode, _with_file(text, target))


@pytest.mark.parametrize("decode", DECODERS)
@pytest.mark.parametrize("text", list(HOSTILE_V1.values()), ids=list(HOSTILE_V1))
def test_v1_refusal_names_its_offset(text, decode, target):
    text = _with_file(text, target)
    exc = _refuse(decode, text)
    assert type(exc.offset) is int, f"offset is {exc.offset!r}: {exc}"
    assert 0 <= exc.offset <= len(text)
    assert f"offset {exc.offset}" in str(exc)


@pytest.mark.parametrize("decode", [pytest.param(pyon.decode, id="decode"),
                                    pytest.param(pyon.decode_v2, id="decode_v2")])
@pytest.mark.parametrize("text", list(HOSTILE_V2.values()), ids=list(HOSTILE_V2))
def test_v2_text_is_refused_without_running_it(text, decode, target):
    _refuse(decode, _with_file(text, target))


def test_v2_refusals_name_an_offset(target):
    # pyon.decode() promises a DecodeError "naming the offset"; a refused
    # __jsonclass__ object sits at a known place in the text.
    missing = []
    for name, text in HOSTILE_V2.items():
        exc = _refuse(pyon.decode, _with_file(text, target))
        if type(exc.offset) is not int:
            missing.append(f"{name}: {exc}")
    assert not missing, "refused without an offset:\n" + "\n".join(missing)


def test_bytes_that_are_not_utf8_are_refused():
    for raw in (b"\xff\xfe\x00", b'"\xc3"', b"[1, \x80]"):
        exc = _refuse(pyon.decode, raw)
        assert type(exc.offset) is int


@pytest.mark.parametrize("text, offset", [
    ("[1, 2, foo]", 7),
    ("   foo", 3),
    ("\n\t foo", 3),
    ("(1, 2) + (3, )", 7),
    ('{"a": 1, "b": open("x")}', 14),
    ('[0, nparray((1, ), "|O", b"AAAAAAAAAAA=")]', 4),
    ("[0, Fraction(1, 0)]", 4),
    ("[0, {[1]: 2}]", 4),
    ("[1,\n 2,\n bad]", 9),
    ('["[(", 1 2]', 9),
    ('[b"x", zz]', 7),
    ('[1, "abc', 4),
    ('["\u00e9\U0001F600", foo]', 7),  # offsets count characters, not bytes
    ("(" * 1000, pyon.DEFAULT_MAX_DEPTH),
    ("[" + "1, " * 30000 + "foo]", 90001),  # long texts are tokenized differently
    ('["' + "a" * 70000 + '", foo]', 70005),
    ('["' + 'a\\"' * 30000 + '", foo]', 90005),
], ids=["list", "leading-spaces", "leading-mixed-whitespace", "operator", "call-in-dict",
        "nparray-in-list", "fraction-in-list", "dict-in-list", "multi-line", "brackets-in-str",
        "after-bytes", "unterminated-str", "non-ascii-before", "depth", "long-text",
        "long-string", "long-escaped-string"])
def test_offset_points_at_the_culprit(text, offset):
    for decode in (pyon.decode, pyon.decode_v1):
        exc = _refuse(decode, text)
        assert exc.offset == offset, str(exc)
    assert _refuse(pyon.decode, text.encode("utf-8")).offset == offset


def test_v2_syntax_error_offset():
    assert _refuse(pyon.decode_v2, "[1, 2, foo]").offset == 7
    assert _refuse(pyon.decode_v2, "(1, )").offset == 0


@pytest.mark.parametrize("text, value", [
    ("[1, 2]" + " " * 10_000_000, [1, 2]),
    ("(1, 2)" + " " * 10_000_000, (1, 2)),
    (" " * 10_000_000 + "{*()}", set()),
    ("(1," + " \n" * 1_000_000 + "2)", (1, 2)),
    ("[" + "1, " * 200_000 + "2]", [1] * 200_000 + [2]),
], ids=["trailing-after-json", "trailing-after-v1", "leading", "inside", "long-list"])
def test_huge_whitespace_runs_are_read(text, value):
    assert run_guarded(pyon.decode, text) == value


def test_whitespace_run_before_garbage_is_refused_at_the_garbage():
    text = "1" + " " * 1_000_000 + "x"
    assert _refuse(pyon.decode, text).offset == 1_000_001


def test_depth_limit_is_exact_and_per_codec():
    limit = pyon.DEFAULT_MAX_DEPTH
    assert run_guarded(pyon.decode_v1, "(" * limit + "1" + ")" * limit) == 1
    assert _refuse(pyon.decode_v1, "(" * (limit + 1) + "1" + ")" * (limit + 1)).offset == limit
    shallow = pyon.Codec(max_depth=3)
    assert shallow.decode_v1("[[(1, )]]") == [[(1,)]]
    exc = _refuse(shallow.decode_v1, "[[[{1}]]]")
    assert exc.offset == 3 and "max_depth=3" in str(exc)
    for bad in (0, -1, 1.5, None):
        with pytest.raises(ValueError):
            pyon.Codec(max_depth=bad)


def test_decode_refuses_non_text():
    for value in (None, 1, [b"1"]):
        with pytest.raises(TypeError):
            pyon.decode(value)


# ---------------------------------------------------------------------------
# Texts that make the reader work far more than their length.
#
# The cost of these lies inside single C calls (a regular expression, building a
# set) that hold the GIL, where the thread guard above cannot interrupt them:
# each is decoded in a child process that is killed at the guard's limit.  A
# linear reader needs well under a second for any of them (see the controls).

_CHILD = textwrap.dedent("""
    import sys
    from sipyco import pyon

    M = (1 << 61) - 1  # ints differing by multiples of M share their hash
    N = 80_000
    texts = {
        "escaped-quotes": lambda: '"' + '\\\\"' * 30_000,
        "escaped-quotes-long-text": lambda: '[b"' + '\\\\"' * 100_000,
        "unterminated-control": lambda: '"' + "ab" * 100_000,
        "colliding-set-v1": lambda: "{" + ", ".join(str(i * M) for i in range(N)) + "}",
        "colliding-dict-v2": lambda: ('{"__jsonclass__":["dict",[['
                                      + ",".join(f"[{i * M},0]" for i in range(N)) + "]]]}"),
        "distinct-set-control": lambda: "{" + ", ".join(str(i * 1_000_003) for i in range(N))
                                        + "}",
        # found by fuzzing: a long run of name characters where the v1 fast
        # path looks for calls
        "name-run": lambda: "[" + "(1, ), " * N + "x(1), " + "_" * 200_000 + "]",
        # quotes that never close, in a text long and dense enough for
        # max_items to look for its strings
        "unterminated-quotes-dense": lambda: ("[" + "0," * 4_200_000 + '"'
                                              + '\\"' * 100_000 + "]"),
    }
    text = texts[sys.argv[1]]()
    try:
        value = pyon.decode(text)
    except pyon.DecodeError as exc:
        print("refused", exc.offset)
    else:
        print("decoded", len(value))
""")


@pytest.mark.parametrize("name, outcome", [
    pytest.param(name, outcome, id=name) for name, outcome in [
        ("unterminated-control", "refused 0"),
        ("distinct-set-control", "decoded 80000"),
        ("escaped-quotes", "refused 0"),
        ("escaped-quotes-long-text", "refused 1"),
        # hash flooding is refused outright, at the container (a long v1
        # text by the reader's fast path, which has no offset to give)
        ("colliding-set-v1", "refused None"),
        ("colliding-dict-v2", "refused 18"),
        ("name-run", "refused 560001"),
        ("unterminated-quotes-dense", "refused None"),
    ]
])
def test_no_text_costs_more_than_its_length(name, outcome):
    try:
        result = subprocess.run([sys.executable, "-c", _CHILD, name], capture_output=True,
                                text=True, timeout=HANG_GUARD_SECONDS)
    except subprocess.TimeoutExpired:
        result = None
    if result is None:
        pytest.fail(f"decoding {name!r} did not finish within {HANG_GUARD_SECONDS} s "
                    "(the child was killed): the reader's work grows faster than the text")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == outcome


def test_malformed_complex_literal_is_a_decode_error_found_by_fuzzing():
    from sipyco import pyon
    from sipyco.errors import DecodeError
    with pytest.raises(DecodeError, match="bad number"):
        pyon.decode("[10_.888888j, (1, )]")
