"""stoker.butane.yamlv3: Go yaml.v3's output for JSON-shaped values, the way Butane
writes an openshift MachineConfig (SPEC-VARIANTS §7.5; corpus case 23 shows the
same rules in the official tool's own output).

The unit tests pin each rule: key order, numbers, block scalars, quoting. The
property test writes random values and reads the text back with PyYAML's
composer: the document has the same shape, every scalar the same text, keys
are in yaml.v3's order, and a plain scalar is only used for text that reads
back as a string.
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stoker.butane.yamlv3 import dumps, format_number, key_less, plain_reads_as_string, sort_keys

from yaml_readback import expected, read_back


def scalar(value) -> str:
    """How `value` is written as the value of key `k` (the text after `k: `)."""
    text = dumps({"k": value})
    assert text.startswith("k:")
    return text[2:].removeprefix(" ").removesuffix("\n")


# -- key order ----------------------------------------------------------------------------

def test_key_order_letters_and_non_letters():
    keys = ["ab", "a_b", "Zone", "a-b", "_x"]
    assert sort_keys(keys) == ["_x", "Zone", "a-b", "a_b", "ab"]


def test_key_order_digit_runs_compare_as_numbers():
    assert sort_keys(["node10", "node09", "node9"]) == ["node9", "node09", "node10"]
    assert sort_keys(["a10", "a2", "a1"]) == ["a1", "a2", "a10"]


def test_key_order_letter_after_digit_sorts_first():
    # right after a digit a letter sorts before a non-letter, elsewhere after
    assert key_less("1a", "1_") and not key_less("1_", "1a")
    assert key_less("a_", "aa") and not key_less("aa", "a_")


def test_key_order_prefix_first_and_long_lists():
    assert sort_keys(["abc", "ab", "a"]) == ["a", "ab", "abc"]
    keys = [f"k{n}" for n in range(30, 0, -1)]  # more than 12: not the insertion sort
    assert sort_keys(keys) == [f"k{n}" for n in range(1, 31)]


def test_mapping_keys_are_written_sorted():
    text = dumps({"b": 1, "a": {"z": 1, "x": 2}, "y": 3})
    assert text == 'a:\n  x: 2\n  z: 1\nb: 1\n"y": 3\n'  # y is a YAML 1.1 boolean


# -- numbers ------------------------------------------------------------------------------

@pytest.mark.parametrize("value,text", [
    (0, "0"), (420, "420"), (-5, "-5"), (999999, "999999"), (100000, "100000"),
    (1000000, "1e+06"), (1048576, "1.048576e+06"), (12345678, "1.2345678e+07"),
    (-2000000, "-2e+06"), (2 ** 63 - 1, "9.223372036854776e+18"), (1.5, "1.5"),
    (0.0001, "0.0001"), (0.00001, "1e-05"),
])
def test_numbers_are_go_float64_shortest_g(value, text):
    assert format_number(value) == text
    assert scalar(value) == text


def test_bool_and_null():
    assert dumps({"a": True, "b": False, "c": None}) == "a: true\nb: false\nc: null\n"


# -- block scalars ------------------------------------------------------------------------

@pytest.mark.parametrize("value,text", [
    ("line\n", "|\n  line"),
    ("no\nnewline", "|-\n  no\n  newline"),
    ("multi\nline\n\n", "|+\n  multi\n  line\n"),
    ("a\n\nb\n", "|\n  a\n\n  b"),
    (" indented\nx\n", "|2\n   indented\n  x"),
    (" indented\nx", "|2-\n   indented\n  x"),
    ("tab\there\n", "|\n  tab\there"),
])
def test_literal_blocks(value, text):
    assert scalar(value) == text


def test_leading_newline_is_lost():
    # the |2 header's own line break takes the text's first newline (lossy, as official)
    assert scalar("\nfirst\n") == "|2\n  first"


def test_literal_in_a_sequence_and_under_nested_keys():
    assert dumps({"a": ["x\ny\n"]}) == "a:\n  - |\n    x\n    y\n"
    assert dumps({"a": {"b": "x\n"}}) == "a:\n  b: |\n    x\n"


@pytest.mark.parametrize("value,text", [
    ("a \nb\n", r'"a \nb\n"'),  # a space before a line break
    ("ctl\x01\nx\n", r'"ctl\x01\nx\n"'),  # a non-printable character
    ("x\ntrailing ", r'"x\ntrailing "'),
])
def test_multiline_text_that_a_block_cannot_hold_is_double_quoted(value, text):
    assert scalar(value) == text


# -- quoting ------------------------------------------------------------------------------

OLD_BOOLS = "y Y yes Yes YES on On ON n N no No NO off Off OFF".split()


@pytest.mark.parametrize("value", [
    "true", "True", "FALSE", "null", "~", "", "1.10", "10", "-3", "+7", "0x1F", "0o17", "0b101",
    "1e3", ".5", "+.inf", ".NaN", "1_000", "08", "12:30", "-1:20:30.5", "2024-01-15",
    "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10", "2001-12-14T21:59:43Z",
    "2001-1-2", "2001-01-02T3:4:5.123+01:00", "2000-02-29", "2001-01-02   03:04:05",
    "2001-12-14 21:59:43.123456789", "2001-12-14 21:59:43,5", "0b+1", "0o-7", "-0b11",
    "2001-12-14 21:59:43.1234567890123",  # Go 1.20+ reads any number of fraction digits
    "2001-12-14T21:59:43+24:00",
    *OLD_BOOLS,
])
def test_text_that_reads_back_as_another_type_is_double_quoted(value):
    assert not plain_reads_as_string(value)
    assert scalar(value) == f'"{value}"'


@pytest.mark.parametrize("value", [
    "yEs", "oN", "truE", "1.2.3", "12:60", "1e400", "._5", "2024-13-01", "2023-02-29",
    "2001-12-14T21:59:43", "2001-01-02T03:04:05+0100", "2001-01-02 03:04", "0x", "0b",
    "2001-12-14T21:59:43+25:00", "2001-12-14T21:59:43-00:61",  # offsets out of range
    "<<", "=", "plain text", "a#b", "café", "a:b", "0b+", "0b2", "-0b-1", "0o8",
    'back\\slash "quote\' inside',
    "console=ttyS0,115200n8 rd.neednet=1 ip=dhcp nameserver=192.0.2.53 " + "x" * 90,
])
def test_plain_text_stays_plain(value):
    assert plain_reads_as_string(value)
    assert scalar(value) == value


@pytest.mark.parametrize("value,text", [
    ("*star", "'*star'"), ("&a", "'&a'"), ("!tag", "'!tag'"), ("%p", "'%p'"), ("@a", "'@a'"),
    ("`b", "'`b'"), ("{x", "'{x'"), ("[x", "'[x'"), ("|x", "'|x'"), (">x", "'>x'"),
    ("#c", "'#c'"), ("'single", "'''single'"), ('"double', "'\"double'"),
    ("key:", "'key:'"), ("a #b", "'a #b'"), ("-", "'-'"), (":", "':'"), ("- x", "'- x'"),
    ("? x", "'? x'"), ("---x", "'---x'"), ("...", "'...'"), (" ", "' '"),
    ("trail  ", "'trail  '"), (" lead", "' lead'"), ("it's: here", "'it''s: here'"),
])
def test_text_plain_style_cannot_hold_is_single_quoted(value, text):
    assert scalar(value) == text


@pytest.mark.parametrize("value,text", [
    ("emoji \U0001F642", r'"emoji \U0001F642"'),
    ("ctl\x01x", r'"ctl\x01x"'),
    ("tab\tend", r'"tab\tend"'),
    ("cr\rx", r'"cr\rx"'),
    ("nel\x85x", r'"nel\Nx"'),
    ("del\x7f", r'"del\x7F"'),
    ("\ufeffbom", r'"\uFEFF\x62\x6F\x6D"'),  # a leading BOM escapes every character
])
def test_non_printable_and_non_bmp_characters_force_double_quotes(value, text):
    assert scalar(value) == text


def test_non_ascii_printable_text_stays_raw():
    assert scalar("café – ü") == "café – ü"


def test_quoted_keys_and_empty_key():
    assert dumps({"": 1, "true": 2, "a: b": 3}) == "\"\": 1\n'a: b': 3\n\"true\": 2\n"


def test_long_or_multiline_keys_are_complex_keys():
    long_key = "k" * 129
    assert dumps({long_key: "v"}) == f"? {long_key}\n: v\n"
    assert dumps({"two\nlines": "v"}) == "? |-\n  two\n  lines\n: v\n"


# -- structure ----------------------------------------------------------------------------

def test_sequences_are_indented_under_their_key():
    doc = {"spec": {"kernelArguments": ["nosmt", "audit=1"],
                    "config": {"storage": {"files": [{"path": "/a", "mode": 420}]}}}}
    assert dumps(doc) == (
        "spec:\n"
        "  config:\n"
        "    storage:\n"
        "      files:\n"
        "        - mode: 420\n"
        "          path: /a\n"
        "  kernelArguments:\n"
        "    - nosmt\n"
        "    - audit=1\n")


def test_nested_sequences_and_empty_collections():
    assert dumps({"a": [[1, 2], []], "b": {}, "c": []}) == \
        "a:\n  - - 1\n    - 2\n  - []\nb: {}\nc: []\n"


def test_other_types_are_refused():
    with pytest.raises(TypeError):
        dumps({"a": object()})
    with pytest.raises(TypeError):
        dumps({1: "a"})


# -- property: the text reads back as the value ----------------------------------------------

# Every character but surrogates and the two line separators YAML 1.1 readers
# normalise (U+2028/U+2029 may be written raw in a block).
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\u2028\u2029"),
               max_size=40)
KEYS = st.one_of(TEXT, st.sampled_from(["a", "a-b", "a_b", "Zone", "node9", "node10", "1a"]))
SCALARS = st.one_of(TEXT, st.integers(-2 ** 63, 2 ** 63 - 1), st.booleans(), st.none(),
                    st.sampled_from(OLD_BOOLS + ["true", "1.10", "12:30", "", " ", "- x"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)), max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALUES)
def test_text_reads_back_as_the_value(value):
    doc = {"root": value}
    text = dumps(doc)
    assert text.endswith("\n")
    node = yaml.compose(text)
    read_back(node, expected(doc))


def test_text_that_was_not_utf8_is_the_replacement_character():
    # file names read from disk keep undecodable bytes as lone surrogates; JSON
    # (and so the official MachineConfig) has U+FFFD there, keys included
    assert dumps({"a\udcff": ["x\udcfe"]}) == "a\ufffd:\n  - x\ufffd\n"
