"""parse_config explains bad JSON in Go encoding/json's words."""

import pytest

from stoker.ignition import parse_config

GO_MESSAGES = [
    ("", "unexpected end of JSON input"),
    ("   ", "unexpected end of JSON input"),
    ('{"ignition": ', "unexpected end of JSON input"),
    ('{"a": "b', "unexpected end of JSON input"),
    ("x", "invalid character 'x' looking for beginning of value"),
    ("{x}", "invalid character 'x' looking for beginning of object key string"),
    ('{"a" 1}', "invalid character '1' after object key"),
    ('{"a": 1 "b": 2}', "invalid character '\"' after object key:value pair"),
    ('{"a": 1,}', "invalid character '}' looking for beginning of object key string"),
    ("[1 2]", "invalid character '2' after array element"),
    ("[1,]", "invalid character ']' looking for beginning of value"),
    ("{} {}", "invalid character '{' after top-level value"),
    ('"a\nb"', "invalid character '\\n' in string literal"),
    ('"\\x"', "invalid character 'x' in string escape code"),
    ('"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"),
    ("tru", "unexpected end of JSON input"),
    ("trve", "invalid character 'v' in literal true (expecting 'u')"),
    ("nul1", "invalid character '1' in literal null (expecting 'l')"),
    ("-a", "invalid character 'a' in numeric literal"),
    ("1.e5", "invalid character 'e' after decimal point in numeric literal"),
    ("1e+", "unexpected end of JSON input"),
    ("1ex", "invalid character 'x' in exponent of numeric literal"),
    ("01", "invalid character '1' after top-level value"),
    ("{'a': 1}", "invalid character '\\'' looking for beginning of object key string"),
    ("NaN", "invalid character 'N' looking for beginning of value"),
    ("[1]", "json: cannot unmarshal array into Go value of type types.Config"),
]


@pytest.mark.parametrize("text,message", GO_MESSAGES)
def test_go_error_message(text, message):
    assert parse_config(text) == (None, message)


def test_valid_config_parses_from_text_and_bytes():
    text = '{"ignition": {"version": "3.4.0"}, "passwd": {"users": [{"name": "bob"}]}}'
    expected = {"ignition": {"version": "3.4.0"}, "passwd": {"users": [{"name": "bob"}]}}
    assert parse_config(text) == (expected, None)
    assert parse_config(text.encode()) == (expected, None)


def test_later_duplicate_key_wins_as_in_go():
    assert parse_config('{"a": 1, "a": 2}') == ({"a": 2}, None)


def test_deep_nesting_is_parsed_like_go():
    assert parse_config("[" * 5000 + "]" * 5000) == (
        None, "json: cannot unmarshal array into Go value of type types.Config")
    assert parse_config('{"a":' * 3000 + "1" + "}" * 3000)[1] is None
    assert parse_config("[" * 10001) == (None, "invalid character '[' exceeded max depth")
    assert parse_config("[" * 3000) == (None, "unexpected end of JSON input")


def test_values_are_decoded():
    config, error = parse_config('{"s": "a\\u00e9\\ud800", "n": [1, -2.5e1, 0], "b": [true, false, null], "o": {}}')
    assert error is None
    assert config == {"s": "a\u00e9\ufffd", "n": [1, -25.0, 0], "b": [True, False, None], "o": {}}


def test_huge_integers_and_invalid_utf8_are_read_as_go_reads_them():
    config, error = parse_config(b'{"n": ' + b"9" * 5000 + b', "s": "a\xe2\x82b\xff"}')
    assert error is None
    assert config["n"] == float("inf")
    # Go replaces each byte of invalid UTF-8 with U+FFFD
    assert config["s"] == "a\ufffd\ufffdb\ufffd"


def test_text_with_lone_surrogates_is_parsed_not_raised():
    # a lone surrogate has no UTF-8 form: its three bytes are invalid UTF-8, three U+FFFD to Go
    assert parse_config('{"s": "\ud800"}') == ({"s": "\ufffd" * 3}, None)
